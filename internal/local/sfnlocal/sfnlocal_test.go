package sfnlocal_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/sfnlocal"
)

const (
	flakyARN = "arn:aws:lambda:us-west-2:123456789012:function:flaky"
	boomARN  = "arn:aws:lambda:us-west-2:123456789012:function:boom"
)

// requireNode fails under CI and skips elsewhere when Node.js 22 or the npm packages are missing.
func requireNode(t testing.TB) {
	t.Helper()
	_, err := devtools.Node()
	if err == nil {
		_, err = devtools.NodeModule("aws-local-stepfunctions/build/main.node.esm.js")
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skipf("%v (set CI=1 to make this a failure)", err)
	}
}

// invokeAPI is a stand-in of Lambda's Invoke API serving canned results: flaky fails once with
// FlakyError, then echoes its input; boom always fails with BoomError.
type invokeAPI struct {
	mu    sync.Mutex
	calls map[string]int
}

func (a *invokeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.EscapedPath(), prefix) || !strings.HasSuffix(r.URL.EscapedPath(), suffix) {
		http.Error(w, "unexpected request "+r.Method+" "+r.URL.String(), http.StatusNotFound)
		return
	}
	fn, err := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), prefix), suffix))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	a.calls[fn]++
	n := a.calls[fn]
	a.mu.Unlock()
	fail := func(errorType, msg string) {
		w.Header().Set("X-Amz-Function-Error", "Unhandled")
		_ = json.NewEncoder(w).Encode(map[string]string{"errorType": errorType, "errorMessage": msg})
	}
	switch {
	case fn == flakyARN && n == 1:
		fail("FlakyError", "first call fails")
	case fn == flakyARN:
		var in map[string]any
		_ = json.Unmarshal(body, &in)
		in["flakyCalls"] = n
		_ = json.NewEncoder(w).Encode(in)
	case fn == boomARN:
		fail("BoomError", "boom always fails")
	default:
		http.Error(w, "no function "+fn, http.StatusNotFound)
	}
}

func machine(t *testing.T, endpoint string) *sfnlocal.Machine {
	t.Helper()
	def, err := sfnlocal.Load("testdata/retry-catch.asl.json", map[string]string{"FlakyFunctionArn": flakyARN, "BoomFunctionArn": boomARN})
	if err != nil {
		t.Fatal(err)
	}
	return &sfnlocal.Machine{Definition: def, LambdaEndpoint: endpoint, Region: "us-west-2",
		WaitOverrides: map[string]time.Duration{"Pause": 0}, RetryOverrides: map[string]time.Duration{"Flaky": 0}}
}

func TestRunRetryCatchAndContext(t *testing.T) {
	requireNode(t)
	api := &invokeAPI{calls: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	start := time.Now()
	res, err := machine(t, srv.URL).Run(ctx, sfnlocal.Execution{ARN: "arn:aws:states:us-west-2:123456789012:execution:m:e1", Name: "e1"}, json.RawMessage(`{"n":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() {
		t.Fatalf("got failure %s: %s, want success", res.Error, res.Cause)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("run took %s: the Wait and Retry overrides were not applied", time.Since(start))
	}
	var out struct {
		Input struct {
			N          int `json:"n"`
			FlakyCalls int `json:"flakyCalls"`
			Error      struct{ Error, Cause string }
		} `json:"input"`
		Execution string `json:"execution"`
	}
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatalf("output %s: %v", res.Output, err)
	}
	if out.Input.N != 1 || out.Input.FlakyCalls != 2 {
		t.Errorf("output: got %s, want the input carried through and flaky called twice", res.Output)
	}
	if out.Input.Error.Error != "BoomError" || !strings.Contains(out.Input.Error.Cause, "boom always fails") {
		t.Errorf("caught error: got %+v, want BoomError with its message", out.Input.Error)
	}
	if out.Execution != "arn:aws:states:us-west-2:123456789012:execution:m:e1" {
		t.Errorf("$$.Execution.Id: got %q", out.Execution)
	}
	if got, want := strings.Join(res.Entered(), ","), "Flaky,Pause,Boom,Caught,Done"; got != want {
		t.Errorf("states entered: got %s, want %s", got, want)
	}
	retried := false
	for _, e := range res.Events {
		retried = retried || (e.Type == "StateRetried" && e.State == "Flaky")
	}
	if !retried {
		t.Error("events: no StateRetried for Flaky")
	}
}

func TestRunFailure(t *testing.T) {
	requireNode(t)
	srv := httptest.NewServer(&invokeAPI{calls: map[string]int{}})
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := machine(t, srv.URL).Run(ctx, sfnlocal.Execution{ARN: "arn:aws:states:us-west-2:123456789012:execution:m:e2", Name: "e2"}, json.RawMessage(`{"failHard":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != "BoomError" || !strings.Contains(res.Cause, "boom always fails") {
		t.Errorf("got error %q cause %q, want BoomError from the Fail state's paths", res.Error, res.Cause)
	}
}

func TestLoadNamesMissingSubstitutions(t *testing.T) {
	_, err := sfnlocal.Load("testdata/retry-catch.asl.json", map[string]string{"FlakyFunctionArn": flakyARN})
	if err == nil || !strings.Contains(err.Error(), "no substitution for BoomFunctionArn") {
		t.Fatalf("got %v, want an error naming BoomFunctionArn", err)
	}
}

func TestFailoverDefinitionLoads(t *testing.T) {
	subs := map[string]string{}
	for _, fn := range []string{"Preflight", "Promote", "Await", "Traffic", "Verify", "Notify"} {
		subs["Failover"+fn+"FunctionArn"] = "arn:aws:lambda:us-west-2:123456789012:function:failover-" + strings.ToLower(fn)
	}
	def, err := sfnlocal.Load("../../../statemachine/failover.asl.json", subs)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(def), "${") {
		t.Error("a placeholder survived the substitution")
	}
}

// TestLambdaErrorsAreNamedAsStepFunctionsNamesThem: a Task whose Lambda call fails carries the
// error name Step Functions gives it — Lambda.<Exception> when Lambda answered with an error,
// Lambda.SdkClientException when it could not be reached — so a definition's Retry on
// Lambda.ServiceException matches locally as it does in AWS.
func TestLambdaErrorsAreNamedAsStepFunctionsNamesThem(t *testing.T) {
	requireNode(t)
	lambdaAPI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(r.URL.Path, "unavailable"):
			w.Header().Set("X-Amzn-ErrorType", "ServiceException")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"Type":"Service","message":"the Lambda service is unavailable"}`)
		default:
			w.Header().Set("X-Amzn-ErrorType", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"Type":"User","message":"Function not found"}`)
		}
	}))
	defer lambdaAPI.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nothing listens there any more
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range []struct{ function, endpoint, want string }{
		{"unavailable", lambdaAPI.URL, "Lambda.ServiceException"},
		{"missing", lambdaAPI.URL, "Lambda.ResourceNotFoundException"},
		{"unreachable", closed.URL, "Lambda.SdkClientException"},
	} {
		t.Run(tc.function, func(t *testing.T) {
			def := json.RawMessage(`{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:lambda:us-west-2:123456789012:function:` + tc.function + `","End":true}}}`)
			m := &sfnlocal.Machine{Definition: def, LambdaEndpoint: tc.endpoint, Region: "us-west-2"}
			res, err := m.Run(ctx, sfnlocal.Execution{ARN: "arn:aws:states:us-west-2:123456789012:execution:m:" + tc.function, Name: tc.function}, json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != tc.want {
				t.Errorf("error %q (cause %q), want %s", res.Error, res.Cause, tc.want)
			}
		})
	}
}

// RunWithEvents hands over each state as it is entered, so a run stopped midway (a runner killed,
// StopExecution) still tells how far it got.
func TestRunWithEventsKeepsWhatHappenedBeforeAStop(t *testing.T) {
	requireNode(t)
	def := json.RawMessage(`{"StartAt":"First","States":{"First":{"Type":"Pass","Next":"Hold"},"Hold":{"Type":"Wait","Seconds":60,"Next":"Never"},"Never":{"Type":"Succeed"}}}`)
	m := &sfnlocal.Machine{Definition: def, Region: "us-west-2"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var seen []string
	res, err := m.RunWithEvents(ctx, sfnlocal.Execution{ARN: "arn:aws:states:us-west-2:123456789012:execution:m:stopped", Name: "stopped"}, json.RawMessage(`{}`),
		func(ev sfnlocal.Event) {
			if ev.Type == "StateEntered" {
				seen = append(seen, ev.State)
				if ev.State == "Hold" {
					cancel() // stopped while it waits
				}
			}
		})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("a stopped run: error %v, want the context's", err)
	}
	if got := strings.Join(seen, ","); got != "First,Hold" {
		t.Errorf("states handed over: %s, want First,Hold", got)
	}
	if got := strings.Join(res.Entered(), ","); got != "First,Hold" {
		t.Errorf("states in the partial result: %s, want First,Hold", got)
	}
}
