package edge_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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
