package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// TestFollowPrintsEachEventOnce follows an execution whose history grows while the CLI polls,
// across more than one page (the CLI reads 100 events a page): every state transition is printed
// exactly once, though the last page, having no NextToken, is read again on every poll.
func TestFollowPrintsEachEventOnce(t *testing.T) {
	cloud, _, getenv := setup(t, false)
	const polls = 130
	cloud.AddStateMachine(cloud.StateMachineARN("us-west-2", "switchyard-failover"), func(ctx context.Context, _, _, input string) (string, error) {
		rec := func(typ, state string) error {
			return localcloud.RecordHistory(ctx, localcloud.HistoryEvent{Type: typ, State: state, Data: input})
		}
		if err := rec("TaskStateEntered", "Preflight"); err != nil {
			return "", err
		}
		for i := range polls {
			if err := rec("TaskStateEntered", "AwaitPromotion"); err != nil {
				return "", err
			}
			if err := rec("TaskStateExited", "AwaitPromotion"); err != nil {
				return "", err
			}
			if i%10 == 0 {
				time.Sleep(15 * time.Millisecond) // let the CLI poll in between
			}
		}
		if err := rec("TaskStateEntered", "NotifySuccess"); err != nil {
			return "", err
		}
		var run failover.Run
		_ = json.Unmarshal([]byte(input), &run)
		run.Decision = &failover.Decision{Action: failover.ActionSwitchover, Reason: "the writer answers"}
		out, _ := json.Marshal(struct {
			failover.Run
			Report failover.Report `json:"report"`
		}{run, failover.BuildReport(run, time.Now())})
		return string(out), nil
	})
	out, err := runCLI(t, getenv, "switchover", "-reason", "follow test", "-poll", "5ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for line, want := range map[string]int{"enter Preflight": 1, "enter AwaitPromotion": polls, "enter NotifySuccess": 1, "execution succeeded": 1} {
		if got := strings.Count(out, line+"\n"); got != want {
			t.Errorf("%q printed %d times, want %d", line, got, want)
		}
	}
	if i, j := strings.Index(out, "enter Preflight"), strings.Index(out, "enter NotifySuccess"); i < 0 || j < i {
		t.Errorf("transitions out of order:\n%s", out)
	}
}

// expiringHistory serves a fixed history in pages of two; tokens issued before the last expiry
// (or all of them, when refuseAll) are refused as expired.
type expiringHistory struct {
	events    []sfntypes.HistoryEvent
	gen       int
	refuseAll bool
}

func (h *expiringHistory) expire() { h.gen++ }

func (h *expiringHistory) GetExecutionHistory(_ context.Context, in *sfn.GetExecutionHistoryInput, _ ...func(*sfn.Options)) (*sfn.GetExecutionHistoryOutput, error) {
	offset := 0
	if in.NextToken != nil {
		var gen int
		if _, err := fmt.Sscanf(*in.NextToken, "%d-%d", &gen, &offset); err != nil || gen < h.gen || h.refuseAll {
			return nil, &smithy.GenericAPIError{Code: "InvalidToken", Message: "Invalid Token: expired"}
		}
	}
	end := min(offset+2, len(h.events))
	out := &sfn.GetExecutionHistoryOutput{Events: h.events[offset:end]}
	if end < len(h.events) {
		out.NextToken = aws.String(fmt.Sprintf("%d-%d", h.gen, end))
	}
	return out, nil
}

func TestHistoryFollowerAfterAnExpiredToken(t *testing.T) {
	h := &expiringHistory{}
	for i := range 3 {
		h.events = append(h.events, sfntypes.HistoryEvent{Id: int64(i + 1)})
	}
	f := &historyFollower{sfn: h, arn: "arn:aws:states:us-west-2:123456789012:execution:m:e"}
	first, err := f.next(context.Background())
	if err != nil || len(first) != 3 {
		t.Fatalf("first read: got %d events, %v; want 3", len(first), err)
	}
	h.events = append(h.events, sfntypes.HistoryEvent{Id: 4}, sfntypes.HistoryEvent{Id: 5})
	h.expire()
	second, err := f.next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, ev := range second {
		ids = append(ids, ev.Id)
	}
	if fmt.Sprint(ids) != "[4 5]" {
		t.Errorf("after the token expired: got events %v, want [4 5] only", ids)
	}

	// A service that refuses every token: one restart, then the error, not a loop.
	h.refuseAll = true
	done := make(chan error, 1)
	go func() { _, err := f.next(context.Background()); done <- err }()
	select {
	case err := <-done:
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "InvalidToken" {
			t.Errorf("got %v, want InvalidToken reported", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the follower kept restarting on refused tokens")
	}
}
