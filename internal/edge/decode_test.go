package edge_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

// FuzzDecodeEvent: DecodeEvent gives exactly what encoding/json gives, error or not.
func FuzzDecodeEvent(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtures, "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range decodeCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareWithEncodingJSON(t, data)
	})
}

// decodeCases are the shapes the fast path must either read exactly or hand to encoding/json.
var decodeCases = []string{
	`{"Records":[]}`,
	`{"Records":[{}]}`,
	`  {"Records" : [ {"cf" : {"config":{"eventType":"origin-request"}} } ] }  `,
	`{"records":[{"cf":{}}]}`,
	`{"Records":[{"cf":{"request":{"uri":"/a\"b\\c\/d\u00e9\u20ac\n\t","querystring":"x=1"}}}]}`,
	`{"Records":[{"cf":{"request":{"uri":"\ud83d\ude00"}}}]}`,
	`{"Records":[{"cf":{"request":{"uri":"\ud800"}}}]}`,
	"{\"Records\":[{\"cf\":{\"request\":{\"uri\":\"\xff\"}}}]}",
	"{\"Records\":[{\"cf\":{\"request\":{\"uri\":\"caf\xc3\xa9\"}}}]}",
	`{"Records":[{"cf":{"request":{"uri":null}}}]}`,
	`{"Records":[{"cf":{"request":{"headers":{"a":[{"key":"A","value":"1"}],"a":[{"value":"2"}]}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"domainName":"a"}},"origin":{"s3":{"domainName":"b"}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"port":443.0}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"port":-0,"readTimeout":1e3}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"port":0443}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"port":-8443,"readTimeout":-1,"keepaliveTimeout":-0}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"port":12345678901234567890}}}}}]}`,
	`{"Records":[{"cf":{"request":{"origin":{"custom":{"sslProtocols":[],"customHeaders":{}}}}}}]}`,
	`{"Records":[{"cf":{"request":{"body":{"inputTruncated":true,"data":"eA=="}}}}]}`,
	`{"Records":[{"cf":{"request":{"body":{"inputTruncated":"yes"}}}}]}`,
	`{"Records":[{"cf":{"request":{"newField":{"nested":[1,2,{"x":null}]}}}}]}`,
	`{"Records":[{"cf":{"request":{"method":"GET"}}}]} trailing`,
	`{"Records":[{"cf":{"request":{"method":"GET",}}}]}`,
	`{"Records":"none"}`,
	`[]`,
	``,
	// An unknown field is encoding/json's to read, its nesting limit included: the first is 10000 deep,
	// at the limit, the second one past it.
	`{"Records":[{"cf":{"request":{"newField":` + strings.Repeat("[", 9995) + strings.Repeat("]", 9995) + `}}}]}`,
	`{"Records":[{"cf":{"request":{"newField":` + strings.Repeat("[", 9996) + strings.Repeat("]", 9996) + `}}}]}`,
}

func compareWithEncodingJSON(t *testing.T, data []byte) {
	t.Helper()
	var want edge.Event
	wantErr := json.Unmarshal(data, &want)
	got, err := edge.DecodeEvent(data)
	switch {
	case (err == nil) != (wantErr == nil):
		t.Fatalf("DecodeEvent(%q) error = %v, encoding/json says %v", data, err, wantErr)
	case err != nil && err.Error() != wantErr.Error():
		t.Fatalf("DecodeEvent(%q) error = %q, encoding/json says %q", data, err, wantErr)
	case err == nil && !reflect.DeepEqual(got, want):
		t.Fatalf("DecodeEvent(%q) =\n%#v\nencoding/json gives\n%#v", data, got, want)
	}
}

func TestDecodeEventMatchesEncodingJSON(t *testing.T) {
	for _, s := range decodeCases {
		t.Run(s, func(t *testing.T) { compareWithEncodingJSON(t, []byte(s)) })
	}
}

// fullEvent holds every token the fast path reads: escapes of each kind, \u escapes, integers and both
// booleans, in every object of the documented shape.
const fullEvent = `{"Records":[{"cf":{"config":{"distributionDomainName":"d111111abcdef8.cloudfront.net",` +
	`"distributionId":"EDFDVBD6EXAMPLE","eventType":"origin-request","requestId":"4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ=="},` +
	`"request":{"body":{"inputTruncated":false,"action":"read-only","encoding":"base64","data":"eyJhIjoxfQ=="},"clientIp":"203.0.113.178",` +
	`"headers":{"host":[{"key":"Host","value":"api.example.com"}],"sec-ch-ua":[{"key":"sec-ch-ua","value":"\"Chromium\";v=\"118\""}]},` +
	`"method":"POST","origin":{"custom":{"customHeaders":{"x-switchyard-region":[{"key":"X-Switchyard-Region","value":"us-east-1"}]},` +
	`"domainName":"api-use1.example.com","keepaliveTimeout":5,"path":"","port":-8443,"protocol":"https","readTimeout":30,` +
	`"sslProtocols":["TLSv1.2"]}},"querystring":"q=caf\u00e9\/\\","uri":"/v1/todos"}}},` +
	`{"cf":{"request":{"body":{"inputTruncated":true},"origin":{"s3":{"authMethod":"none","customHeaders":{},` +
	`"domainName":"b.s3.amazonaws.com","path":"","region":"us-east-1"}}}}}]}`

// TestDecodeEventTruncated: an event cut short at any byte (a Lambda payload limit, a broken proxy) is
// refused with encoding/json's error, never read past its end, never decoded as if complete.
func TestDecodeEventTruncated(t *testing.T) {
	full := []byte(fullEvent)
	compareWithEncodingJSON(t, full)
	for n := range len(full) {
		// Capacity n, so reading past the end panics rather than finding the rest of the event.
		data := full[:n:n]
		if _, err := edge.DecodeEvent(data); err == nil {
			t.Fatalf("DecodeEvent(%q) accepted a truncated event", data)
		}
		compareWithEncodingJSON(t, data)
	}
}

// TestCustomOriginNumbers: the origin's numbers are read as JavaScript reads them (through a double),
// and one that is not a whole number within int is refused, never truncated or wrapped.
func TestCustomOriginNumbers(t *testing.T) {
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"443", 443, true},
		{"443.0", 443, true},
		{"4.43e2", 443, true},
		{"-0", 0, true},
		{"-9223372036854775808", math.MinInt64, true},
		{"9223372036854774784", 9223372036854774784, true}, // the largest double below 2^63
		{"9223372036854775807", 0, false},                  // a double rounds it up to 2^63
		{"-9223372036854777856", 0, false},                 // the next double below -2^63
		{"1e400", 0, false},
		{"443.5", 0, false},
		{`"443"`, 0, false},
		{"true", 0, false},
		{"null", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got edge.CustomOrigin
			err := json.Unmarshal([]byte(`{"port":`+tt.in+`}`), &got)
			if !tt.ok {
				var te *json.UnmarshalTypeError
				if !errors.As(err, &te) || te.Field != "port" {
					t.Fatalf("port %s: got %+v, error %v; want a refusal naming the port", tt.in, got, err)
				}
				return
			}
			if err != nil || got.Port != tt.want {
				t.Fatalf("port %s: got %d, error %v; want %d", tt.in, got.Port, err, tt.want)
			}
		})
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(fixtures, "repeated-headers.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := edge.DecodeEvent(data); err != nil {
			b.Fatal(err)
		}
	}
}
