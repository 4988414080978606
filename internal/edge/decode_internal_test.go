package edge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestFixturesTakeFastPath: every documented event shape decodes without falling back to
// encoding/json, or the WebAssembly build silently loses its speed.
func TestFixturesTakeFastPath(t *testing.T) {
	paths, err := filepath.Glob("../../events/edge-rewrite/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures (err %v)", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			d := decoder{data: data}
			var ev Event
			if !d.event(&ev) || !d.end() {
				t.Errorf("fell back to encoding/json at byte %d of %d: %q", d.pos, len(data), data[d.pos:min(d.pos+40, len(data))])
			}
		})
	}
}

// TestFastPathReads: what real origin-request events carry beyond the fixtures (client-hint headers
// whose values are quoted, \u escapes, the body of a behaviour that includes it, ports and timeouts
// of every digit) is read by the fast path itself, and read as encoding/json reads it.
func TestFastPathReads(t *testing.T) {
	tests := []struct {
		name    string
		request string
		want    Request
	}{
		{"quoted client hint", `{"headers":{"sec-ch-ua":[{"key":"sec-ch-ua","value":"\"Chromium\";v=\"118\""}]}}`,
			Request{Headers: Headers{"sec-ch-ua": {{Key: "sec-ch-ua", Value: `"Chromium";v="118"`}}}}},
		{"every short escape", `{"uri":"/a\\b\/c\b\f\n\r\t"}`, Request{URI: "/a\\b/c\b\f\n\r\t"}},
		{"unicode escapes", `{"querystring":"\u0041=caf\u00e9&\u20AC=\u20ac"}`, Request{QueryString: "A=café&€=€"}},
		{"body, truncated", `{"body":{"inputTruncated":true,"action":"read-only","encoding":"base64","data":"eA=="}}`,
			Request{Body: &Body{InputTruncated: true, Action: "read-only", Encoding: "base64", Data: "eA=="}}},
		{"body, whole", `{"body":{"inputTruncated":false,"action":"read-only","encoding":"text","data":"x"}}`,
			Request{Body: &Body{Action: "read-only", Encoding: "text", Data: "x"}}},
		{"origin numbers", `{"origin":{"custom":{"port":8089,"readTimeout":60,"keepaliveTimeout":0}}}`,
			Request{Origin: &Origin{Custom: &CustomOrigin{Port: 8089, ReadTimeout: 60}}}},
		{"nine-digit number", `{"origin":{"custom":{"readTimeout":123456789}}}`,
			Request{Origin: &Origin{Custom: &CustomOrigin{ReadTimeout: 123456789}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(`{"Records":[{"cf":{"request":` + tt.request + `}}]}`)
			d := decoder{data: data}
			var ev Event
			if !d.event(&ev) || !d.end() {
				t.Fatalf("fell back to encoding/json at byte %d of %s", d.pos, data)
			}
			if got := ev.Records[0].CF.Request; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			var want Event
			if err := json.Unmarshal(data, &want); err != nil || !reflect.DeepEqual(ev, want) {
				t.Errorf("got %+v, encoding/json gives %+v (error %v)", ev, want, err)
			}
		})
	}
}

// TestDecoderInteger: integer reads a JSON integer and stops after it; anything encoding/json would
// read differently (a leading zero, a fraction, an exponent, a number beyond int) is left to it.
func TestDecoderInteger(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantPos int // where reading stops; -1 for a refusal
	}{
		{"0", 0, 1},
		{"-0", 0, 2},
		{"9", 9, 1},
		{"-12", -12, 3},
		{" 443,", 443, 4},
		{"30}", 30, 2},
		{"", 0, -1},
		{"-", 0, -1},
		{"-x", 0, -1},
		{"01", 0, -1},
		{"-01", 0, -1},
		{"1.5", 0, -1},
		{"1e3", 0, -1},
		{"1E3", 0, -1},
		{"12345678901234567890", 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			data := []byte(tt.in)
			d := decoder{data: data[:len(data):len(data)]}
			got, ok := d.integer()
			switch {
			case tt.wantPos < 0 && ok:
				t.Errorf("integer(%q) = %d, want a refusal", tt.in, got)
			case tt.wantPos >= 0 && (!ok || got != tt.want || d.pos != tt.wantPos):
				t.Errorf("integer(%q) = %d, %v, stopping at %d; want %d, stopping at %d", tt.in, got, ok, d.pos, tt.want, tt.wantPos)
			}
		})
	}
}
