package httpprobe_test

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/httpprobe"
)

// healthServer is a real local HTTP server answering /health as a region in role, after delay.
func healthServer(t *testing.T, region, role string, status int, delay time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		w.Header().Set(httpprobe.RegionHeader, region)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"region": region, "role": role, "db": "ok", "version": "test"})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// downURL is the URL of a server that has stopped: connections are refused.
func downURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	return url
}

type recordedMetrics struct {
	peer, public, consistency []failover.Sample
}

func (m *recordedMetrics) PublishProbes(_ context.Context, peer, public, consistency []failover.Sample) error {
	m.peer, m.public, m.consistency = peer, public, consistency
	return nil
}

func TestPeerProbePublishes(t *testing.T) {
	scheduled, err := os.ReadFile("../../../events/peer-prober/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	localReader := healthServer(t, "us-west-2", "reader", 200, 0)
	localWriter := healthServer(t, "us-west-2", "writer", 200, 0)
	public := healthServer(t, "us-east-1", "writer", 200, 0)
	tests := []struct {
		name  string
		peer  string
		local string
		want  float64
	}{
		{"peer writer healthy", healthServer(t, "us-east-1", "writer", 200, 0), localReader, 1},
		{"peer down", downURL(t), localReader, 0},
		{"peer slower than the timeout", healthServer(t, "us-east-1", "writer", 200, 400*time.Millisecond), localReader, 0},
		{"peer answers but no longer writes", healthServer(t, "us-east-1", "reader", 200, 0), localReader, 0},
		{"peer database unreachable", healthServer(t, "us-east-1", "writer", 503, 0), localReader, 0},
		{"this region writes, peer is a healthy reader", healthServer(t, "us-east-1", "reader", 200, 0), localWriter, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &recordedMetrics{}
			p := &failover.PeerProbe{Prober: httpprobe.New(5 * time.Second), Metrics: m, PeerAPIURL: tt.peer, PublicURL: public,
				LocalAPIURL: tt.local, Samples: 3, Interval: 10 * time.Millisecond, Timeout: 150 * time.Millisecond}
			out, err := lambda.NewHandler(p.Handle).Invoke(context.Background(), scheduled)
			if err != nil {
				t.Fatal(err)
			}
			var rep failover.ProbeReport
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatal(err)
			}
			if len(m.peer) != 3 || len(m.public) != 3 {
				t.Fatalf("published: got %d peer and %d public samples, want 3 each", len(m.peer), len(m.public))
			}
			for i, s := range m.peer {
				got := 0.0
				if s.Healthy {
					got = 1
				}
				if got != tt.want {
					t.Errorf("sample %d: got %v, want %v", i, got, tt.want)
				}
				if s.Latency <= 0 || s.Latency > time.Second {
					t.Errorf("sample %d: latency %s, want a measured latency bounded by the timeout", i, s.Latency)
				}
				if !m.public[i].Healthy {
					t.Errorf("public sample %d: got unhealthy, want healthy", i)
				}
			}
			if i := 2; !m.peer[i].At.After(m.peer[0].At) {
				t.Errorf("samples: got the same timestamp %s, want them spread over the invocation", m.peer[0].At)
			}
			if rep.ExpectPeerWriter != (tt.local == localReader) {
				t.Errorf("expectPeerWriter: got %t", rep.ExpectPeerWriter)
			}
		})
	}
}

// TestWatchdog: the prober of the region that writes publishes WriterConsistent 0 when the public
// endpoint is served by the other region or the peer also accepts writes, 1 when all is well; a
// region that does not write publishes none (its reconcile run could not repair anything).
func TestWatchdog(t *testing.T) {
	scheduled, err := os.ReadFile("../../../events/peer-prober/scheduled.json")
	if err != nil {
		t.Fatal(err)
	}
	westWriter := healthServer(t, "us-west-2", "writer", 200, 0)
	westReader := healthServer(t, "us-west-2", "reader", 200, 0)
	eastWriter := healthServer(t, "us-east-1", "writer", 200, 0)
	eastReader := healthServer(t, "us-east-1", "reader", 200, 0)
	tests := []struct {
		name                string
		local, peer, public string
		wantSamples         int
		wantConsistent      bool
		wantSays            string
	}{
		{"writer with all traffic", westWriter, eastReader, westWriter, 3, true, ""},
		{"writer receives no traffic", westWriter, eastReader, eastReader, 3, false, "receives no traffic"},
		{"two regions accept writes", westWriter, eastWriter, westWriter, 3, false, "two regions accept writes"},
		{"public endpoint down: no evidence either way", westWriter, eastReader, downURL(t), 3, true, ""},
		{"this region does not write: nothing published", westReader, eastWriter, westReader, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &recordedMetrics{}
			p := &failover.PeerProbe{Prober: httpprobe.New(5 * time.Second), Metrics: m, Region: "us-west-2", PeerAPIURL: tt.peer,
				PublicURL: tt.public, LocalAPIURL: tt.local, Samples: 3, Interval: 10 * time.Millisecond, Timeout: 150 * time.Millisecond}
			out, err := lambda.NewHandler(p.Handle).Invoke(context.Background(), scheduled)
			if err != nil {
				t.Fatal(err)
			}
			var rep failover.ProbeReport
			if err := json.Unmarshal(out, &rep); err != nil {
				t.Fatal(err)
			}
			if len(m.consistency) != tt.wantSamples {
				t.Fatalf("consistency samples: got %d, want %d", len(m.consistency), tt.wantSamples)
			}
			for i, s := range m.consistency {
				if s.Healthy != tt.wantConsistent {
					t.Errorf("sample %d: consistent %t, want %t", i, s.Healthy, tt.wantConsistent)
				}
			}
			if got := strings.Join(rep.Inconsistencies, "; "); !strings.Contains(got, tt.wantSays) || (tt.wantSays == "") != (got == "") {
				t.Errorf("inconsistencies: got %q, want %q", got, tt.wantSays)
			}
		})
	}
}

// todoAPI is a minimal stand-in of the ToDo API's contract for the canary: region header,
// Idempotency-Key, 201 with id, GET and DELETE by id, and a 503 region-not-writer when not writing.
func todoAPI(t *testing.T, region string, writer bool) string {
	t.Helper()
	var mu sync.Mutex
	items := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set(httpprobe.RegionHeader, region)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/todos":
			if r.Header.Get("Idempotency-Key") == "" {
				w.WriteHeader(400)
				return
			}
			if !writer {
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(503)
				_, _ = w.Write([]byte(`{"type":"https://switchyard.dev/problems/region-not-writer","title":"not the writer","status":503}`))
				return
			}
			// As the ToDo API does, a body without a JSON media type is refused.
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
				w.WriteHeader(http.StatusUnsupportedMediaType)
				return
			}
			var in struct{ Task, Status string }
			_ = json.NewDecoder(r.Body).Decode(&in)
			id := "id" + r.Header.Get("Idempotency-Key")
			items[id] = in.Task
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "task": in.Task, "status": in.Status})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/todos/"):
			task, ok := items[strings.TrimPrefix(r.URL.Path, "/todos/")]
			if !ok {
				w.WriteHeader(404)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"task": task})
		case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/todos/"):
			delete(items, strings.TrimPrefix(r.URL.Path, "/todos/"))
			w.WriteHeader(204)
		default:
			w.WriteHeader(405)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCanary(t *testing.T) {
	tests := []struct {
		name string
		url  string
		want failover.Canary
	}{
		{"writer", todoAPI(t, "us-west-2", true), failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", ReadBack: true, ReadRegion: "us-west-2"}},
		{"reader", todoAPI(t, "us-east-1", false), failover.Canary{WriteStatus: 503, WriteRegion: "us-east-1", NotWriter: true,
			Detail: "POST /todos answered 503 https://switchyard.dev/problems/region-not-writer"}},
		// The item cannot be removed: the canary still succeeded, and the notification names the leftover.
		{"delete refused", refuseDeletes(t, todoAPI(t, "us-west-2", true)), failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2",
			ReadBack: true, ReadRegion: "us-west-2", Detail: "DELETE /todos/idk1 answered 503"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := httpprobe.New(2*time.Second).Canary(context.Background(), tt.url, "k1")
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("down", func(t *testing.T) {
		if _, err := httpprobe.New(time.Second).Canary(context.Background(), downURL(t), "k1"); err == nil {
			t.Error("got no error from a stopped server, want a connection error")
		}
	})
}

// refuseDeletes stands in front of api and answers every DELETE 503, as a region whose database
// stops writing between the canary's read and its clean-up would.
func refuseDeletes(t *testing.T, api string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		proxyTo(t, api, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Health names the region that answered from the body when it has one and from the region header
// otherwise: an error answer (a problem document) carries only the header, and a proxy may drop it.
func TestHealthNamesTheAnsweringRegion(t *testing.T) {
	tests := []struct {
		name   string
		header string
		status int
		body   string
		want   failover.Health
	}{
		{"body and header", "us-east-1", 200, `{"region":"us-east-1","role":"writer","db":"ok"}`,
			failover.Health{Status: 200, Region: "us-east-1", Role: "writer"}},
		{"a problem answer names the region in its header only", "us-east-1", 503,
			`{"type":"https://switchyard.dev/problems/internal","status":503}`, failover.Health{Status: 503, Region: "us-east-1"}},
		{"a proxy dropped the header", "", 200, `{"region":"us-west-2","role":"reader","db":"ok"}`,
			failover.Health{Status: 200, Region: "us-west-2", Role: "reader"}},
		{"not JSON", "us-west-2", 502, "Bad Gateway", failover.Health{Status: 502, Region: "us-west-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set(httpprobe.RegionHeader, tt.header)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			got, err := httpprobe.New(2*time.Second).Health(context.Background(), srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if got.Latency <= 0 {
				t.Errorf("latency %s, want a measured latency", got.Latency)
			}
			got.Latency = 0
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
