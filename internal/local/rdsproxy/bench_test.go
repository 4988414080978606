package rdsproxy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

// BenchmarkThroughProxy measures whole ToDo API requests (handler, service, store) against
// MariaDB directly and through the local RDS Proxy (IAM token over TLS, pooled backend
// connections), reporting the median and 99th percentile latency, and for the proxy the client
// and backend connections opened per request.
func BenchmarkThroughProxy(b *testing.B) {
	f := start(b, 2*time.Second)
	ctx := context.Background()
	direct, err := db.Open(ctx, config.DB{Auth: config.DBAuthDSN, DSN: f.db.DSN(appUser, appPass, "switchyard"), QueryTimeout: 3 * time.Second}, db.Deps{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { direct.Close() })
	if err := migrate(ctx, f.db); err != nil {
		b.Fatal(err)
	}
	proxied := f.iamPool(b, f.proxy.ReadWriteEndpoint(), goodToken)
	proxied.SetMaxOpenConns(db.MaxOpenConns)
	proxied.SetMaxIdleConns(db.MaxOpenConns)
	for _, target := range []struct {
		name string
		pool *sql.DB
	}{{"direct", direct}, {"proxy", proxied}} {
		h := todoapi.New(todo.NewService(mysqlstore.New(target.pool, 3*time.Second), benchCursorKey), todoapi.Options{Region: region})
		created, _ := h.Handle(ctx, httpRequest("POST", "/todos", `{"task":"benchmark"}`))
		var t todo.Todo
		if err := json.Unmarshal([]byte(created.Body), &t); err != nil || created.StatusCode != 201 {
			b.Fatalf("seed: %d %s", created.StatusCode, created.Body)
		}
		for _, op := range []struct {
			name   string
			req    events.APIGatewayV2HTTPRequest
			status int
		}{
			{"GET", httpRequest("GET", "/todos/"+t.ID, ""), 200},
			{"POST", httpRequest("POST", "/todos", `{"task":"benchmark"}`), 201},
		} {
			b.Run(target.name+"/"+op.name, func(b *testing.B) {
				before := f.proxy.Stats()
				lat := make([]time.Duration, 0, 1024)
				for b.Loop() {
					start := time.Now()
					resp, _ := h.Handle(ctx, op.req)
					lat = append(lat, time.Since(start))
					if resp.StatusCode != op.status {
						b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
					}
				}
				slices.Sort(lat)
				pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
				b.ReportMetric(pct(0.50), "p50-µs")
				b.ReportMetric(pct(0.99), "p99-µs")
				if target.name == "proxy" {
					after := f.proxy.Stats()
					n := float64(len(lat))
					b.ReportMetric(float64(after.ClientConnectionsOpened-before.ClientConnectionsOpened)/n, "client-conns/op")
					b.ReportMetric(float64(after.BackendConnectionsOpened-before.BackendConnectionsOpened)/n, "backend-conns/op")
				}
			})
		}
	}
}

// BenchmarkStandbyThroughProxy is the same API in a region whose database is not the writer:
// reads through the read-only endpoint, writes refused with 503 without waiting.
func BenchmarkStandbyThroughProxy(b *testing.B) {
	f := start(b, 2*time.Second)
	ctx := context.Background()
	if err := migrate(ctx, f.db); err != nil {
		b.Fatal(err)
	}
	rw := f.iamPool(b, f.proxy.ReadWriteEndpoint(), goodToken)
	ro := f.iamPool(b, f.proxy.ReadOnlyEndpoint(), goodToken)
	h := todoapi.New(todo.NewService(mysqlstore.New(rw, 3*time.Second).WithReadOnly(ro), benchCursorKey), todoapi.Options{Region: region})
	created, _ := h.Handle(ctx, httpRequest("POST", "/todos", `{"task":"benchmark"}`))
	var t todo.Todo
	if err := json.Unmarshal([]byte(created.Body), &t); err != nil || created.StatusCode != 201 {
		b.Fatalf("seed: %d %s", created.StatusCode, created.Body)
	}
	if err := f.db.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // past the proxy's memory of the writer
	for _, op := range []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
	}{
		{"GET", httpRequest("GET", "/todos/"+t.ID, ""), 200},
		{"POST", httpRequest("POST", "/todos", `{"task":"benchmark"}`), 503},
	} {
		b.Run(op.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, 1024)
			for b.Loop() {
				start := time.Now()
				resp, _ := h.Handle(ctx, op.req)
				lat = append(lat, time.Since(start))
				if resp.StatusCode != op.status {
					b.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
				}
			}
			slices.Sort(lat)
			pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
			b.ReportMetric(pct(0.50), "p50-µs")
			b.ReportMetric(pct(0.99), "p99-µs")
		})
	}
}

func httpRequest(method, path, body string) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{RawPath: path, Body: body, Headers: map[string]string{}}
	req.RequestContext.HTTP.Method, req.RequestContext.HTTP.Path = method, path
	if body != "" {
		req.Headers["content-type"] = "application/json"
	}
	return req
}

// benchCursorKey authenticates the benchmarks' pagination cursors (CURSOR_KEY in a function).
var benchCursorKey = []byte("rdsproxy benchmarks' cursor key!")
