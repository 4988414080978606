package todoapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

func request(b *testing.B, name string) events.APIGatewayV2HTTPRequest {
	b.Helper()
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(fixture(b, name), &req); err != nil {
		b.Fatal(err)
	}
	return req
}

// BenchmarkHandlerGet is the handler's own cost for GET /todos/{id}, over an in-memory store and with
// a JSON logger writing to nowhere (the target: 20 µs and 60 allocations or fewer).
func BenchmarkHandlerGet(b *testing.B) {
	h := newHandler(seeded(b), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	req := request(b, "get")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := h.Handle(ctx, req)
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkHandlerCreate is the same for POST /todos without an Idempotency-Key.
func BenchmarkHandlerCreate(b *testing.B) {
	h := newHandler(seeded(b), slog.New(slog.NewJSONHandler(io.Discard, nil)))
	req := request(b, "create")
	delete(req.Headers, "idempotency-key")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := h.Handle(ctx, req)
		if resp.StatusCode != 201 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkMariaDB measures whole requests against a private MariaDB on this machine, reporting the
// median and 99th percentile latency.
func BenchmarkMariaDB(b *testing.B) {
	m := startMaria(b)
	m.reset(b)
	h := m.handler(m.pool)
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		fixture string
		status  int
	}{
		{"GET", "get", 200},
		{"POST", "create", 201},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := request(b, bc.fixture)
			lat := make([]time.Duration, 0, 1024)
			i := 0
			for b.Loop() {
				if bc.name == "POST" {
					i++
					req.Headers["idempotency-key"] = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
				}
				start := time.Now()
				resp, _ := h.Handle(ctx, req)
				lat = append(lat, time.Since(start))
				if resp.StatusCode != bc.status {
					b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
			}
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
		})
	}
}
