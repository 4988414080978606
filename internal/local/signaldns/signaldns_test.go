package signaldns_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/signaldns"
)

// region is a /health endpoint whose role the test sets ("" answers 503).
type region struct{ role atomic.Value }

func (r *region) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	role, _ := r.role.Load().(string)
	if role == "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte(`{"region":"x","role":"` + role + `","db":"ok"}`))
}

func startRegion(t *testing.T, role string) (*region, string) {
	r := &region{}
	r.role.Store(role)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL + "/health"
}

func TestSignalFollowsHealth(t *testing.T) {
	east, eastURL := startRegion(t, "writer")
	west, westURL := startRegion(t, "reader")
	s, err := signaldns.Start(signaldns.Options{Name: "_switchyard-signal.drill.test", Interval: 20 * time.Millisecond, Records: []signaldns.Record{
		{Value: "switchyard-signal v1"},
		{Value: "writer us-east-1", Check: &signaldns.Check{URL: eastURL, SearchString: `"role":"writer"`}},
		{Value: "serving us-east-1", Check: &signaldns.Check{URL: eastURL}},
		{Value: "writer us-west-2", Check: &signaldns.Check{URL: westURL, SearchString: `"role":"writer"`}},
		{Value: "serving us-west-2", Check: &signaldns.Check{URL: westURL}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	lookup := func() []string {
		t.Helper()
		got, err := s.Lookup(ctx, "_switchyard-signal.drill.test")
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got, want := lookup(), []string{"serving us-east-1", "serving us-west-2", "switchyard-signal v1", "writer us-east-1"}; !slices.Equal(got, want) {
		t.Fatalf("answer %q, want %q", got, want)
	}
	// east goes down, west is promoted: the answer follows with no call to change it.
	east.role.Store("")
	west.role.Store("writer")
	want := []string{"serving us-west-2", "switchyard-signal v1", "writer us-west-2"}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(lookup(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("answer %q, want %q", lookup(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Run("another name is NXDOMAIN", func(t *testing.T) {
		if _, err := s.Lookup(ctx, "other.drill.test"); err == nil {
			t.Fatal("got an answer for a name the server does not hold")
		}
	})
	t.Run("a server that is down answers nothing", func(t *testing.T) {
		s.SetDown(true)
		defer s.SetDown(false)
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if _, err := s.Lookup(cctx, "_switchyard-signal.drill.test"); err == nil {
			t.Fatal("a down server answered")
		}
	})
}

// TestAllUnhealthyAnswersAll: with no sentinel and every check failing, Route 53 answers every
// string of a multivalue set; so does the stand-in.
func TestAllUnhealthyAnswersAll(t *testing.T) {
	_, url := startRegion(t, "")
	s, err := signaldns.Start(signaldns.Options{Name: "x.drill.test", Records: []signaldns.Record{
		{Value: "writer a", Check: &signaldns.Check{URL: url}}, {Value: "writer b", Check: &signaldns.Check{URL: url}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	got, err := s.Lookup(context.Background(), "x.drill.test")
	slices.Sort(got)
	if err != nil || !slices.Equal(got, []string{"writer a", "writer b"}) {
		t.Fatalf("got %q, %v; want both strings", got, err)
	}
}
