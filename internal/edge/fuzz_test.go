package edge_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

// parseHeaders turns "Name: value" lines into CloudFront's header shape; a line without a colon is
// a header with an empty value, so every input yields some header map.
func parseHeaders(blob string) edge.Headers {
	h := edge.Headers{}
	for line := range strings.SplitSeq(blob, "\n") {
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, ":")
		name := strings.ToLower(key)
		h[name] = append(h[name], edge.Header{Key: key, Value: strings.TrimSpace(value)})
	}
	return h
}

// FuzzRewrite: arbitrary headers and origins never panic and never lose or change a header other
// than host, x-forwarded-host and the project's own x-switchyard-* headers, which follow the stated
// rules (a viewer's are never passed on); CR, LF or NUL in any value is refused; refusals are always
// *EventError.
func FuzzRewrite(f *testing.F) {
	f.Add("Host: api.example.com\nAccept: */*\nCookie: a=1\nCookie: b=2", "origin-request", "api-use1.example.com", "", "us-east-1", true)
	f.Add("Host: api.example.com\nX-Forwarded-Host: evil\nx-switchyard-region: eu-west-1", "origin-request", "d-1.execute-api.us-west-2.amazonaws.com", "api-usw2.example.com", "us-west-2", true)
	f.Add("accept: a\nAccept: b", "origin-request", "", "override.example.com", "", true)
	f.Add("Host: same.example.com", "origin-request", "same.example.com", "", "", true)
	f.Add("Host: api.example.com", "viewer-request", "api-use1.example.com", "", "", true)
	f.Add("Host: bucket.s3.amazonaws.com", "origin-request", "bucket.s3.amazonaws.com", "", "", false)
	f.Add("", "origin-request", "", "", "", true)
	f.Add("Host:\nHost: second", "origin-request", "a", "\x00", "\xff", true)
	f.Fuzz(func(t *testing.T, headerBlob, eventType, domain, override, region string, custom bool) {
		in := parseHeaders(headerBlob)
		originHeaders := edge.Headers{}
		if override != "" {
			originHeaders[edge.OriginHostHeader] = []edge.Header{{Key: "X-Switchyard-Origin-Host", Value: override}}
		}
		if region != "" {
			originHeaders[edge.RegionHeader] = []edge.Header{{Key: "X-Switchyard-Region", Value: region}}
		}
		origin := &edge.Origin{S3: &edge.S3Origin{DomainName: domain, CustomHeaders: originHeaders}}
		if custom {
			origin = &edge.Origin{Custom: &edge.CustomOrigin{DomainName: domain, CustomHeaders: originHeaders, Port: 443, Protocol: "https"}}
		}
		snapshot := parseHeaders(headerBlob)
		ev := edge.Event{Records: []edge.Record{{CF: edge.CF{
			Config:  edge.Config{EventType: eventType},
			Request: edge.Request{Method: "GET", URI: "/", Headers: in, Origin: origin},
		}}}}

		got, err := edge.Rewrite(ev)
		if !reflect.DeepEqual(in, snapshot) {
			t.Fatalf("Rewrite modified the event's headers:\ngot  %v\nwant %v", in, snapshot)
		}
		if err != nil {
			var ee *edge.EventError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v is %T, want *edge.EventError", err, err)
			}
			bad := errors.Is(err, edge.ErrBadHeader) && (strings.ContainsAny(headerBlob+override+region, "\r\n\x00") || hasBadValue(in))
			if eventType == edge.OriginRequest && (!custom || domain != "" || override != "") && !bad {
				t.Fatalf("refused a rewritable event: %v", err)
			}
			return
		}
		if !custom {
			if !reflect.DeepEqual(got.Headers, in) {
				t.Fatalf("S3 origin headers changed: got %v, want %v", got.Headers, in)
			}
			return
		}
		if hasBadValue(got.Headers) {
			t.Fatalf("passed on a CR, LF or NUL: %v", got.Headers)
		}
		wantHost := domain
		if override != "" {
			wantHost = override
		}
		if host, _ := got.Headers.Value("host"); host != wantHost || len(got.Headers["host"]) != 1 {
			t.Fatalf("host = %v, want exactly %q", got.Headers["host"], wantHost)
		}
		viewer, _ := in.Value("host")
		if fwd := got.Headers[edge.ForwardedHostHeader]; (viewer == "" && len(fwd) != 0) || (viewer != "" && (len(fwd) != 1 || fwd[0].Value != viewer)) {
			t.Fatalf("x-forwarded-host = %v, want exactly the viewer's host %q, none when it sent none", fwd, viewer)
		}
		if r := got.Headers[edge.RegionHeader]; (region == "" && len(r) != 0) || (region != "" && (len(r) != 1 || r[0].Value != region)) {
			t.Fatalf("region header = %v, want exactly the origin's %q, none when it sets none", r, region)
		}
		for name, values := range in {
			switch {
			case name == "host" || name == edge.ForwardedHostHeader:
			case strings.HasPrefix(name, "x-switchyard-"):
				if name != edge.RegionHeader && got.Headers[name] != nil {
					t.Fatalf("viewer header %q passed on: %v", name, got.Headers[name])
				}
			case !reflect.DeepEqual(got.Headers[name], values):
				t.Fatalf("header %q = %v, want it unchanged: %v", name, got.Headers[name], values)
			}
		}
	})
}

func hasBadValue(h edge.Headers) bool {
	for _, values := range h {
		for _, v := range values {
			if strings.ContainsAny(v.Value+v.Key, "\r\n\x00") {
				return true
			}
		}
	}
	return false
}
