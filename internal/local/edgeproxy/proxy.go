// Package edgeproxy stands in for the CloudFront distribution in local runs and the drill: each
// request becomes a CloudFront origin-request event, goes through the same edge rewrite that
// Lambda@Edge runs, and is forwarded to the origin the distribution points at now. It is never
// deployed.
package edgeproxy

import (
	"bytes"
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

// maxReplayBody bounds what is kept of a GET, HEAD or OPTIONS body so it can go to the failover origin.
const maxReplayBody = 1 << 20

// Proxy is an http.Handler that behaves like a distribution whose cache behaviour runs the edge
// rewrite on origin-request and targets an origin group.
type Proxy struct {
	// Origins returns the origins the distribution points at now: the primary first, then the origin
	// group's failover origin, if any. It is called once per request, so a switch of origins takes
	// effect on the next request.
	Origins func() []edge.CustomOrigin
	// DistributionID and DistributionDomainName fill the event's config; empty means local values.
	DistributionID, DistributionDomainName string
	// Transport sends requests to origins; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// hopByHop headers belong to one connection, so neither CloudFront nor this proxy forwards them.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-authenticate": true, "proxy-authorization": true,
	"proxy-connection": true, "te": true, "trailer": true, "transfer-encoding": true, "upgrade": true,
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origins := p.Origins()
	if len(origins) == 0 {
		http.Error(w, "edge proxy: the distribution has no origin: give the proxy at least one", http.StatusBadGateway)
		return
	}
	// Like an origin group: only GET, HEAD and OPTIONS fail over, and only to the second origin.
	var body []byte
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		origins = origins[:min(len(origins), 2)]
		var err error
		if body, err = io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1)); err != nil {
			http.Error(w, "edge proxy: read the request body: "+err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > maxReplayBody {
			http.Error(w, "edge proxy: a GET, HEAD or OPTIONS body over 1 MiB is refused", http.StatusRequestEntityTooLarge)
			return
		}
	default:
		origins = origins[:1]
	}

	viewer := p.viewerRequest(r)
	var failures []string
	for i, origin := range origins {
		out, err := p.originRequest(r, viewer, origin)
		if err != nil {
			// CloudFront answers 502 when the origin-request function fails or returns a bad result.
			http.Error(w, "edge proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
		switch {
		case len(body) > 0:
			out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		case body != nil:
			out.Body = http.NoBody
		default:
			out.Body, out.ContentLength = r.Body, r.ContentLength
		}
		resp, err := p.transport().RoundTrip(out)
		last := i == len(origins)-1
		switch {
		case err != nil && last:
			failures = append(failures, fmt.Sprintf("%s: %v", origin.DomainName, err))
			http.Error(w, "edge proxy: no origin answered: "+strings.Join(failures, "; "), http.StatusBadGateway)
			return
		case err != nil:
			failures = append(failures, fmt.Sprintf("%s: %v", origin.DomainName, err))
			continue
		case resp.StatusCode >= 500 && !last:
			resp.Body.Close()
			failures = append(failures, fmt.Sprintf("%s: %s", origin.DomainName, resp.Status))
			continue
		}
		relay(w, resp)
		return
	}
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

// originRequest runs the edge rewrite for one origin and builds the request CloudFront would send it.
func (p *Proxy) originRequest(r *http.Request, viewer edge.Request, origin edge.CustomOrigin) (*http.Request, error) {
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
	rewritten, err := edge.Rewrite(ev)
	if err != nil {
		return nil, fmt.Errorf("edge rewrite for origin %s: %w", origin.DomainName, err)
	}

	scheme := orDefault(origin.Protocol, "http")
	port := origin.Port
	if port == 0 {
		port = map[string]int{"http": 80, "https": 443}[scheme]
	}
	target := scheme + "://" + net.JoinHostPort(origin.DomainName, strconv.Itoa(port)) + origin.Path + rewritten.URI
	if rewritten.QueryString != "" {
		target += "?" + rewritten.QueryString
	}
	out, err := http.NewRequestWithContext(r.Context(), rewritten.Method, target, nil)
	if err != nil {
		return nil, fmt.Errorf("origin %s: bad request %s %q: %w", origin.DomainName, rewritten.Method, target, err)
	}
	for name, values := range rewritten.Headers {
		for _, v := range values {
			out.Header.Add(orDefault(v.Key, name), v.Value)
		}
	}
	// CloudFront adds the origin's custom headers last, over any header of the same name.
	for name, values := range origin.CustomHeaders {
		out.Header.Del(name)
		for _, v := range values {
			out.Header.Add(orDefault(v.Key, name), v.Value)
		}
	}
	out.Host = out.Header.Get("Host")
	out.Header.Del("Host")
	return out, nil
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
