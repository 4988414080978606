package edge_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

var regions = []string{"us-east-1", "us-west-2"}

func answers(s ...string) edge.Signal {
	return edge.Signal{Answers: append([]string{edge.SignalSentinel}, s...)}
}

func TestChoose(t *testing.T) {
	tests := []struct {
		name   string
		pinned string
		sig    edge.Signal
		want   edge.Route
	}{
		{"east writes", "us-east-1", answers("writer us-east-1", "serving us-east-1", "serving us-west-2"), edge.Route{Region: "us-east-1", Reason: edge.ReasonWriter}},
		{"west writes, pin not yet moved", "us-east-1", answers("writer us-west-2", "serving us-west-2"), edge.Route{Region: "us-west-2", Reason: edge.ReasonWriter}},
		{"writer down, standby serves reads", "us-east-1", answers("serving us-west-2"), edge.Route{Region: "us-west-2", Reason: edge.ReasonServing}},
		{"no writer, pinned serves", "us-east-1", answers("serving us-east-1", "serving us-west-2"), edge.Route{Region: "us-east-1", Reason: edge.ReasonServing}},
		{"both write: the pinned one", "us-west-2", answers("writer us-east-1", "writer us-west-2"), edge.Route{Region: "us-west-2", Reason: edge.ReasonSplitWriters}},
		{"both write, pin elsewhere: the first", "eu-west-1", answers("writer us-west-2", "writer us-east-1"), edge.Route{Region: "us-east-1", Reason: edge.ReasonSplitWriters}},
		{"both unhealthy", "us-east-1", answers(), edge.Route{Region: "us-east-1", Reason: edge.ReasonNothing}},
		{"no sentinel: not our answer", "us-east-1", edge.Signal{Answers: []string{"writer us-west-2"}}, edge.Route{Region: "us-east-1", Reason: edge.ReasonNoSignal}},
		{"lookup failed", "us-west-2", edge.Signal{Error: "SERVFAIL"}, edge.Route{Region: "us-west-2", Reason: edge.ReasonNoSignal}},
		{"unknown region in DNS is ignored", "us-east-1", answers("writer eu-west-1", "serving us-west-2"), edge.Route{Region: "us-west-2", Reason: edge.ReasonServing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := edge.Choose(regions, tt.pinned, tt.sig); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// routedEvent is an origin-request for a POST whose origin is east's, configured with both regions.
func routedEvent(viewer edge.Headers) edge.Event {
	return edge.Event{Records: []edge.Record{{CF: edge.CF{
		Config: edge.Config{EventType: edge.OriginRequest},
		Request: edge.Request{Method: "POST", URI: "/v1", Headers: viewer, Origin: &edge.Origin{Custom: &edge.CustomOrigin{
			DomainName: "east.execute-api.us-east-1.amazonaws.com", Port: 443, Protocol: "https", ReadTimeout: 30, KeepaliveTimeout: 5, SSLProtocols: []string{"TLSv1.2"},
			CustomHeaders: edge.Headers{
				edge.RegionHeader:       {{Key: "X-Switchyard-Region", Value: "us-east-1"}},
				edge.RegionsHeader:      {{Key: "X-Switchyard-Regions", Value: "us-east-1=east.execute-api.us-east-1.amazonaws.com,us-west-2=west.execute-api.us-west-2.amazonaws.com"}},
				edge.SignalNameHeader:   {{Key: "X-Switchyard-Signal-Name", Value: "_regions.example.com"}},
				edge.OriginSecretHeader: {{Key: "X-Switchyard-Origin-Secret", Value: "s3cret"}},
				edge.TrafficEpochHeader: {{Key: "X-Switchyard-Traffic-Epoch", Value: "7"}},
			},
		}}},
	}}}}
}

func TestRouteRequestFollowsTheSignal(t *testing.T) {
	viewer := edge.Headers{
		"host":                       {{Key: "Host", Value: "api.example.com"}},
		"x-forwarded-host":           {{Key: "X-Forwarded-Host", Value: "evil.example.net"}},
		"x-switchyard-region":        {{Key: "X-Switchyard-Region", Value: "eu-west-1"}},
		"x-switchyard-origin-secret": {{Key: "X-Switchyard-Origin-Secret", Value: "guess"}},
		"accept":                     {{Key: "Accept", Value: "application/json"}},
	}
	for _, tt := range []struct {
		name, wantDomain, wantRegion string
		sig                          edge.Signal
	}{
		{"to the writer in the other region", "west.execute-api.us-west-2.amazonaws.com", "us-west-2", answers("writer us-west-2", "serving us-west-2")},
		{"stays on the pinned writer", "east.execute-api.us-east-1.amazonaws.com", "us-east-1", answers("writer us-east-1", "serving us-east-1")},
		{"no signal: pinned", "east.execute-api.us-east-1.amazonaws.com", "us-east-1", edge.Signal{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := routedEvent(viewer)
			got, err := edge.RouteRequest(ev, tt.sig)
			if err != nil {
				t.Fatal(err)
			}
			o := got.Origin.Custom
			if o.DomainName != tt.wantDomain || o.Port != 443 || o.Protocol != "https" || o.ReadTimeout != 30 {
				t.Errorf("origin: got %+v, want %s with the distribution's port, protocol and timeouts", o, tt.wantDomain)
			}
			assertHeader(t, got.Headers, "host", tt.wantDomain)
			assertHeader(t, got.Headers, edge.ForwardedHostHeader, "api.example.com")
			assertHeader(t, got.Headers, edge.RegionHeader, tt.wantRegion)
			assertHeader(t, got.Headers, edge.OriginSecretHeader, "")
			assertHeader(t, got.Headers, "accept", "application/json")
			assertHeader(t, o.CustomHeaders, edge.OriginSecretHeader, "s3cret")
			assertHeader(t, o.CustomHeaders, edge.RegionHeader, tt.wantRegion)
			for _, name := range []string{edge.RegionsHeader, edge.SignalNameHeader, edge.TrafficEpochHeader} {
				assertHeader(t, o.CustomHeaders, name, "")
			}
			if ev.Records[0].CF.Request.Origin.Custom.DomainName != "east.execute-api.us-east-1.amazonaws.com" {
				t.Error("the event itself was modified")
			}
		})
	}
}

func TestRouteRequestRefuses(t *testing.T) {
	t.Run("CR LF NUL in a viewer header", func(t *testing.T) {
		for _, v := range []string{"a\r\nX-Injected: 1", "a\nb", "a\x00b"} {
			_, err := edge.RouteRequest(routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}, "x-note": {{Value: v}}}), edge.Signal{})
			if !errors.Is(err, edge.ErrBadHeader) {
				t.Errorf("%q: got %v, want ErrBadHeader", v, err)
			}
		}
	})
	t.Run("malformed regions header", func(t *testing.T) {
		ev := routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}})
		ev.Records[0].CF.Request.Origin.Custom.CustomHeaders[edge.RegionsHeader] = []edge.Header{{Value: "us-east-1"}}
		if _, err := edge.RouteRequest(ev, answers("writer us-west-2")); !errors.Is(err, edge.ErrMalformedEvent) {
			t.Errorf("got %v, want ErrMalformedEvent", err)
		}
	})
	t.Run("viewer host missing: no X-Forwarded-Host survives", func(t *testing.T) {
		got, err := edge.RouteRequest(routedEvent(edge.Headers{"x-forwarded-host": {{Value: "evil"}}}), edge.Signal{})
		if err != nil {
			t.Fatal(err)
		}
		assertHeader(t, got.Headers, edge.ForwardedHostHeader, "")
	})
}

func TestSignalCache(t *testing.T) {
	now := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	var calls int
	var fail bool
	c := &edge.SignalCache{Now: func() time.Time { return now }, Lookup: func(context.Context, string) ([]string, error) {
		calls++
		if fail {
			return nil, errors.New("SERVFAIL")
		}
		return []string{edge.SignalSentinel, "writer us-east-1"}, nil
	}}
	ctx := context.Background()
	first := c.Signal(ctx, "_regions.example.com")
	c.Signal(ctx, "_regions.example.com")
	if calls != 1 || len(first.Answers) != 2 {
		t.Fatalf("calls %d, answer %+v: want one lookup within the TTL", calls, first)
	}
	now = now.Add(5 * time.Second)
	fail = true
	stale := c.Signal(ctx, "_regions.example.com")
	if calls != 2 || stale.Error == "" || len(stale.Answers) != 2 {
		t.Fatalf("after a failed lookup: calls %d, %+v; want the last answer marked with the error", calls, stale)
	}
	now = now.Add(61 * time.Second)
	if old := c.Signal(ctx, "_regions.example.com"); len(old.Answers) != 0 || old.Error == "" {
		t.Fatalf("past MaxStale: got %+v, want no answers", old)
	}
}

// TestSignalCacheMaxStale: after failed lookups the last good answer is served for MaxStale after it
// was read, that moment included, and not a moment longer.
func TestSignalCacheMaxStale(t *testing.T) {
	read := time.Date(2026, 11, 29, 22, 0, 0, 0, time.UTC)
	now := read
	fail := false
	c := &edge.SignalCache{TTL: time.Second, MaxStale: 30 * time.Second, Now: func() time.Time { return now },
		Lookup: func(context.Context, string) ([]string, error) {
			if fail {
				return nil, errors.New("SERVFAIL")
			}
			return []string{edge.SignalSentinel, "writer us-west-2"}, nil
		}}
	ctx := context.Background()
	c.Signal(ctx, "_regions.example.com")
	fail = true
	for _, tt := range []struct {
		after       time.Duration
		wantAnswers int
	}{{10 * time.Second, 2}, {30 * time.Second, 2}, {30*time.Second + time.Nanosecond, 0}} {
		now = read.Add(tt.after)
		if got := c.Signal(ctx, "_regions.example.com"); len(got.Answers) != tt.wantAnswers || got.Error == "" {
			t.Errorf("%v after the last good answer: got %+v, want %d answers marked with the error", tt.after, got, tt.wantAnswers)
		}
	}
}

func TestRouteRequestSharedCustomDomain(t *testing.T) {
	ev := routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}})
	ev.Records[0].CF.Request.Origin.Custom.CustomHeaders[edge.OriginHostHeader] = []edge.Header{{Key: "X-Switchyard-Origin-Host", Value: "api-regional.example.com"}}
	got, err := edge.RouteRequest(ev, answers("writer us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Origin.Custom.DomainName != "west.execute-api.us-west-2.amazonaws.com" {
		t.Errorf("origin %s, want west's", got.Origin.Custom.DomainName)
	}
	assertHeader(t, got.Headers, "host", "api-regional.example.com")
}

func TestRouteRequestLocalPorts(t *testing.T) {
	ev := routedEvent(edge.Headers{"host": {{Value: "edge.localhost"}}})
	ev.Records[0].CF.Request.Origin.Custom.CustomHeaders[edge.RegionsHeader] = []edge.Header{{Value: "us-east-1=127.0.0.1:8001,us-west-2=127.0.0.1:8002"}}
	got, err := edge.RouteRequest(ev, answers("writer us-west-2"))
	if err != nil {
		t.Fatal(err)
	}
	if o := got.Origin.Custom; o.DomainName != "127.0.0.1" || o.Port != 8002 {
		t.Errorf("origin %s:%d, want 127.0.0.1:8002", o.DomainName, o.Port)
	}
	for _, tt := range []struct {
		entry    string
		wantPort int // 0 for a refusal
	}{
		{"us-west-2=127.0.0.1:1", 1},
		{"us-west-2=127.0.0.1:65535", 65535},
		{"us-west-2=127.0.0.1:0", 0},
		{"us-west-2=127.0.0.1:65536", 0},
		{"us-west-2=127.0.0.1:x", 0},
		{"us-west-2=:80", 0},
	} {
		ev.Records[0].CF.Request.Origin.Custom.CustomHeaders[edge.RegionsHeader] = []edge.Header{{Value: "us-east-1=127.0.0.1:8001," + tt.entry}}
		got, err := edge.RouteRequest(ev, answers("writer us-west-2"))
		switch {
		case tt.wantPort == 0 && !errors.Is(err, edge.ErrMalformedEvent):
			t.Errorf("%q: got %v, want ErrMalformedEvent", tt.entry, err)
		case tt.wantPort != 0 && (err != nil || got.Origin.Custom.Port != tt.wantPort):
			t.Errorf("%q: got %+v, error %v; want port %d", tt.entry, got.Origin, err, tt.wantPort)
		}
	}
}

// signalsFunc is a Signals whose answer a test decides.
type signalsFunc func(ctx context.Context, name string) edge.Signal

func (f signalsFunc) Signal(ctx context.Context, name string) edge.Signal { return f(ctx, name) }

// TestHandlerLooksUpTheSignal: the handler asks for the record the origin names, and only then.
func TestHandlerLooksUpTheSignal(t *testing.T) {
	noSignalName := routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}})
	delete(noSignalName.Records[0].CF.Request.Origin.Custom.CustomHeaders, edge.SignalNameHeader)
	for _, tt := range []struct {
		name       string
		ev         edge.Event
		wired      bool
		wantLookup string // "" means no lookup
		wantRegion string
	}{
		{"wired: follows the signal", routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}}), true, "_regions.example.com", "us-west-2"},
		{"not wired: the pinned origin", routedEvent(edge.Headers{"host": {{Value: "api.example.com"}}}), false, "", "us-east-1"},
		{"no signal name: no lookup", noSignalName, true, "", "us-east-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var looked []string
			h := &edge.Handler{}
			if tt.wired {
				h.Signals = signalsFunc(func(_ context.Context, name string) edge.Signal {
					looked = append(looked, name)
					return answers("writer us-west-2")
				})
			}
			got, err := h.Handle(context.Background(), tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantLookup == "" && len(looked) != 0:
				t.Errorf("looked up %q, want no lookup", looked)
			case tt.wantLookup != "" && (len(looked) != 1 || looked[0] != tt.wantLookup):
				t.Errorf("looked up %q, want %q once", looked, tt.wantLookup)
			}
			assertHeader(t, got.Headers, edge.RegionHeader, tt.wantRegion)
		})
	}
}

func BenchmarkRouteRequest(b *testing.B) {
	ev := routedEvent(edge.Headers{"host": {{Key: "Host", Value: "api.example.com"}}, "accept": {{Key: "Accept", Value: "application/json"}}})
	sig := answers("writer us-west-2", "serving us-west-2")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := edge.RouteRequest(ev, sig); err != nil {
			b.Fatal(err)
		}
	}
}
