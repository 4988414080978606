package lambdahost_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

type echoReply struct {
	Echo       any               `json:"echo"`
	PID        int               `json:"pid"`
	RequestID  string            `json:"requestId"`
	ARN        string            `json:"arn"`
	DeadlineMs int64             `json:"deadlineMs"`
	Env        map[string]string `json:"env"`
}

func echoFunction() lambdahost.Function {
	return lambdahost.Function{Name: "echo", Binary: bin("echo"), Timeout: 2 * time.Second, MemoryMB: 256,
		Concurrency: 4, Env: map[string]string{"APP_SETTING": "from-config"}, Aliases: []string{"live"}}
}

func invokeEcho(t *testing.T, h *lambdahost.Host, fn, payload string) echoReply {
	t.Helper()
	res, err := h.Invoke(context.Background(), fn, []byte(payload))
	if err != nil {
		t.Fatalf("Invoke(%s, %s): %v", fn, payload, err)
	}
	if res.FunctionError != nil {
		t.Fatalf("Invoke(%s, %s): function error %v", fn, payload, res.FunctionError)
	}
	var r echoReply
	if err := json.Unmarshal(res.Payload, &r); err != nil {
		t.Fatalf("decode %s: %v", res.Payload, err)
	}
	if r.RequestID != res.RequestID {
		t.Errorf("function saw request id %q, host reported %q", r.RequestID, res.RequestID)
	}
	return r
}

func TestInvokeRunsTheBinaryWithLambdaEnvironment(t *testing.T) {
	h := startHost(t, lambdahost.Config{Region: "eu-west-1", AccountID: "111122223333",
		Functions: []lambdahost.Function{echoFunction()}})
	before := time.Now()
	r := invokeEcho(t, h, "echo", `{"echo":{"n":1},"env":["AWS_LAMBDA_FUNCTION_NAME","AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
		"AWS_LAMBDA_FUNCTION_VERSION","AWS_REGION","AWS_DEFAULT_REGION","AWS_LAMBDA_RUNTIME_API","APP_SETTING","_HANDLER","HOME"]}`)

	if got, want := r.Echo, map[string]any{"n": float64(1)}; !equalJSON(got, want) {
		t.Errorf("echo = %v, want %v", got, want)
	}
	if want := "arn:aws:lambda:eu-west-1:111122223333:function:echo"; r.ARN != want {
		t.Errorf("invoked function ARN = %q, want %q", r.ARN, want)
	}
	deadline := time.UnixMilli(r.DeadlineMs)
	if deadline.Before(before.Add(time.Second)) || deadline.After(time.Now().Add(2*time.Second)) {
		t.Errorf("deadline %v is not about 2s (the timeout) after the invocation began at %v", deadline, before)
	}
	for k, want := range map[string]string{
		"AWS_LAMBDA_FUNCTION_NAME":        "echo",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "eu-west-1",
		"AWS_DEFAULT_REGION":              "eu-west-1",
		"APP_SETTING":                     "from-config",
		"_HANDLER":                        "bootstrap",
		"HOME":                            "", // the host's own environment does not leak in
	} {
		if got := r.Env[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if api := r.Env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a 127.0.0.1 address", api)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestWarmProcessIsReusedThenStoppedWhenIdle(t *testing.T) {
	h := startHost(t, lambdahost.Config{IdleTimeout: 300 * time.Millisecond, Functions: []lambdahost.Function{echoFunction()}})
	first, err := h.Invoke(context.Background(), "echo", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	second, err := h.Invoke(context.Background(), "echo", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if !first.ColdStart || first.InitDuration <= 0 {
		t.Errorf("first invocation: ColdStart=%v InitDuration=%v, want a cold start with its init duration", first.ColdStart, first.InitDuration)
	}
	if second.ColdStart {
		t.Errorf("second invocation was a cold start, want the warm process reused")
	}
	pids := h.PIDs()
	if len(pids) != 1 {
		t.Fatalf("processes after two sequential invocations = %v, want exactly one", pids)
	}
	if got := h.FunctionPIDs("echo"); !slices.Equal(got, pids) {
		t.Errorf("FunctionPIDs(echo) = %v, want %v", got, pids)
	}
	if got := h.FunctionPIDs("nope"); len(got) != 0 {
		t.Errorf("FunctionPIDs of a function the host does not run = %v, want none", got)
	}
	waitFor(t, 5*time.Second, "the idle process to stop", func() bool { return len(h.PIDs()) == 0 })
	assertGone(t, pids)
}

// waitFor polls cond: used only for events the host triggers by itself (idle stop), never for speed.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("gave up after %v waiting for %s", limit, what)
		}
	}
}

// assertGone checks each pid no longer names a process (reaped, not a zombie).
func assertGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still exists after the host stopped it (kill -0: %v)", pid, err)
		}
	}
}

func TestFunctionFailuresAreReportedAndTheHostKeepsServing(t *testing.T) {
	echo := echoFunction()
	// Long enough for a 7 MB response under the race detector on a loaded 2-core machine.
	echo.Timeout = 2 * time.Second
	stuck := echoFunction()
	stuck.Name, stuck.Env = "stuck", map[string]string{"INIT_SLEEP": "1m"}
	h := startHost(t, lambdahost.Config{InitTimeout: 300 * time.Millisecond, Functions: []lambdahost.Function{echo, stuck,
		{Name: "initfail", Binary: bin("initfail")}, {Name: "initerror", Binary: bin("initerror")}}})

	tests := []struct {
		name, function, payload string
		wantType, wantMessage   string
	}{
		{"named error type", "echo", `{"fail":"replica behind"}`, "StaleReadError", "stale read: replica behind"},
		{"panic", "echo", `{"panic":"nil map"}`, "string", "nil map"},
		{"timeout", "echo", `{"sleep":"10s"}`, "Sandbox.Timedout", "Task timed out after 2.00 seconds"},
		{"crash", "echo", `{"exit":7}`, "Runtime.ExitError", "Runtime exited with error: exit status 7"},
		{"response over 6 MB", "echo", `{"big":7000000}`, "Function.ResponseSizeTooLarge", "exceeded maximum allowed payload size"},
		{"init failure", "initfail", `{}`, "Runtime.ExitError", "Runtime exited during init with error: exit status 3"},
		{"init error posted to /init/error", "initerror", `{}`, "ConfigError", "TABLE_NAME is not set"},
		{"init timeout", "stuck", `{}`, "Sandbox.Timedout", "init did not finish within 300ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var res *lambdahost.Result
			var err error
			go func() {
				defer close(done)
				res, err = h.Invoke(context.Background(), tt.function, []byte(tt.payload))
			}()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Fatal("the invocation hung")
			}
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if res.FunctionError == nil {
				t.Fatalf("no function error; payload %s", res.Payload)
			}
			if res.FunctionError.Type != tt.wantType || !strings.Contains(res.FunctionError.Message, tt.wantMessage) {
				t.Errorf("error = %v, want type %s with message containing %q", res.FunctionError, tt.wantType, tt.wantMessage)
			}
			var doc lambdahost.FunctionError
			if err := json.Unmarshal(res.Payload, &doc); err != nil || doc.Type != tt.wantType || doc.Message == "" {
				t.Errorf("error document %s: want {errorMessage, errorType: %s} (decode error %v)", res.Payload, tt.wantType, err)
			}
			if tt.function == "echo" {
				invokeEcho(t, h, "echo", `{"echo":"still serving"}`)
			}
		})
	}
}

func TestInvokeErrorsBeforeTheFunctionRuns(t *testing.T) {
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.Function{echoFunction()}})
	var nf *lambdahost.NotFoundError
	for _, fn := range []string{"nosuch", "arn:aws:lambda:eu-north-1:123456789012:function:echo", "arn:aws:sqs:us-east-1:123456789012:echo"} {
		if _, err := h.Invoke(context.Background(), fn, nil); !errors.As(err, &nf) {
			t.Errorf("Invoke(%s) = %v, want a NotFoundError", fn, err)
		}
	}
	if _, err := h.Invoke(context.Background(), "echo", []byte("{nope")); !errors.Is(err, lambdahost.ErrInvalidPayload) {
		t.Errorf("Invoke with a non-JSON event = %v, want ErrInvalidPayload", err)
	}
	if _, err := h.Invoke(context.Background(), "echo", make([]byte, lambdahost.MaxPayload+1)); !errors.Is(err, lambdahost.ErrPayloadTooLarge) {
		t.Errorf("Invoke with a 6 MB+1 event = %v, want ErrPayloadTooLarge", err)
	}
	if len(h.PIDs()) != 0 {
		t.Errorf("processes %v were started for invocations that cannot run", h.PIDs())
	}
}

func TestTimedOutProcessIsKilled(t *testing.T) {
	echo := echoFunction()
	echo.Timeout = 300 * time.Millisecond
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.Function{echo}})
	pid := invokeEcho(t, h, "echo", `{}`).PID
	res, err := h.Invoke(context.Background(), "echo", []byte(`{"sleep":"30s"}`))
	if err != nil || res.FunctionError == nil || res.FunctionError.Type != "Sandbox.Timedout" {
		t.Fatalf("Invoke = %+v, %v; want a Sandbox.Timedout function error", res, err)
	}
	assertGone(t, []int{pid})
	if next := invokeEcho(t, h, "echo", `{}`).PID; next == pid {
		t.Errorf("the next invocation ran in the timed-out process %d", pid)
	}
}

func TestParallelRequestsStayWithinConcurrency(t *testing.T) {
	const requests, concurrency = 50, 3
	echo := echoFunction()
	echo.Concurrency = concurrency
	echo.Timeout = 10 * time.Second
	h := startHost(t, lambdahost.Config{Functions: []lambdahost.Function{echo}})
	url := h.InvokeURL() + "/2015-03-31/functions/echo/invocations"

	var mu sync.Mutex
	pids := map[int]int{}
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"sleep":"20ms","echo":`+strconv.Itoa(i)+`}`))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			var r echoReply
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || r.Echo != float64(i) {
				t.Errorf("request %d: status %d, echo %v (%v)", i, resp.StatusCode, r.Echo, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			pids[r.PID]++
			if n := len(h.PIDs()); n > concurrency {
				t.Errorf("%d processes running, configured concurrency is %d", n, concurrency)
			}
		})
	}
	wg.Wait()
	served := 0
	for _, n := range pids {
		served += n
	}
	if served != requests || len(pids) > concurrency {
		t.Errorf("%d requests served by %d processes %v; want %d served by at most %d", served, len(pids), pids, requests, concurrency)
	}
}

func TestCloseLeavesNoChildProcess(t *testing.T) {
	echo := echoFunction()
	h, err := lambdahost.New(lambdahost.Config{Functions: []lambdahost.Function{echo},
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)), FunctionOutput: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range echo.Concurrency {
		wg.Go(func() { h.Invoke(context.Background(), "echo", []byte(`{"sleep":"100ms"}`)) })
	}
	wg.Wait()
	pids := h.PIDs()
	if len(pids) < 2 {
		t.Fatalf("processes before Close = %v, want several", pids)
	}
	// An invocation in flight (or still queued) when Close is called must end, not hang.
	busy := make(chan error, 1)
	go func() {
		_, err := h.Invoke(context.Background(), "echo", []byte(`{"sleep":"5s"}`))
		busy <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := h.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-busy:
		if !errors.Is(err, lambdahost.ErrHostClosed) {
			t.Errorf("invocation in flight at Close returned %v, want ErrHostClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("invocation in flight at Close still hangs")
	}
	assertGone(t, pids)
	if left := h.PIDs(); len(left) != 0 {
		t.Errorf("PIDs after Close = %v, want none", left)
	}
	if _, err := h.Invoke(context.Background(), "echo", nil); !errors.Is(err, lambdahost.ErrHostClosed) {
		t.Errorf("Invoke after Close = %v, want ErrHostClosed", err)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	nonExec := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(nonExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		fns  []lambdahost.Function
		want string
	}{
		{"no functions", nil, "no functions"},
		{"missing binary", []lambdahost.Function{{Name: "x", Binary: "/nonexistent/bootstrap"}}, "make build-local"},
		{"not executable", []lambdahost.Function{{Name: "x", Binary: nonExec}}, "not an executable"},
		{"reserved variable", []lambdahost.Function{{Name: "x", Binary: bin("echo"), Env: map[string]string{"AWS_REGION": "x"}}}, "AWS_REGION is reserved"},
		{"bad name", []lambdahost.Function{{Name: "a b", Binary: bin("echo")}}, "function name"},
		{"duplicate function", []lambdahost.Function{{Name: "x", Binary: bin("echo")}, {Name: "x", Binary: bin("echo")}}, "configured twice"},
		{"duplicate route", []lambdahost.Function{
			{Name: "x", Binary: bin("echo"), Routes: []lambdahost.Route{{Method: "GET", Path: "/a"}}},
			{Name: "y", Binary: bin("echo"), Routes: []lambdahost.Route{{Method: "get", Path: "/a"}}}}, "claimed by both"},
		{"greedy not last", []lambdahost.Function{{Name: "x", Binary: bin("echo"), Routes: []lambdahost.Route{{Method: "GET", Path: "/{p+}/a"}}}}, "greedy"},
		{"bad method", []lambdahost.Function{{Name: "x", Binary: bin("echo"), Routes: []lambdahost.Route{{Method: "FETCH", Path: "/a"}}}}, "method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lambdahost.New(lambdahost.Config{Functions: tt.fns})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
