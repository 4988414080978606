package lambdahost_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"log/slog"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

// reportPercentiles adds the p50 and p99 of samples, in milliseconds, to the benchmark's output.
func reportPercentiles(b *testing.B, name string, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	at := func(q float64) float64 {
		return float64(samples[int(q*float64(len(samples)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), name+"-p50-ms")
	b.ReportMetric(at(0.99), name+"-p99-ms")
}

func quietHost(b *testing.B, fns ...lambdahost.Function) *lambdahost.Host {
	return startHost(b, lambdahost.Config{Functions: fns, Logger: slog.New(slog.DiscardHandler), FunctionOutput: io.Discard})
}

// BenchmarkWarmInvoke measures the host's overhead on a warm process: the echo function does no
// work, so the time is the host's hand-over through the Runtime API and back (target p50 ≤ 1 ms).
func BenchmarkWarmInvoke(b *testing.B) {
	h := quietHost(b, echoFunction())
	payload := []byte(`{"echo":"x"}`)
	if _, err := h.Invoke(context.Background(), "echo", payload); err != nil { // start the process
		b.Fatal(err)
	}
	b.Run("host.Invoke", func(b *testing.B) {
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			res, err := h.Invoke(context.Background(), "echo", payload)
			took = append(took, time.Since(start))
			if err != nil || res.FunctionError != nil || res.ColdStart {
				b.Fatalf("Invoke = %+v, %v; want a warm answer", res, err)
			}
		}
		reportPercentiles(b, "invoke", took)
	})
	b.Run("InvokeAPI", func(b *testing.B) {
		url := h.InvokeURL() + "/2015-03-31/functions/echo/invocations"
		var took []time.Duration
		for b.Loop() {
			start := time.Now()
			resp, err := http.Post(url, "application/json", bytes.NewReader(payload))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			took = append(took, time.Since(start))
			if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" {
				b.Fatalf("status %d, function error %q", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"))
			}
		}
		reportPercentiles(b, "invoke", took)
	})
}

// BenchmarkWarmHTTPAPI measures a plain HTTP request through the API Gateway emulation to a warm
// function that echoes its event.
func BenchmarkWarmHTTPAPI(b *testing.B) {
	h := quietHost(b, lambdahost.Function{Name: "httpecho", Binary: bin("httpecho"),
		Routes: []lambdahost.Route{{Method: "GET", Path: "/items/{id}"}}})
	url := h.HTTPURL() + "/items/42?x=1"
	var took []time.Duration
	for b.Loop() {
		start := time.Now()
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took = append(took, time.Since(start))
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	reportPercentiles(b, "request", took)
}
