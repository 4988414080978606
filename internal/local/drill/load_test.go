package drill

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestLoadRetriesWithTheSameKey scripts the API's answers to check the clients' retry policy:
// the same Idempotency-Key on every attempt of a write, retries on 503 and on no answer, none on
// a client error.
func TestLoadRetriesWithTheSameKey(t *testing.T) {
	tests := []struct {
		name         string
		answers      []int // per attempt of the first write; 0 closes the connection
		wantAttempts int
		wantAcked    bool
	}{
		{"first try", []int{201}, 1, true},
		{"after 503s", []int{503, 503, 201}, 3, true},
		{"after a dropped connection", []int{0, 201}, 2, true},
		{"client error is final", []int{422}, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			keys := map[string]int{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				key := r.Header.Get("Idempotency-Key")
				n := keys[key]
				keys[key]++
				mu.Unlock()
				status := 201
				if n < len(tc.answers) {
					status = tc.answers[n]
				}
				if status == 0 {
					hj, _ := w.(http.Hijacker)
					c, _, _ := hj.Hijack()
					c.Close()
					return
				}
				w.Header().Set("X-Switchyard-Region", "us-east-1")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"id":"id-%s"}`, key)
			}))
			defer srv.Close()
			l := StartLoad(context.Background(), LoadOptions{URL: srv.URL, RunID: "t", Clients: 1, MaxOps: 1, Pause: time.Millisecond})
			time.Sleep(300 * time.Millisecond)
			rec := l.Stop()
			if len(rec.Writes) != 1 {
				t.Fatalf("%d writes recorded, want 1", len(rec.Writes))
			}
			w := rec.Writes[0]
			if w.Attempts != tc.wantAttempts || keys[w.Key] != tc.wantAttempts {
				t.Errorf("attempts = %d (server saw key %q %d times), want %d", w.Attempts, w.Key, keys[w.Key], tc.wantAttempts)
			}
			if len(keys) != 1 {
				t.Errorf("server saw %d Idempotency-Keys, want 1: every attempt of a write reuses its key", len(keys))
			}
			if got := !w.Acked.IsZero(); got != tc.wantAcked {
				t.Errorf("acked = %v, want %v (gave up: %q)", got, tc.wantAcked, w.GaveUp)
			}
			if tc.wantAcked && (w.ID != "id-"+w.Key || w.Region != "us-east-1") {
				t.Errorf("acked write id %q region %q, want id-%s us-east-1", w.ID, w.Region, w.Key)
			}
		})
	}
}
