package failover_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// TestLoggedOneLinePerInvocation: the trigger (like every step and the prober) logs one line per
// invocation with its outcome and duration, its result's fields on success and the error type
// Step Functions matches on failure.
func TestLoggedOneLinePerInvocation(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	tests := []struct {
		name    string
		payload []byte
		want    map[string]any
	}{
		{"started", fixture(t, "failover-trigger", "sns-alarm.json"), map[string]any{"level": "INFO", "step": "trigger", "outcome": "ok",
			"source": "sns", "started": true, "executionName": "activate-us-west-2-20261121T054012345Z", "reason": "started activate-us-west-2-20261121T054012345Z"}},
		{"refused input", fixture(t, "failover-trigger", "malformed-manual-action.json"), map[string]any{"level": "ERROR", "step": "trigger",
			"outcome": "error", "errorType": "InvalidInputError"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := failover.Logged(slog.New(slog.NewJSONHandler(&logs, nil)), "trigger", newTrigger(&fakeExecutions{}, now).Handle)
			_, _ = h(context.Background(), tt.payload)
			lines := bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n"))
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1:\n%s", len(lines), logs.String())
			}
			var got map[string]any
			if err := json.Unmarshal(lines[0], &got); err != nil {
				t.Fatal(err)
			}
			if _, ok := got["durationMs"].(float64); !ok {
				t.Errorf("no durationMs in %s", lines[0])
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: got %v, want %v (line %s)", k, got[k], v, lines[0])
				}
			}
			if tt.want["outcome"] == "error" && got["started"] != nil {
				t.Errorf("a failed invocation logs result fields: %s", lines[0])
			}
		})
	}
}
