package lambdahost_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLines decodes the host's JSON log lines with the given message.
func logLines(t *testing.T, logs string, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestLogsShowProcessesAndDurations(t *testing.T) {
	var logs, output syncBuffer
	h := startHost(t, lambdahost.Config{IdleTimeout: 200 * time.Millisecond,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), FunctionOutput: &output,
		Functions: []lambdahost.Function{echoFunction(), {Name: "initfail", Binary: bin("initfail")}}})
	for range 2 {
		if _, err := h.Invoke(context.Background(), "echo", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Invoke(context.Background(), "initfail", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the idle echo process to stop", func() bool { return len(h.PIDs()) == 0 })
	got := logs.String()

	starts := logLines(t, got, "process start")
	if len(starts) != 2 || starts[0]["function"] != "echo" || starts[0]["pid"] == nil {
		t.Errorf("process start lines = %v, want one per process (echo, initfail) with its pid", starts)
	}
	ready := logLines(t, got, "process ready")
	if len(ready) != 1 || !(ready[0]["initDurationMs"].(float64) > 0) {
		t.Errorf("process ready lines = %v, want one for echo with initDurationMs > 0", ready)
	}
	invokes := logLines(t, got, "invoke")
	if len(invokes) != 2 || invokes[0]["coldStart"] != true || invokes[1]["coldStart"] != false ||
		invokes[0]["durationMs"] == nil || invokes[0]["initDurationMs"] == nil {
		t.Errorf("invoke lines = %v, want a cold one with initDurationMs and a warm one, both with durationMs", invokes)
	}
	failed := logLines(t, got, "invoke failed")
	if len(failed) != 1 || failed[0]["errorType"] != "Runtime.ExitError" {
		t.Errorf("invoke failed lines = %v, want the init failure with its errorType", failed)
	}
	reasons := map[string]string{}
	for _, l := range logLines(t, got, "process stop") {
		reasons[l["function"].(string)] = l["reason"].(string) + " / " + l["exit"].(string)
	}
	if reasons["echo"] != "idle / signal: terminated" || reasons["initfail"] != "exited / exit status 3" {
		t.Errorf("process stop reasons = %v, want echo stopped when idle and initfail's own exit", reasons)
	}
	if !strings.Contains(output.String(), "[initfail#1] initfail: REQUIRED_SETTING is not set\n") {
		t.Errorf("function output %q lacks initfail's message labelled with its process", output.String())
	}
}
