package edge_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

// runtimeJSON is how the Lambda runtime encodes a handler's result.
func runtimeJSON(t *testing.T, r *edge.Request) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesRuntime(t *testing.T) {
	requests := map[string]*edge.Request{
		"empty":            {},
		"nil header value": {Headers: edge.Headers{"b": nil, "a": {}}},
		"empty origin":     {Origin: &edge.Origin{}},
		"both origins": {Origin: &edge.Origin{
			Custom: &edge.CustomOrigin{DomainName: "c", Port: -1, SSLProtocols: []string{}},
			S3:     &edge.S3Origin{DomainName: "s", CustomHeaders: edge.Headers{}},
		}},
		"s3 without headers":      {Origin: &edge.Origin{S3: &edge.S3Origin{AuthMethod: "none"}}},
		"lone continuation bytes": {URI: "/\x80\xbf/\xd0\x80"},
		"awkward strings": {
			ClientIP: "\x00\x01\x1f\x7f", Method: "\"\\/<>&", URI: "\b\f\n\r\t", QueryString: "\xff\xfe caf\xc3\xa9 \u2028\u2029 \U0001F600",
			Headers: edge.Headers{"x\"y": {{Key: "", Value: "no key"}, {Key: "K", Value: "\xc3"}}},
			Body:    &edge.Body{InputTruncated: true, Action: "replace", Encoding: "text", Data: "<b>"},
		},
	}
	for _, name := range []string{"custom-origin", "percent-encoded", "repeated-headers", "s3-origin"} {
		req, err := edge.Rewrite(loadFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		requests["fixture "+name] = &req
	}
	for name, r := range requests {
		t.Run(name, func(t *testing.T) {
			if got, want := r.AppendJSON(nil), runtimeJSON(t, r); !bytes.Equal(got, want) {
				t.Errorf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
			}
		})
	}
}

// FuzzAppendJSON: any strings and shapes encode exactly as encoding/json encodes them.
func FuzzAppendJSON(f *testing.F) {
	f.Add("203.0.113.1", "host", "Host", "api.example.com", "/v1", "a=%20", "d-1.example.com", 443, true, true)
	f.Add("\x00", "\xff", "", "\u2028", "\"", "\\", "", -5, false, true)
	f.Fuzz(func(t *testing.T, ip, name, key, value, uri, query, domain string, port int, custom, body bool) {
		r := &edge.Request{ClientIP: ip, URI: uri, QueryString: query, Headers: edge.Headers{name: {{Key: key, Value: value}}, value: nil}}
		if custom {
			r.Origin = &edge.Origin{Custom: &edge.CustomOrigin{DomainName: domain, Port: port, CustomHeaders: edge.Headers{key: {{Value: name}}}}}
		} else {
			r.Origin = &edge.Origin{S3: &edge.S3Origin{DomainName: domain, Region: query}}
		}
		if body {
			r.Body = &edge.Body{Data: value, Encoding: key}
		}
		if got, want := r.AppendJSON(nil), runtimeJSON(t, r); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n%q\nencoding/json:\n%q", got, want)
		}
	})
}
