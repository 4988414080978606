package failover_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// runFixture decodes one of the notify step's fixtures, for a test to change before invoking.
func runFixture(t *testing.T, name string) failover.Run {
	t.Helper()
	var run failover.Run
	if err := json.Unmarshal(fixture(t, "failover-notify", name), &run); err != nil {
		t.Fatal(err)
	}
	return run
}

// The notify step refuses runs its state machine cannot produce (TestNotifyRefusesForgedRuns), but
// everything the state machine can produce reaches the operators: values at each limit are
// published, one past it refused.
func TestNotifyPublishesEveryRunUpToTheLimits(t *testing.T) {
	activated := func(change func(*failover.Run)) func() failover.Run {
		return func() failover.Run { r := runFixture(t, "activated.json"); change(&r); return r }
	}
	failed := func(errorName string) func() failover.Run {
		return func() failover.Run {
			r := runFixture(t, "failed-promotion-timeout.json")
			r.Error.Error = errorName
			return r
		}
	}
	tests := []struct {
		name    string
		run     func() failover.Run
		publish bool
	}{
		// Step Functions execution names are at most 80 characters.
		{"an incident of 80 characters", activated(func(r *failover.Run) { r.Incident = strings.Repeat("i", 80) }), true},
		{"an incident of 81 characters", activated(func(r *failover.Run) { r.Incident = strings.Repeat("i", 81) }), false},
		{"a reason of 1024 bytes", activated(func(r *failover.Run) { r.Reason = strings.Repeat("r", 1024) }), true},
		{"a reason of 1025 bytes", activated(func(r *failover.Run) { r.Reason = strings.Repeat("r", 1025) }), false},
		{"a decision's reason of 1024 bytes", activated(func(r *failover.Run) { r.Decision.Reason = strings.Repeat("d", 1024) }), true},
		{"a decision's reason of 1025 bytes", activated(func(r *failover.Run) { r.Decision.Reason = strings.Repeat("d", 1025) }), false},
		// A step that takes less than a millisecond records 0 ms.
		{"a phase of 0 ms", activated(func(r *failover.Run) { r.Phases[3].DurationMs = 0 }), true},
		{"a phase of -1 ms", activated(func(r *failover.Run) { r.Phases[3].DurationMs = -1 }), false},
		// -1 is how a decision records an unknown lag and so an unknown data loss.
		{"a failover decided with the lag unknown", activated(func(r *failover.Run) {
			r.Decision.Action, r.Decision.LagMs, r.Decision.EstimatedDataLossMs = failover.ActionFailover, -1, -1
		}), true},
		{"a lag of -2 ms", activated(func(r *failover.Run) { r.Decision.LagMs = -2 }), false},
		{"a data loss of -2 ms", activated(func(r *failover.Run) { r.Decision.EstimatedDataLossMs = -2 }), false},
		{"a run without its execution", activated(func(r *failover.Run) { r.Execution = nil }), false},
		// The errors Step Functions and Lambda raise themselves, which a Catch rule records too.
		{"caught States.Timeout", failed("States.Timeout"), true},
		{"caught Lambda.ServiceException", failed("Lambda.ServiceException"), true},
		{"a service error name of 100 characters", failed("States." + strings.Repeat("x", 93)), true},
		{"a service error name of 101 characters", failed("States." + strings.Repeat("x", 94)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &fakeNotifier{}
			s := &failover.Notify{Notifier: n, Region: "us-west-2", Now: func() time.Time { return time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC) }}
			payload, err := json.Marshal(tt.run())
			if err != nil {
				t.Fatal(err)
			}
			_, err = invoke(t, s.Handle, payload)
			if tt.publish {
				wantErrorType(t, err, "")
				if len(n.sent) != 1 {
					t.Errorf("published %d notices, want 1", len(n.sent))
				}
				return
			}
			wantErrorType(t, err, "InvalidInputError")
			if len(n.sent) != 0 {
				t.Errorf("published %d notices, want none", len(n.sent))
			}
		})
	}
}

// The refusal names the execution that is not this region's, so an operator can find who sent it.
func TestNotifyRefusalNamesTheForeignExecution(t *testing.T) {
	run := runFixture(t, "activated.json")
	run.Execution.ARN = "arn:aws:states:us-east-1:111122223333:execution:switchyard-failover:x"
	s := &failover.Notify{Notifier: &fakeNotifier{}, Region: "us-west-2"}
	_, err := s.Handle(context.Background(), run)
	var invalid *failover.InvalidInputError
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), run.Execution.ARN) {
		t.Fatalf("got %v, want an InvalidInputError naming %s", err, run.Execution.ARN)
	}
}

// A notice SNS did not take fails the step with the adapter's error kind, so the state machine's
// Retry publishes it again rather than the run ending as if the operators had been told.
func TestNotifyFailsWhenThePublishFails(t *testing.T) {
	n := &failingNotifier{err: &failover.TransientError{Op: "sns Publish", Err: errors.New("connection reset")}}
	s := &failover.Notify{Notifier: n, Region: "us-west-2"}
	_, err := s.Handle(context.Background(), runFixture(t, "activated.json"))
	var transient *failover.TransientError
	if !errors.As(err, &transient) {
		t.Fatalf("got %v (%T), want a *failover.TransientError", err, err)
	}
	if n.calls != 1 {
		t.Errorf("publish attempts: got %d, want 1", n.calls)
	}
}

type failingNotifier struct {
	err   error
	calls int
}

func (f *failingNotifier) Notify(context.Context, string, string) error {
	f.calls++
	return f.err
}
