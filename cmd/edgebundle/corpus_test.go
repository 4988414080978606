package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/edge"
	"github.com/switchyard-dr/switchyard/internal/local/signaldns"
)

// fixedSignal answers every lookup with one signal, so the native handler sees exactly the signal the
// WebAssembly build is handed.
type fixedSignal edge.Signal

func (f fixedSignal) Signal(context.Context, string) edge.Signal { return edge.Signal(f) }

// nativeAnswer is the native handler's answer to event under sig, through the Lambda runtime's own
// decoding and encoding, shaped as the driver prints the bundle's.
func nativeAnswer(t *testing.T, event []byte, sig edge.Signal) any {
	t.Helper()
	h := &edge.Handler{Signals: fixedSignal(sig)}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), event)
	if err != nil {
		name := reflect.TypeOf(err).String()
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr):
			name = "UnmarshalTypeError"
		case errors.As(err, &syntaxErr):
			name = "SyntaxError"
		default:
			name = name[strings.LastIndex(name, ".")+1:]
		}
		return map[string]any{"errorType": name, "errorMessage": err.Error()}
	}
	return decode(t, out)
}

// The generated corpus mixes what the edge must get right: hostile or awkward viewer headers, every
// shape of origin configuration, numbers JavaScript rewrites (1000.0, 1e3, 2^53+1) and every kind of
// signal answer.
var (
	viewerHeaderPool = []string{
		`"host":[{"key":"Host","value":"api.example.com"}]`,
		`"host":[{"key":"Host","value":"east.execute-api.us-east-1.amazonaws.com"}]`,
		`"host":[{"key":"Host","value":""}]`,
		`"x-forwarded-host":[{"key":"X-Forwarded-Host","value":"evil.example.net"}]`,
		`"x-switchyard-region":[{"key":"X-Switchyard-Region","value":"eu-west-1"}]`,
		`"x-switchyard-origin-secret":[{"key":"X-Switchyard-Origin-Secret","value":"guess"}]`,
		`"x-switchyard-regions":[{"key":"X-Switchyard-Regions","value":"us-east-1=evil.example.net"}]`,
		`"accept":[{"key":"Accept","value":"application/json"},{"key":"accept","value":"text/plain"}]`,
		`"x-note":[{"key":"X-Note","value":"caf\u00e9 \u2028 \ud83d\ude00"}]`,
		`"cookie":[{"key":"Cookie","value":"a=1"},{"key":"Cookie","value":"b=2"}]`,
	}
	// hostilePool is added to one case in five: each value must be refused.
	hostilePool = []string{
		`"x-bad":[{"key":"X-Bad","value":"a\r\nX-Injected: 1"}]`,
		`"x-bad":[{"key":"X-Bad","value":"nul\u0000here"}]`,
		`"x-bad":[{"key":"X-Bad","value":"lf\nonly"}]`,
	}
	numberPool       = []string{"443", "443", "443", "443", "1000.0", "1e3", "9007199254740993", "-0", "null", "443.5", `"443"`}
	originHeaderPool = []string{
		`"x-switchyard-region":[{"key":"X-Switchyard-Region","value":"us-east-1"}]`,
		`"x-switchyard-regions":[{"key":"X-Switchyard-Regions","value":"us-east-1=east.execute-api.us-east-1.amazonaws.com,us-west-2=west.execute-api.us-west-2.amazonaws.com"}]`,
		`"x-switchyard-regions":[{"key":"X-Switchyard-Regions","value":"us-east-1"}]`,
		`"x-switchyard-origin-host":[{"key":"X-Switchyard-Origin-Host","value":"api-use1.example.com"}]`,
		`"x-switchyard-origin-secret":[{"key":"X-Switchyard-Origin-Secret","value":"s3cret"}]`,
		`"x-switchyard-traffic-epoch":[{"key":"X-Switchyard-Traffic-Epoch","value":"7"}]`,
	}
	signalPool = []string{edge.SignalSentinel, "writer us-east-1", "writer us-west-2", "serving us-east-1", "serving us-west-2", "writer eu-west-1"}
	eventTypes = []string{"origin-request", "origin-request", "origin-request", "viewer-request"}
)

func pick[T any](r *rand.Rand, pool []T) T { return pool[r.IntN(len(pool))] }

func subset(r *rand.Rand, pool []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range pool {
		key, _, _ := strings.Cut(v, ":")
		if r.IntN(3) == 0 && !seen[key] {
			seen[key] = true
			out = append(out, v)
		}
	}
	return out
}

func viewerHeaders(r *rand.Rand) []string {
	h := subset(r, viewerHeaderPool)
	if r.IntN(5) == 0 {
		h = append(h, pick(r, hostilePool))
	}
	return h
}

// generatedCase is one event as raw JSON text and a signal.
func generatedCase(r *rand.Rand) (string, edge.Signal) {
	// Every deployed origin names the signal record; the signal handed to both builds stands for
	// the answer to its lookup.
	originHeaders := append(subset(r, originHeaderPool), `"x-switchyard-signal-name":[{"key":"X-Switchyard-Signal-Name","value":"_regions.example.com"}]`)
	origin := fmt.Sprintf(`{"custom":{"customHeaders":{%s},"domainName":"east.execute-api.us-east-1.amazonaws.com","keepaliveTimeout":%s,"path":"","port":%s,"protocol":"https","readTimeout":30,"sslProtocols":["TLSv1.2"]}}`,
		strings.Join(originHeaders, ","), pick(r, numberPool), pick(r, numberPool))
	event := fmt.Sprintf(`{"Records":[{"cf":{"config":{"distributionDomainName":"d111111abcdef8.cloudfront.net","distributionId":"EDFDVBD6EXAMPLE","eventType":%q,"requestId":"r"},"request":{"clientIp":"203.0.113.178","headers":{%s},"method":%q,"origin":%s,"querystring":"","uri":"/v1"}}}]}`,
		pick(r, eventTypes), strings.Join(viewerHeaders(r), ","), pick(r, []string{"GET", "POST", "DELETE"}), origin)
	var sig edge.Signal
	switch r.IntN(4) {
	case 0:
		sig.Error = "ETIMEOUT: queryTxt ETIMEOUT _regions.example.com"
	default:
		sig.Answers = subset(r, signalPool)
	}
	if sig.Answers == nil {
		sig.Answers = []string{}
	}
	return event, sig
}

// TestBundleMatchesNativeOnGeneratedCorpus runs a seeded corpus of generated events and signals through
// the bundle under Node and through the native handler, and requires identical answers.
func TestBundleMatchesNativeOnGeneratedCorpus(t *testing.T) {
	node := requireNode(t)
	dir, _ := bundle(t)
	r := rand.New(rand.NewPCG(14, 17))
	tmp := t.TempDir()
	want := map[string]any{}
	var files []string
	routed := 0
	for i := range 400 {
		event, sig := generatedCase(r)
		wire, err := json.Marshal(map[string]any{"event": json.RawMessage(event), "signal": sig})
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, event)
		}
		path := filepath.Join(tmp, fmt.Sprintf("case-%03d.json", i))
		if err := os.WriteFile(path, wire, 0o644); err != nil {
			t.Fatal(err)
		}
		want[path] = nativeAnswer(t, []byte(event), sig)
		if m, ok := want[path].(map[string]any); ok && m["errorType"] == nil {
			routed++
		}
		files = append(files, path)
	}
	if routed < 100 {
		t.Fatalf("only %d of %d generated cases were routed: the corpus tests mostly refusals", routed, len(files))
	}
	lines := drive(t, node, dir, append([]string{"run"}, files...)...)
	if len(lines) != len(files) {
		t.Fatalf("driver answered %d cases, want %d", len(lines), len(files))
	}
	diffs := 0
	for _, line := range lines {
		file, _ := line["file"].(string)
		if !reflect.DeepEqual(line["answer"], want[file]) {
			diffs++
			if diffs <= 3 {
				in, _ := os.ReadFile(file)
				got, _ := json.MarshalIndent(line["answer"], "", "  ")
				exp, _ := json.MarshalIndent(want[file], "", "  ")
				t.Errorf("%s: WASM answer differs from the native one\ninput: %s\ngot:\n%s\nwant:\n%s", filepath.Base(file), in, got, exp)
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d of %d cases differ", diffs, len(files))
	}
}

// TestBundleLooksUpTheSignal: the loader reads the signal record itself (through the resolver the
// origin names, here the local Route 53 stand-in) and routes as the native handler does with Go's
// resolver against the same server: a write goes to the region the record says writes.
func TestBundleLooksUpTheSignal(t *testing.T) {
	node := requireNode(t)
	dir, _ := bundle(t)
	dns, err := signaldns.Start(signaldns.Options{Name: "_switchyard-signal.bundle.test", Records: []signaldns.Record{
		{Value: edge.SignalSentinel}, {Value: "writer us-west-2"}, {Value: "serving us-west-2"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dns.Close() })
	event := fmt.Sprintf(`{"Records":[{"cf":{"config":{"distributionDomainName":"d1.cloudfront.net","distributionId":"E1","eventType":"origin-request","requestId":"r"},`+
		`"request":{"clientIp":"203.0.113.1","headers":{"host":[{"key":"Host","value":"api.example.com"}]},"method":"POST","querystring":"","uri":"/todos",`+
		`"origin":{"custom":{"customHeaders":{"x-switchyard-region":[{"key":"X-Switchyard-Region","value":"us-east-1"}],`+
		`"x-switchyard-regions":[{"key":"X-Switchyard-Regions","value":"us-east-1=east.example.com,us-west-2=west.example.com"}],`+
		`"x-switchyard-signal-name":[{"key":"X-Switchyard-Signal-Name","value":"_switchyard-signal.bundle.test"}],`+
		`"x-switchyard-signal-resolver":[{"key":"X-Switchyard-Signal-Resolver","value":%q}]},`+
		`"domainName":"east.example.com","keepaliveTimeout":5,"path":"","port":443,"protocol":"https","readTimeout":30,"sslProtocols":["TLSv1.2"]}}}}}]}`, dns.Addr())
	path := filepath.Join(t.TempDir(), "signal.json")
	if err := os.WriteFile(path, []byte(event), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &edge.Handler{Signals: &edge.SignalCache{Lookup: dns.Lookup}}
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), []byte(event))
	if err != nil {
		t.Fatal(err)
	}
	want := decode(t, out)
	lines := drive(t, node, dir, "run", path)
	if len(lines) != 1 || !reflect.DeepEqual(lines[0]["answer"], want) {
		t.Fatalf("bundle answered %v\nnative answered %v", lines, want)
	}
	if o := want.(map[string]any)["origin"].(map[string]any)["custom"].(map[string]any); o["domainName"] != "west.example.com" {
		t.Errorf("the write went to %v, want west.example.com (the region the signal says writes)", o["domainName"])
	}
}
