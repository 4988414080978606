package edgeproxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/edge"
	"github.com/switchyard-dr/switchyard/internal/local/edgeproxy"
)

// seen is what an origin received.
type seen struct {
	Host, ForwardedHost, ForwardedFor, Region, OriginSecret, RawURI, Body, Method string
}

// origin is a real HTTP origin that records requests and answers with status and its name.
type origin struct {
	name   string
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []seen
}

func startOrigin(t *testing.T, name string) *origin {
	t.Helper()
	o := &origin{name: name}
	o.status.Store(http.StatusOK)
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		o.mu.Lock()
		o.got = append(o.got, seen{
			Host: r.Host, ForwardedHost: r.Header.Get("X-Forwarded-Host"), ForwardedFor: r.Header.Get("X-Forwarded-For"),
			Region: r.Header.Get("X-Switchyard-Region"), OriginSecret: r.Header.Get("X-Switchyard-Origin-Secret"),
			RawURI: r.RequestURI, Body: string(body), Method: r.Method,
		})
		o.mu.Unlock()
		w.Header().Set("X-Served-By", name)
		w.WriteHeader(int(o.status.Load()))
		io.WriteString(w, "from "+name)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) requests() []seen {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]seen(nil), o.got...)
}

// custom describes the origin as the distribution does: plain http on 127.0.0.1 with the host
// the API expects and its region as origin custom headers.
func (o *origin) custom(t *testing.T, apiHost, region string) edge.CustomOrigin {
	t.Helper()
	host, port, err := net.SplitHostPort(o.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return edge.CustomOrigin{
		DomainName: host, Port: p, Protocol: "http", Path: "", ReadTimeout: 30, KeepaliveTimeout: 5,
		CustomHeaders: edge.Headers{
			edge.OriginHostHeader:   {{Key: "X-Switchyard-Origin-Host", Value: apiHost}},
			edge.RegionHeader:       {{Key: "X-Switchyard-Region", Value: region}},
			edge.OriginSecretHeader: {{Key: "X-Switchyard-Origin-Secret", Value: "from-distribution"}},
		},
	}
}

// distribution is the origin the cache behaviour targets, as the orchestrator's origin swap changes it.
type distribution struct {
	mu     sync.Mutex
	origin edge.CustomOrigin
}

func (d *distribution) set(o edge.CustomOrigin) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.origin = o
}

func (d *distribution) current() edge.CustomOrigin {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.origin
}

func startProxy(t *testing.T, d *distribution, h *edge.Handler) *httptest.Server {
	t.Helper()
	p := httptest.NewServer(&edgeproxy.Proxy{Origin: d.current, Handler: h})
	t.Cleanup(p.Close)
	return p
}

func send(t *testing.T, method, url, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "api.example.com"
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestProxyRewritesForTheOrigin(t *testing.T) {
	east := startOrigin(t, "east")
	d := &distribution{}
	d.set(east.custom(t, "api-use1.example.com", "us-east-1"))
	proxy := startProxy(t, d, nil)

	resp, body := send(t, http.MethodPost, proxy.URL+"/v1/t%C3%A4sks/a%2Fb?q=caf%C3%A9%20%26&x=1", `{"task":"milk"}`,
		http.Header{"X-Forwarded-Host": {"spoofed.example.net"}, "X-Forwarded-For": {"192.0.2.7"}, "X-Switchyard-Region": {"eu-west-1"}, "X-Switchyard-Origin-Secret": {"guess"}})
	if resp.StatusCode != http.StatusOK || body != "from east" {
		t.Fatalf("got %d %q, want 200 from east", resp.StatusCode, body)
	}
	got := east.requests()
	if len(got) != 1 {
		t.Fatalf("east got %d requests, want 1", len(got))
	}
	want := seen{
		Host: "api-use1.example.com", ForwardedHost: "api.example.com", ForwardedFor: "192.0.2.7, 127.0.0.1",
		Region: "us-east-1", OriginSecret: "from-distribution",
		RawURI: "/v1/t%C3%A4sks/a%2Fb?q=caf%C3%A9%20%26&x=1", Body: `{"task":"milk"}`, Method: http.MethodPost,
	}
	if got[0] != want {
		t.Errorf("origin saw\n%+v\nwant\n%+v", got[0], want)
	}
}

func TestProxyFollowsOriginSwitch(t *testing.T) {
	east, west := startOrigin(t, "east"), startOrigin(t, "west")
	d := &distribution{}
	d.set(east.custom(t, "api-use1.example.com", "us-east-1"))
	proxy := startProxy(t, d, nil)

	for _, step := range []struct {
		origin   *edge.CustomOrigin
		method   string
		wantFrom string
	}{
		{nil, http.MethodGet, "east"},
		{ptr(west.custom(t, "api-usw2.example.com", "us-west-2")), http.MethodPost, "west"},
		{nil, http.MethodGet, "west"},
		{ptr(east.custom(t, "api-use1.example.com", "us-east-1")), http.MethodDelete, "east"},
	} {
		if step.origin != nil {
			d.set(*step.origin)
		}
		resp, body := send(t, step.method, proxy.URL+"/v1", "", nil)
		if resp.StatusCode != http.StatusOK || body != "from "+step.wantFrom {
			t.Fatalf("%s after switch: got %d %q, want 200 from %s", step.method, resp.StatusCode, body, step.wantFrom)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// fixedSignal is a signal lookup with one answer the test changes.
type fixedSignal struct {
	mu  sync.Mutex
	sig edge.Signal
}

func (f *fixedSignal) Signal(context.Context, string) edge.Signal {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sig
}

func (f *fixedSignal) set(answers ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sig = edge.Signal{Answers: append([]string{edge.SignalSentinel}, answers...)}
}

// TestProxyFollowsTheSignal: with the distribution still targeting east, requests go where the signal
// says, with no change to the distribution; the origin sees the secret and the chosen region, never
// the routing configuration.
func TestProxyFollowsTheSignal(t *testing.T) {
	east, west := startOrigin(t, "east"), startOrigin(t, "west")
	target := east.custom(t, "api-use1.example.com", "us-east-1")
	delete(target.CustomHeaders, edge.OriginHostHeader)
	target.CustomHeaders[edge.RegionsHeader] = []edge.Header{{Value: "us-east-1=" + east.srv.Listener.Addr().String() + ",us-west-2=" + west.srv.Listener.Addr().String()}}
	target.CustomHeaders[edge.SignalNameHeader] = []edge.Header{{Value: "_switchyard-signal.test"}}
	d := &distribution{}
	d.set(target)
	sig := &fixedSignal{}
	var routes []string
	var mu sync.Mutex
	p := httptest.NewServer(&edgeproxy.Proxy{Origin: d.current, Handler: &edge.Handler{Signals: sig}, OnRoute: func(method, region string) {
		mu.Lock()
		defer mu.Unlock()
		routes = append(routes, method+" "+region)
	}})
	t.Cleanup(p.Close)

	for _, step := range []struct {
		answers  []string
		wantFrom string
	}{
		{[]string{"writer us-east-1", "serving us-east-1", "serving us-west-2"}, "east"},
		{[]string{"serving us-west-2"}, "west"},
		{[]string{"writer us-west-2", "serving us-west-2"}, "west"},
		{nil, "east"},
	} {
		sig.set(step.answers...)
		resp, body := send(t, http.MethodPost, p.URL+"/todos", `{"task":"x"}`, nil)
		if resp.StatusCode != http.StatusOK || body != "from "+step.wantFrom {
			t.Fatalf("signal %q: got %d %q, want 200 from %s", step.answers, resp.StatusCode, body, step.wantFrom)
		}
	}
	for _, r := range west.requests() {
		if r.Region != "us-west-2" || r.OriginSecret != "from-distribution" || r.Host != "127.0.0.1" {
			t.Errorf("west saw %+v, want region us-west-2, the distribution's secret and its own host", r)
		}
	}
	if want := []string{"POST us-east-1", "POST us-west-2", "POST us-west-2", "POST us-east-1"}; !slices.Equal(routes, want) {
		t.Errorf("routes %q, want %q", routes, want)
	}
}

func TestProxyRefuses(t *testing.T) {
	east := startOrigin(t, "east")
	broken := east.custom(t, "", "us-east-1") // an empty host override: the rewrite refuses it
	tests := []struct {
		name    string
		origin  edge.CustomOrigin
		wantMsg string
	}{
		{"no origin", edge.CustomOrigin{}, "the distribution has no origin"},
		{"rewrite refuses", broken, "empty x-switchyard-origin-host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &distribution{}
			d.set(tt.origin)
			proxy := startProxy(t, d, nil)
			resp, body := send(t, http.MethodGet, proxy.URL+"/v1", "", nil)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("got %d %q, want 502 saying %q", resp.StatusCode, body, tt.wantMsg)
			}
		})
	}
	if n := len(east.requests()); n != 0 {
		t.Errorf("origin got %d requests after refused rewrites, want 0", n)
	}
	t.Run("origin down", func(t *testing.T) {
		gone := startOrigin(t, "gone")
		d := &distribution{}
		d.set(gone.custom(t, "api.example.com", "us-east-1"))
		gone.srv.Close()
		proxy := startProxy(t, d, nil)
		if resp, body := send(t, http.MethodGet, proxy.URL+"/v1", "", nil); resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "did not answer") {
			t.Errorf("got %d %q, want 502", resp.StatusCode, body)
		}
	})
}
