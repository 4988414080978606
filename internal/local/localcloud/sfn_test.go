package localcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// gatedRunner runs executions that finish only when the test releases them.
type gatedRunner struct {
	release chan struct{}
}

func (g gatedRunner) run(ctx context.Context, _, _, input string) (string, error) {
	select {
	case <-g.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	switch input {
	case `{"fail":true}`:
		return "", &localcloud.ExecutionFailure{Name: "PromotionFailed", Cause: "replica lag too high"}
	case `{"crash":true}`:
		return "", errors.New("runner crashed")
	}
	return `{"promoted":"us-west-2"}`, nil
}

func sfnSetup(t *testing.T) (*localcloud.Server, *sfn.Client, string, gatedRunner) {
	t.Helper()
	s := start(t, localcloud.Options{})
	g := gatedRunner{release: make(chan struct{})}
	arn := s.StateMachineARN(west, "failover")
	s.AddStateMachine(arn, g.run)
	return s, sfn.NewFromConfig(s.Config(west), func(o *sfn.Options) { o.RetryMaxAttempts = 1 }), arn, g
}

func startExec(t *testing.T, c *sfn.Client, sm, name, input string) (*sfn.StartExecutionOutput, error) {
	t.Helper()
	return c.StartExecution(ctx(t), &sfn.StartExecutionInput{StateMachineArn: aws.String(sm), Name: aws.String(name), Input: aws.String(input)})
}

func TestStartExecutionIdempotency(t *testing.T) {
	s, c, sm, g := sfnSetup(t)
	first, err := startExec(t, c, sm, "incident-1", `{"a":1}`)
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	again, err := startExec(t, c, sm, "incident-1", `{"a":1}`)
	if err != nil {
		t.Fatalf("same name and input while running: %v, want success", err)
	}
	if aws.ToString(again.ExecutionArn) != aws.ToString(first.ExecutionArn) || !again.StartDate.Equal(*first.StartDate) {
		t.Errorf("repeat returned %s at %v, want %s at %v", aws.ToString(again.ExecutionArn), again.StartDate, aws.ToString(first.ExecutionArn), first.StartDate)
	}
	_, err = startExec(t, c, sm, "incident-1", `{"a":2}`)
	var exists *sfntypes.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("same name, different input: error %T %v, want *ExecutionAlreadyExists", err, err)
	}

	close(g.release)
	if st, err := s.WaitExecution(ctx(t), aws.ToString(first.ExecutionArn)); err != nil || st != localcloud.ExecutionSucceeded {
		t.Fatalf("execution ended %q, %v; want SUCCEEDED", st, err)
	}
	_, err = startExec(t, c, sm, "incident-1", `{"a":1}`)
	if !errors.As(err, &exists) {
		t.Fatalf("same name and input after it closed: error %T %v, want *ExecutionAlreadyExists", err, err)
	}
}

func TestExecutionOutcomes(t *testing.T) {
	s, c, sm, g := sfnSetup(t)
	close(g.release)
	tests := []struct {
		name, input          string
		wantStatus           sfntypes.ExecutionStatus
		wantOutput           string
		wantError, wantCause string
	}{
		{"succeeds", `{}`, sfntypes.ExecutionStatusSucceeded, `{"promoted":"us-west-2"}`, "", ""},
		{"named failure", `{"fail":true}`, sfntypes.ExecutionStatusFailed, "", "PromotionFailed", "replica lag too high"},
		{"other error", `{"crash":true}`, sfntypes.ExecutionStatusFailed, "", "States.Runtime", "runner crashed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := startExec(t, c, sm, "run-"+tt.wantError+"x", tt.input)
			if err != nil {
				t.Fatalf("StartExecution: %v", err)
			}
			if _, err := s.WaitExecution(ctx(t), aws.ToString(out.ExecutionArn)); err != nil {
				t.Fatal(err)
			}
			d, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: out.ExecutionArn})
			if err != nil {
				t.Fatalf("DescribeExecution: %v", err)
			}
			if d.Status != tt.wantStatus || aws.ToString(d.Output) != tt.wantOutput || aws.ToString(d.Error) != tt.wantError || aws.ToString(d.Cause) != tt.wantCause {
				t.Errorf("got %s output %q error %q cause %q; want %s %q %q %q", d.Status, aws.ToString(d.Output), aws.ToString(d.Error), aws.ToString(d.Cause),
					tt.wantStatus, tt.wantOutput, tt.wantError, tt.wantCause)
			}
			if aws.ToString(d.Input) != tt.input || d.StopDate == nil || aws.ToString(d.StateMachineArn) != sm {
				t.Errorf("input %q stopDate %v stateMachine %s; want %q, set, %s", aws.ToString(d.Input), d.StopDate, aws.ToString(d.StateMachineArn), tt.input, sm)
			}
		})
	}
}

func TestListExecutions(t *testing.T) {
	s, c, sm, g := sfnSetup(t)
	done, err := startExec(t, c, sm, "first", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if _, err := s.WaitExecution(ctx(t), aws.ToString(done.ExecutionArn)); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan struct{})
	t.Cleanup(func() { close(blocked) })
	running := s.StateMachineARN(west, "blocked")
	s.AddStateMachine(running, func(ctx context.Context, _, _, _ string) (string, error) {
		select {
		case <-blocked:
		case <-ctx.Done():
		}
		return "{}", nil
	})
	if _, err := startExec(t, c, running, "second", `{}`); err != nil {
		t.Fatal(err)
	}
	if _, err := startExec(t, c, sm, "third", `{}`); err != nil {
		t.Fatal(err)
	}

	all, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm)})
	if err != nil {
		t.Fatalf("ListExecutions: %v", err)
	}
	if len(all.Executions) != 2 || aws.ToString(all.Executions[0].Name) != "third" || aws.ToString(all.Executions[1].Name) != "first" {
		t.Errorf("executions = %v, want third then first", names(all.Executions))
	}
	runningOnly, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(running), StatusFilter: sfntypes.ExecutionStatusRunning})
	if err != nil {
		t.Fatalf("ListExecutions RUNNING: %v", err)
	}
	if got := names(runningOnly.Executions); len(got) != 1 || got[0] != "second" {
		t.Errorf("RUNNING executions = %v, want [second]", got)
	}
	page, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 1})
	if err != nil || len(page.Executions) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %d executions, next %v, %v; want 1 with a token", len(page.Executions), page.NextToken, err)
	}
	next, err := c.ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(sm), MaxResults: 1, NextToken: page.NextToken})
	if err != nil || len(next.Executions) != 1 || aws.ToString(next.Executions[0].Name) != "first" || next.NextToken != nil {
		t.Errorf("second page = %v, next %v, %v; want [first] and no token", names(next.Executions), next.NextToken, err)
	}
}

func names(es []sfntypes.ExecutionListItem) []string {
	var out []string
	for _, e := range es {
		out = append(out, aws.ToString(e.Name))
	}
	return out
}

func TestStepFunctionsErrors(t *testing.T) {
	s, c, sm, _ := sfnSetup(t)
	_, err := startExec(t, c, s.StateMachineARN(west, "missing"), "x", `{}`)
	var dne *sfntypes.StateMachineDoesNotExist
	if !errors.As(err, &dne) {
		t.Errorf("unknown state machine: %T %v, want *StateMachineDoesNotExist", err, err)
	}
	_, err = startExec(t, sfn.NewFromConfig(s.Config(east), func(o *sfn.Options) { o.RetryMaxAttempts = 1 }), sm, "x", `{}`)
	if !errors.As(err, &dne) {
		t.Errorf("state machine of another region: %T %v, want *StateMachineDoesNotExist", err, err)
	}
	_, err = startExec(t, c, sm, "x", `{not json`)
	var bad *sfntypes.InvalidExecutionInput
	if !errors.As(err, &bad) {
		t.Errorf("invalid input: %T %v, want *InvalidExecutionInput", err, err)
	}
	_, err = c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-west-2:123456789012:execution:failover:nope")})
	var nx *sfntypes.ExecutionDoesNotExist
	if !errors.As(err, &nx) {
		t.Errorf("unknown execution: %T %v, want *ExecutionDoesNotExist", err, err)
	}
}

func TestStepFunctionsThrottleRetried(t *testing.T) {
	s, _, sm, g := sfnSetup(t)
	close(g.release)
	s.ThrottleNext("states:StartExecution", 2)
	c := sfn.NewFromConfig(s.Config(west), func(o *sfn.Options) { o.Retryer = instantRetries() })
	if _, err := startExec(t, c, sm, "throttled", `{}`); err != nil {
		t.Fatalf("StartExecution after 2 throttles: %v", err)
	}
	if got := s.Calls("states:StartExecution"); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
}

func TestCloseAbortsRunningExecutions(t *testing.T) {
	s, c, sm, _ := sfnSetup(t)
	out, err := startExec(t, c, sm, "left-running", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, err := s.WaitExecution(context.Background(), aws.ToString(out.ExecutionArn)); err != nil || st != localcloud.ExecutionAborted {
		t.Errorf("after Close: %q, %v; want ABORTED", st, err)
	}
}

// TestStopExecution: a running execution ends ABORTED with the error and cause given, its runner's
// context ends, and the history says so; a finished execution is left as it was; bad requests get
// Step Functions' errors.
func TestStopExecution(t *testing.T) {
	s, c, sm, g := sfnSetup(t)
	out, err := startExec(t, c, sm, "to-stop", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	arn := out.ExecutionArn
	stopped, err := c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: arn, Error: aws.String("Drill.Killed"), Cause: aws.String("runner killed")})
	if err != nil {
		t.Fatalf("StopExecution: %v", err)
	}
	if st, err := s.WaitExecution(ctx(t), aws.ToString(arn)); err != nil || st != localcloud.ExecutionAborted {
		t.Fatalf("after StopExecution: %q, %v; want ABORTED", st, err)
	}
	d, err := c.DescribeExecution(ctx(t), &sfn.DescribeExecutionInput{ExecutionArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != sfntypes.ExecutionStatusAborted || aws.ToString(d.Error) != "Drill.Killed" || aws.ToString(d.Cause) != "runner killed" || !d.StopDate.Equal(*stopped.StopDate) {
		t.Errorf("described: %s %q %q stop %v; want ABORTED Drill.Killed \"runner killed\" at %v", d.Status, aws.ToString(d.Error), aws.ToString(d.Cause), d.StopDate, stopped.StopDate)
	}
	h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	last := h.Events[len(h.Events)-1]
	if last.Type != sfntypes.HistoryEventTypeExecutionAborted || last.ExecutionAbortedEventDetails == nil || aws.ToString(last.ExecutionAbortedEventDetails.Error) != "Drill.Killed" {
		t.Errorf("last history event: %s %+v, want ExecutionAborted with error Drill.Killed", last.Type, last.ExecutionAbortedEventDetails)
	}

	close(g.release)
	done, err := startExec(t, c, sm, "finished", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := s.WaitExecution(ctx(t), aws.ToString(done.ExecutionArn)); st != localcloud.ExecutionSucceeded {
		t.Fatalf("setup: %s, want SUCCEEDED", st)
	}
	if _, err := c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: done.ExecutionArn}); err != nil {
		t.Errorf("StopExecution of a finished execution: %v, want no error", err)
	}
	if st, _ := s.WaitExecution(ctx(t), aws.ToString(done.ExecutionArn)); st != localcloud.ExecutionSucceeded {
		t.Errorf("a finished execution stopped: %s, want SUCCEEDED still", st)
	}

	_, err = c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: aws.String("arn:aws:states:us-west-2:123456789012:execution:failover:nope")})
	var nx *sfntypes.ExecutionDoesNotExist
	if !errors.As(err, &nx) {
		t.Errorf("unknown execution: %T %v, want *ExecutionDoesNotExist", err, err)
	}
	_, err = c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: aws.String(sm)})
	var bad *sfntypes.InvalidArn
	if !errors.As(err, &bad) {
		t.Errorf("a state machine ARN: %T %v, want *InvalidArn", err, err)
	}
	_, err = c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: arn, Error: aws.String(strings.Repeat("x", 257))})
	var invalid *sfntypes.ValidationException
	if !errors.As(err, &invalid) {
		t.Errorf("a 257-character error: %T %v, want *ValidationException", err, err)
	}
}

func TestGetExecutionHistory(t *testing.T) {
	s := start(t, localcloud.Options{})
	release := make(chan struct{})
	recorded := make(chan error, 1)
	sm := s.StateMachineARN(west, "history")
	s.AddStateMachine(sm, func(ctx context.Context, _, _, input string) (string, error) {
		var evs []localcloud.HistoryEvent
		for i := range 3 {
			evs = append(evs, localcloud.HistoryEvent{Type: "TaskStateEntered", State: fmt.Sprintf("Step%d", i), Data: input},
				localcloud.HistoryEvent{Type: "TaskStateExited", State: fmt.Sprintf("Step%d", i), Data: `{"ok":true}`})
		}
		recorded <- localcloud.RecordHistory(ctx, evs...)
		<-release
		return `{"done":true}`, nil
	})
	c := sfn.NewFromConfig(s.Config(west), func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
	started, err := startExec(t, c, sm, "h-1", `{"in":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-recorded; err != nil {
		t.Fatalf("RecordHistory: %v", err)
	}
	arn := started.ExecutionArn

	// Pages of two: the last page of a running execution has no NextToken, and re-reading from its
	// token returns it again with what was added since.
	var types []string
	var next, lastPage *string
	for {
		h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: arn, MaxResults: 2, NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h.Events {
			types = append(types, fmt.Sprintf("%d:%s", ev.Id, ev.Type))
		}
		if h.NextToken == nil {
			lastPage = next
			break
		}
		next = h.NextToken
	}
	want := "[1:ExecutionStarted 2:TaskStateEntered 3:TaskStateExited 4:TaskStateEntered 5:TaskStateExited 6:TaskStateEntered 7:TaskStateExited]"
	if fmt.Sprint(types) != want {
		t.Fatalf("history: got %v, want %s", types, want)
	}
	close(release)
	if _, err := s.WaitExecution(ctx(t), aws.ToString(arn)); err != nil {
		t.Fatal(err)
	}
	h, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: arn, MaxResults: 2, NextToken: lastPage})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h.Events); n != 2 || h.Events[1].Type != sfntypes.HistoryEventTypeExecutionSucceeded || h.Events[1].Id != 8 ||
		aws.ToString(h.Events[1].ExecutionSucceededEventDetails.Output) != `{"done":true}` {
		t.Errorf("re-read of the last page: got %d events %+v, want event 7 again and 8 ExecutionSucceeded", n, h.Events)
	}

	rev, err := c.GetExecutionHistory(ctx(t), &sfn.GetExecutionHistoryInput{ExecutionArn: arn, ReverseOrder: true, IncludeExecutionData: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rev.Events) != 8 || rev.Events[0].Id != 8 {
		t.Errorf("reverse order: got %d events, first id %d; want 8, newest first", len(rev.Events), rev.Events[0].Id)
	}
	if d := rev.Events[len(rev.Events)-2].StateEnteredEventDetails; d == nil || aws.ToString(d.Name) != "Step0" || d.Input != nil {
		t.Errorf("without execution data: got %+v, want Step0's name and no input", d)
	}
	if d := rev.Events[len(rev.Events)-1].ExecutionStartedEventDetails; d == nil {
		t.Error("the oldest event lacks its ExecutionStarted details")
	}

	for _, tc := range []struct {
		name string
		in   *sfn.GetExecutionHistoryInput
		code string
	}{
		{"unknown execution", &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(strings.Replace(aws.ToString(arn), "h-1", "h-2", 1))}, "ExecutionDoesNotExist"},
		{"not an execution ARN", &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(sm)}, "InvalidArn"},
		{"forged token", &sfn.GetExecutionHistoryInput{ExecutionArn: arn, NextToken: aws.String("h-1|false|99")}, "InvalidToken"},
		{"token of the other order", &sfn.GetExecutionHistoryInput{ExecutionArn: arn, NextToken: lastPage, ReverseOrder: true}, "InvalidToken"},
		{"page too large", &sfn.GetExecutionHistoryInput{ExecutionArn: arn, MaxResults: 1001}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetExecutionHistory(ctx(t), tc.in)
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tc.code {
				t.Errorf("got %v, want %s", err, tc.code)
			}
		})
	}

	if err := localcloud.RecordHistory(context.Background(), localcloud.HistoryEvent{Type: "TaskStateEntered"}); err == nil {
		t.Error("RecordHistory outside an execution: got no error")
	}
}

func TestRecordHistoryRefusesUnknownEvents(t *testing.T) {
	s := start(t, localcloud.Options{})
	sm := s.StateMachineARN(west, "strict")
	got := make(chan error, 1)
	s.AddStateMachine(sm, func(ctx context.Context, _, _, _ string) (string, error) {
		got <- localcloud.RecordHistory(ctx, localcloud.HistoryEvent{Type: "StepStarted", State: "x"})
		return "{}", nil
	})
	c := sfn.NewFromConfig(s.Config(west), func(o *sfn.Options) { o.RetryMaxAttempts = 1 })
	if _, err := startExec(t, c, sm, "s-1", "{}"); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err == nil || !strings.Contains(err.Error(), `"StepStarted" is not a history event type`) {
		t.Errorf("got %v, want the unknown event type refused", err)
	}
}

// Step Functions puts a "Step Functions Execution Status Change" event on the region's default bus
// for every status of a standard workflow's execution; a rule with the template's pattern sees the
// aborted and failed ones with their input, and a target that fails is delivered to again.
func TestExecutionStatusChangeEvents(t *testing.T) {
	s, c, sm, g := sfnSetup(t)
	pattern := `{"source":["aws.states"],"detail-type":["Step Functions Execution Status Change"],"detail":{"stateMachineArn":["` + sm + `"],"status":["FAILED","ABORTED","TIMED_OUT"]}}`
	got := make(chan map[string]any, 4)
	refusals := 1 // the first delivery fails, as a target answering 5xx does
	var mu sync.Mutex
	err := s.AddEventRule(west, "ended", []byte(pattern), func(_ context.Context, ev []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if refusals > 0 {
			refusals--
			return errors.New("target answered 503")
		}
		var m map[string]any
		json.Unmarshal(ev, &m)
		got <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := startExec(t, c, sm, "to-abort", `{"n":1}`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StopExecution(ctx(t), &sfn.StopExecutionInput{ExecutionArn: stopped.ExecutionArn, Error: aws.String("Operator.Stop")}); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	if _, err := startExec(t, c, sm, "to-fail", `{"fail":true}`); err != nil {
		t.Fatal(err)
	}
	statuses := map[string]map[string]any{}
	for len(statuses) < 2 {
		select {
		case ev := <-got:
			d, _ := ev["detail"].(map[string]any)
			statuses[fmt.Sprint(d["status"])] = d
		case <-time.After(10 * time.Second):
			t.Fatalf("events delivered: %v; want an ABORTED and a FAILED one (the first after a failed delivery)", statuses)
		}
	}
	if d := statuses["ABORTED"]; d["name"] != "to-abort" || d["input"] != `{"n":1}` || d["error"] != "Operator.Stop" {
		t.Errorf("ABORTED event detail %v: want its name, its input and the stop's error", d)
	}
	if d := statuses["FAILED"]; d["error"] != "PromotionFailed" || d["stateMachineArn"] != sm {
		t.Errorf("FAILED event detail %v: want the failure's error and the state machine", d)
	}
	select {
	case ev := <-got:
		t.Errorf("an event the pattern does not match was delivered: %v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}
