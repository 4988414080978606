package edgeproxy_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
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
			Region: r.Header.Get("X-Switchyard-Region"), OriginSecret: r.Header.Get("X-Origin-Secret"),
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
			edge.OriginHostHeader: {{Key: "X-Switchyard-Origin-Host", Value: apiHost}},
			edge.RegionHeader:     {{Key: "X-Switchyard-Region", Value: region}},
			"x-origin-secret":     {{Key: "X-Origin-Secret", Value: "from-distribution"}},
		},
	}
}

// distribution is a switchable list of origins, as the orchestrator's origin swap changes it.
type distribution struct {
	mu      sync.Mutex
	origins []edge.CustomOrigin
}

func (d *distribution) set(o ...edge.CustomOrigin) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.origins = o
}

func (d *distribution) current() []edge.CustomOrigin {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.origins
}

func startProxy(t *testing.T, d *distribution) *httptest.Server {
	t.Helper()
	p := httptest.NewServer(&edgeproxy.Proxy{Origins: d.current})
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
	proxy := startProxy(t, d)

	resp, body := send(t, http.MethodPost, proxy.URL+"/v1/t%C3%A4sks/a%2Fb?q=caf%C3%A9%20%26&x=1", `{"task":"milk"}`,
		http.Header{"X-Forwarded-Host": {"spoofed.example.net"}, "X-Forwarded-For": {"192.0.2.7"}, "X-Switchyard-Region": {"eu-west-1"}})
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
	proxy := startProxy(t, d)

	for _, step := range []struct {
		origins  []edge.CustomOrigin
		method   string
		wantFrom string
		wantHost string
	}{
		{nil, http.MethodGet, "east", "api-use1.example.com"},
		{[]edge.CustomOrigin{west.custom(t, "api-usw2.example.com", "us-west-2")}, http.MethodPost, "west", "api-usw2.example.com"},
		{nil, http.MethodGet, "west", "api-usw2.example.com"},
		{[]edge.CustomOrigin{east.custom(t, "api-use1.example.com", "us-east-1")}, http.MethodDelete, "east", "api-use1.example.com"},
	} {
		if step.origins != nil {
			d.set(step.origins...)
		}
		resp, body := send(t, step.method, proxy.URL+"/v1", "", nil)
		if resp.StatusCode != http.StatusOK || body != "from "+step.wantFrom {
			t.Fatalf("%s after switch: got %d %q, want 200 from %s", step.method, resp.StatusCode, body, step.wantFrom)
		}
	}
	for _, o := range []*origin{east, west} {
		for _, r := range o.requests() {
			if want := map[string]string{"east": "api-use1.example.com", "west": "api-usw2.example.com"}[o.name]; r.Host != want {
				t.Errorf("%s saw Host %q, want %q", o.name, r.Host, want)
			}
		}
	}
}

func TestProxyOriginGroupFailover(t *testing.T) {
	tests := []struct {
		method       string
		primary      string // "5xx", "4xx" or "down"
		wantStatus   int
		wantFrom     string
		wantFailover bool
	}{
		{http.MethodGet, "5xx", http.StatusOK, "from west", true},
		{http.MethodHead, "5xx", http.StatusOK, "", true},
		{http.MethodOptions, "down", http.StatusOK, "from west", true},
		{http.MethodGet, "down", http.StatusOK, "from west", true},
		{http.MethodGet, "4xx", http.StatusNotFound, "from east", false},
		{http.MethodPost, "5xx", http.StatusServiceUnavailable, "from east", false},
		{http.MethodPut, "5xx", http.StatusServiceUnavailable, "from east", false},
		{http.MethodPatch, "down", http.StatusBadGateway, "", false},
		{http.MethodDelete, "down", http.StatusBadGateway, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.method+" primary "+tt.primary, func(t *testing.T) {
			east, west := startOrigin(t, "east"), startOrigin(t, "west")
			d := &distribution{}
			d.set(east.custom(t, "api-use1.example.com", "us-east-1"), west.custom(t, "api-usw2.example.com", "us-west-2"))
			switch tt.primary {
			case "5xx":
				east.status.Store(http.StatusServiceUnavailable)
			case "4xx":
				east.status.Store(http.StatusNotFound)
			case "down":
				east.srv.Close()
			}
			proxy := startProxy(t, d)

			resp, body := send(t, tt.method, proxy.URL+"/v1?id=3", "", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%q), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusBadGateway && tt.method != http.MethodHead && body != tt.wantFrom {
				t.Errorf("body = %q, want %q", body, tt.wantFrom)
			}
			westGot := west.requests()
			if tt.wantFailover {
				if len(westGot) != 1 || westGot[0].Host != "api-usw2.example.com" || westGot[0].Region != "us-west-2" {
					t.Errorf("secondary saw %+v, want one request for api-usw2.example.com in us-west-2", westGot)
				}
			} else if len(westGot) != 0 {
				t.Errorf("secondary saw %d requests, want none: %s must not fail over", len(westGot), tt.method)
			}
			if tt.primary == "down" && tt.wantStatus == http.StatusBadGateway && !strings.Contains(body, "no origin answered") {
				t.Errorf("502 body %q does not say that no origin answered", body)
			}
		})
	}
}

func TestProxyRefuses(t *testing.T) {
	east := startOrigin(t, "east")
	broken := east.custom(t, "", "us-east-1") // an empty host override: the rewrite refuses it
	tests := []struct {
		name    string
		origins []edge.CustomOrigin
		wantMsg string
	}{
		{"no origin", nil, "the distribution has no origin"},
		{"rewrite refuses", []edge.CustomOrigin{broken}, "empty x-switchyard-origin-host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &distribution{}
			d.set(tt.origins...)
			proxy := startProxy(t, d)
			resp, body := send(t, http.MethodGet, proxy.URL+"/v1", "", nil)
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("got %d %q, want 502 saying %q", resp.StatusCode, body, tt.wantMsg)
			}
		})
	}
	if n := len(east.requests()); n != 0 {
		t.Errorf("origin got %d requests after refused rewrites, want 0", n)
	}
}
