package edge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/edge"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the handler's current output")

const fixtures = "../../events/edge-rewrite"

// TestHandleGolden feeds every fixture through the Lambda runtime's own decoding and encoding and
// compares the answer with testdata/golden/<case>.json; the WASM bundle's test compares against the
// same files.
func TestHandleGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(fixtures, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s (err %v)", fixtures, err)
	}
	h := lambda.NewHandler((&edge.Handler{}).Handle)
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			event, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := invokeAnswer(t, h, event)
			golden := filepath.Join("testdata", "golden", name)
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v: run `go test ./internal/edge -run TestHandleGolden -update` to create it", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("answer differs from %s (rerun with -update if the change is intended)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// invokeAnswer returns the handler's answer as indented JSON: the request, or the error the way
// Lambda reports it.
func invokeAnswer(t *testing.T, h lambda.Handler, event []byte) []byte {
	t.Helper()
	out, err := h.Invoke(context.Background(), event)
	if err != nil {
		var ee *edge.EventError
		if !errors.As(err, &ee) {
			t.Fatalf("error %v (%T) is not an *edge.EventError", err, err)
		}
		out, err = json.Marshal(map[string]string{"errorType": "EventError", "errorMessage": err.Error()})
		if err != nil {
			t.Fatal(err)
		}
	}
	var indented bytes.Buffer
	if err := json.Indent(&indented, out, "", "  "); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, out)
	}
	indented.WriteByte('\n')
	return indented.Bytes()
}

func loadFixture(t testing.TB, name string) edge.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev edge.Event
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// TestRewrite states the rules directly, so a wrong golden file cannot hide a wrong rule.
func TestRewrite(t *testing.T) {
	tests := []struct {
		fixture       string
		wantErr       error
		wantHost      string
		wantForwarded string // "" means no X-Forwarded-Host header
		wantRegion    string // "" means no region header
	}{
		{fixture: "custom-origin", wantHost: "api-use1.example.com", wantForwarded: "api.example.com", wantRegion: "us-east-1"},
		{fixture: "custom-origin-host-override", wantHost: "api-use1.example.com", wantForwarded: "api.example.com", wantRegion: "us-east-1"},
		{fixture: "origin-group-secondary", wantHost: "api-usw2.example.com", wantForwarded: "api.example.com", wantRegion: "us-west-2"},
		{fixture: "repeated-headers", wantHost: "api-use1.example.com", wantForwarded: "api.example.com", wantRegion: "us-east-1"},
		{fixture: "percent-encoded", wantHost: "api-use1.example.com", wantForwarded: "api.example.com"},
		{fixture: "s3-origin", wantHost: "switchyard-static.s3.us-east-1.amazonaws.com"},
		{fixture: "viewer-request", wantErr: edge.ErrWrongTrigger},
		{fixture: "empty-host-override", wantErr: edge.ErrMalformedEvent},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev := loadFixture(t, tt.fixture)
			in := ev.Records[0].CF.Request
			got, err := edge.Rewrite(ev)
			if tt.wantErr != nil {
				var ee *edge.EventError
				if !errors.Is(err, tt.wantErr) || !errors.As(err, &ee) {
					t.Fatalf("Rewrite error = %v, want an *EventError wrapping %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Rewrite: %v", err)
			}
			assertHeader(t, got.Headers, "host", tt.wantHost)
			assertHeader(t, got.Headers, edge.ForwardedHostHeader, tt.wantForwarded)
			assertHeader(t, got.Headers, edge.RegionHeader, tt.wantRegion)
			for name, values := range in.Headers {
				if name == "host" || name == edge.ForwardedHostHeader || name == edge.RegionHeader {
					continue
				}
				if !reflect.DeepEqual(got.Headers[name], values) {
					t.Errorf("header %s = %v, want it unchanged: %v", name, got.Headers[name], values)
				}
			}
			if in.Origin.Custom != nil {
				wantOrigin := *in.Origin.Custom
				wantOrigin.CustomHeaders = edge.Headers{}
				if tt.wantRegion != "" {
					wantOrigin.CustomHeaders[edge.RegionHeader] = []edge.Header{{Key: "X-Switchyard-Region", Value: tt.wantRegion}}
				}
				if !reflect.DeepEqual(*got.Origin.Custom, wantOrigin) {
					t.Errorf("origin: got %+v, want the same origin with only the region custom header %+v", *got.Origin.Custom, wantOrigin)
				}
			}
			got.Headers, in.Headers, got.Origin, in.Origin = nil, nil, nil, nil
			if !reflect.DeepEqual(got, in) {
				t.Errorf("request apart from headers changed:\ngot  %+v\nwant %+v", got, in)
			}
		})
	}
}

func assertHeader(t *testing.T, h edge.Headers, name, want string) {
	t.Helper()
	values := h[name]
	switch {
	case want == "" && len(values) != 0:
		t.Errorf("header %s = %v, want none", name, values)
	case want != "" && (len(values) != 1 || values[0].Value != want):
		t.Errorf("header %s = %v, want exactly one value %q", name, values, want)
	}
}

func TestRewriteRefuses(t *testing.T) {
	custom := func() *edge.Origin {
		return &edge.Origin{Custom: &edge.CustomOrigin{DomainName: "api-use1.example.com", Port: 443, Protocol: "https"}}
	}
	event := func(eventType string, origin *edge.Origin) edge.Event {
		return edge.Event{Records: []edge.Record{{CF: edge.CF{
			Config:  edge.Config{EventType: eventType},
			Request: edge.Request{Method: "GET", URI: "/v1", Headers: edge.Headers{"host": {{Key: "Host", Value: "api.example.com"}}}, Origin: origin},
		}}}}
	}
	two := event(edge.OriginRequest, custom())
	two.Records = append(two.Records, two.Records[0])
	tests := []struct {
		name    string
		ev      edge.Event
		wantErr error
		wantMsg string
	}{
		{"no records", edge.Event{}, edge.ErrMalformedEvent, "want exactly 1 record, got 0"},
		{"two records", two, edge.ErrMalformedEvent, "got 2"},
		{"viewer request", event(edge.ViewerRequest, nil), edge.ErrWrongTrigger, `"viewer-request"`},
		{"origin response", event(edge.OriginResponse, custom()), edge.ErrWrongTrigger, "origin-request trigger"},
		{"viewer response", event(edge.ViewerResponse, nil), edge.ErrWrongTrigger, `"viewer-response"`},
		{"empty event type", event("", custom()), edge.ErrWrongTrigger, `got a "" event`},
		{"no origin", event(edge.OriginRequest, nil), edge.ErrMalformedEvent, "names no origin"},
		{"empty origin", event(edge.OriginRequest, &edge.Origin{}), edge.ErrMalformedEvent, "names no origin"},
		{"custom origin without domain", event(edge.OriginRequest, &edge.Origin{Custom: &edge.CustomOrigin{}}), edge.ErrMalformedEvent, "no domainName"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := edge.Rewrite(tt.ev)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Rewrite error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say %q", err, tt.wantMsg)
			}
		})
	}
}

// TestRewriteFollowsOrigin: without a signal the host comes from each event's origin, so successive
// events for different origins (an explicit swap) get different hosts.
func TestRewriteFollowsOrigin(t *testing.T) {
	primary := loadFixture(t, "custom-origin-host-override")
	secondary := loadFixture(t, "origin-group-secondary")
	for _, tt := range []struct {
		ev   edge.Event
		want string
	}{{primary, "api-use1.example.com"}, {secondary, "api-usw2.example.com"}, {primary, "api-use1.example.com"}} {
		got, err := edge.Rewrite(tt.ev)
		if err != nil {
			t.Fatal(err)
		}
		if host, _ := got.Headers.Value("host"); host != tt.want {
			t.Errorf("host = %q, want %q", host, tt.want)
		}
	}

}

func BenchmarkRewrite(b *testing.B) {
	ev := loadFixture(b, "repeated-headers")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := edge.Rewrite(ev); err != nil {
			b.Fatal(err)
		}
	}
}
