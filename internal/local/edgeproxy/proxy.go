// Package edgeproxy stands in for the CloudFront distribution in local runs and the drill: each
// request becomes a CloudFront origin-request event for the origin the distribution's cache behaviour
// targets now, goes through the same edge handler that Lambda@Edge runs (with its signal lookup), and
// is forwarded to the origin the handler returns, as CloudFront's dynamic origin selection does. It is
// never deployed.
package edgeproxy

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

// Proxy is an http.Handler that behaves like a distribution whose one cache behaviour allows every
// method, targets one origin and runs the edge handler on origin-request.
type Proxy struct {
	// Origin returns the origin the cache behaviour targets now (the orchestrator's explicit choice,
	// as UpdateDistribution last set it). It is called once per request, so a switch takes effect on
	// the next request; nil or an empty domain means the distribution has none.
	Origin func() edge.CustomOrigin
	// Handler is the edge function; nil means one with no signal lookup.
	Handler *edge.Handler
	// DistributionID and DistributionDomainName fill the event's config; empty means local values.
	DistributionID, DistributionDomainName string
	// Transport sends requests to origins; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// OnRoute, when set, hears the method and the region (the X-Switchyard-Region the handler set) of
	// every request forwarded, for the drill's timeline.
	OnRoute func(method, region string)
}

// hopByHop headers belong to one connection, so neither CloudFront nor this proxy forwards them.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-authenticate": true, "proxy-authorization": true,
	"proxy-connection": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var origin edge.CustomOrigin
	if p.Origin != nil {
		origin = p.Origin()
	}
	if origin.DomainName == "" {
		http.Error(w, "edge proxy: the distribution has no origin: give the proxy one", http.StatusBadGateway)
		return
	}
	out, region, err := p.originRequest(r, p.viewerRequest(r), origin)
	if err != nil {
		// CloudFront answers 502 when the origin-request function fails or returns a bad result.
		http.Error(w, "edge proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	out.Body, out.ContentLength = r.Body, r.ContentLength
	if p.OnRoute != nil {
		p.OnRoute(r.Method, region)
	}
	resp, err := p.transport().RoundTrip(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("edge proxy: origin %s did not answer: %v", out.URL.Host, err), http.StatusBadGateway)
		return
	}
	relay(w, resp)
}

func (p *Proxy) transport() http.RoundTripper {
	if p.Transport != nil {
		return p.Transport
	}
	return http.DefaultTransport
}

// viewerRequest is the request as an origin-request event carries it before any origin is chosen.
func (p *Proxy) viewerRequest(r *http.Request) edge.Request {
	clientIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		clientIP = r.RemoteAddr
	}
	headers := edge.Headers{"host": {{Key: "Host", Value: r.Host}}}
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if hopByHop[lower] || lower == "host" {
			continue
		}
		for _, v := range values {
			headers[lower] = append(headers[lower], edge.Header{Key: name, Value: v})
		}
	}
	forwardedFor := clientIP
	if prior, ok := headers.Value("x-forwarded-for"); ok {
		forwardedFor = prior + ", " + clientIP
	}
	headers["x-forwarded-for"] = []edge.Header{{Key: "X-Forwarded-For", Value: forwardedFor}}
	uri, _, _ := strings.Cut(r.RequestURI, "?")
	if uri == "" || !strings.HasPrefix(uri, "/") {
		uri = r.URL.EscapedPath()
	}
	return edge.Request{ClientIP: clientIP, Headers: headers, Method: r.Method, QueryString: r.URL.RawQuery, URI: uri}
}

// originRequest runs the edge handler for the targeted origin and builds the request CloudFront
// would send to the origin the handler returned, with the region it chose.
func (p *Proxy) originRequest(r *http.Request, viewer edge.Request, origin edge.CustomOrigin) (*http.Request, string, error) {
	viewer.Origin = &edge.Origin{Custom: &origin}
	ev := edge.Event{Records: []edge.Record{{CF: edge.CF{
		Config: edge.Config{
			DistributionDomainName: orDefault(p.DistributionDomainName, "edge.switchyard.localhost"),
			DistributionID:         orDefault(p.DistributionID, "ELOCALEDGEPROXY"),
			EventType:              edge.OriginRequest,
			RequestID:              requestID(),
		},
		Request: viewer,
	}}}}
	h := p.Handler
	if h == nil {
		h = &edge.Handler{}
	}
	routed, err := h.Handle(r.Context(), ev)
	if err != nil {
		return nil, "", fmt.Errorf("edge function for origin %s: %w", origin.DomainName, err)
	}
	if routed.Origin == nil || routed.Origin.Custom == nil {
		return nil, "", fmt.Errorf("edge function for origin %s returned no custom origin", origin.DomainName)
	}
	to := routed.Origin.Custom
	scheme := orDefault(to.Protocol, "http")
	port := to.Port
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[scheme]
	}
	target := scheme + "://" + net.JoinHostPort(to.DomainName, strconv.Itoa(port)) + to.Path + routed.URI
	if routed.QueryString != "" {
		target += "?" + routed.QueryString
	}
	out, err := http.NewRequestWithContext(r.Context(), routed.Method, target, nil)
	if err != nil {
		return nil, "", fmt.Errorf("origin %s: bad request %s %q: %w", to.DomainName, routed.Method, target, err)
	}
	for name, values := range routed.Headers {
		for _, v := range values {
			out.Header.Add(orDefault(v.Key, name), v.Value)
		}
	}
	// CloudFront adds the origin's custom headers last, over any header of the same name.
	for name, values := range to.CustomHeaders {
		out.Header.Del(name)
		for _, v := range values {
			out.Header.Add(orDefault(v.Key, name), v.Value)
		}
	}
	region, _ := routed.Headers.Value(edge.RegionHeader)
	out.Host = out.Header.Get("Host")
	out.Header.Del("Host")
	return out, region, nil
}

// relay streams the origin's response to the viewer.
func relay(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for name, values := range resp.Header {
		if !hopByHop[strings.ToLower(name)] {
			w.Header()[name] = values
		}
	}
	w.WriteHeader(resp.StatusCode)
	// The status line is out; a broken copy can only cut the body short, as at a real edge.
	_, _ = io.Copy(w, resp.Body)
}

func orDefault(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func requestID() string {
	b := make([]byte, 42)
	_, _ = rand.Read(b)
	return base64.URLEncoding.EncodeToString(b)
}
