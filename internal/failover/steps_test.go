package failover_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

const (
	peerAPI   = "https://api.us-east-1.example.com"
	localAPI  = "https://api.us-west-2.example.com"
	publicURL = "https://todo.example.com"
)

// invoke runs handler h on payload through the Lambda runtime's own decoding and encoding.
func invoke[In, Out any](t *testing.T, h func(context.Context, In) (Out, error), payload []byte) (Out, error) {
	t.Helper()
	var out Out
	b, err := lambda.NewHandler(h).Invoke(context.Background(), payload)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return out, nil
}

func wantErrorType(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("got error %s: %v, want none", errorType(err), err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want %s", want)
	}
	if got := errorType(err); got != want {
		t.Fatalf("error type: got %s (%v), want %s", got, err, want)
	}
}

var throttled = &failover.ThrottledError{Op: "rds DescribeGlobalClusters", Err: errors.New("Throttling: Rate exceeded")}

func TestPreflight(t *testing.T) {
	writerAnswers := map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "writer"}}
	writerIsReader := map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "reader"}}
	tests := []struct {
		name      string
		fixture   string
		db        *fakeDB
		health    map[string]failover.Health
		policy    failover.Policy
		want      failover.Action
		wantLoss  int64
		wantError string
	}{
		{"writer answers: switchover", "alarm.json", &fakeDB{topology: topo(east, ""), lag: 800 * time.Millisecond, lagKnown: true}, writerAnswers, failover.Policy{}, failover.ActionSwitchover, 0, ""},
		{"writer down: failover, lag reported", "alarm.json", &fakeDB{topology: topo(east, ""), lag: 800 * time.Millisecond, lagKnown: true}, nil, failover.Policy{AllowDataLoss: true}, failover.ActionFailover, 800, ""},
		{"writer answers as a reader: failover", "alarm.json", &fakeDB{topology: topo(east, ""), lag: 800 * time.Millisecond, lagKnown: true}, writerIsReader, failover.Policy{AllowDataLoss: true}, failover.ActionFailover, 800, ""},
		{"writer down, data loss forbidden", "alarm.json", &fakeDB{topology: topo(east, "")}, nil, failover.Policy{}, "", 0, "RefusedError"},
		{"local cluster unhealthy", "alarm.json", &fakeDB{topology: topo(east, ""), status: "backing-up"}, writerAnswers, failover.Policy{AllowDataLoss: true}, "", 0, "RefusedError"},
		{"already writer", "alarm.json", &fakeDB{topology: topo(west, "")}, nil, failover.Policy{}, failover.ActionNone, 0, ""},
		{"manual switchover", "manual-switchover.json", &fakeDB{topology: topo(east, "")}, writerAnswers, failover.Policy{}, failover.ActionSwitchover, 0, ""},
		{"manual switchover, writer down", "manual-switchover.json", &fakeDB{topology: topo(east, "")}, nil, failover.Policy{AllowDataLoss: true}, "", 0, "RefusedError"},
		{"throttled describe", "alarm.json", &fakeDB{describe: func() (failover.Topology, error) { return failover.Topology{}, throttled }}, nil, failover.Policy{}, "", 0, "ThrottledError"},
		{"run for another region", "malformed-wrong-region.json", &fakeDB{topology: topo(east, "")}, nil, failover.Policy{}, "", 0, "InvalidInputError"},
		{"unknown mode", "malformed-mode.json", &fakeDB{topology: topo(east, "")}, nil, failover.Policy{}, "", 0, "InvalidInputError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failover.Preflight{DB: tt.db, Prober: &fakeProber{health: tt.health}, Region: "us-west-2",
				LocalClusterARN: west, PeerAPIURL: peerAPI, Policy: tt.policy}
			run, err := invoke(t, s.Handle, fixture(t, "failover-preflight", tt.fixture))
			wantErrorType(t, err, tt.wantError)
			if err != nil {
				return
			}
			if run.Decision == nil || run.Decision.Action != tt.want || run.Decision.EstimatedDataLossMs != tt.wantLoss {
				t.Fatalf("decision: got %+v, want %s with estimated loss %d ms", run.Decision, tt.want, tt.wantLoss)
			}
			if len(run.Phases) != 1 || run.Phases[0].Name != failover.PhasePreflight {
				t.Errorf("phases: got %+v, want one preflight phase", run.Phases)
			}
		})
	}
}

func TestPromote(t *testing.T) {
	writerAnswers := map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "writer"}}
	allow := failover.Policy{AllowDataLoss: true}
	tests := []struct {
		name      string
		fixture   string
		db        *fakeDB
		health    map[string]failover.Health
		policy    failover.Policy
		want      []string
		wantError string
	}{
		{"switchover", "switchover.json", &fakeDB{topology: topo(east, "")}, writerAnswers, failover.Policy{}, []string{"switchover " + west}, ""},
		{"failover sends AllowDataLoss", "failover.json", &fakeDB{topology: topo(east, "")}, nil, allow, []string{"failover allowDataLoss " + west}, ""},
		// issue 17 item 2: the decision in the input is not trusted.
		{"forged failover decision, data loss forbidden", "failover.json", &fakeDB{topology: topo(east, "")}, nil, failover.Policy{}, nil, "RefusedError"},
		{"forged failover decision while the writer answers: switches over", "failover.json", &fakeDB{topology: topo(east, "")}, writerAnswers, allow, []string{"switchover " + west}, ""},
		{"forged failover decision, lag over the maximum", "failover.json", &fakeDB{topology: topo(east, ""), lag: time.Hour, lagKnown: true}, nil, failover.Policy{AllowDataLoss: true, MaxLag: time.Minute}, nil, "RefusedError"},
		{"forged decision, local cluster not available", "switchover.json", &fakeDB{topology: topo(east, ""), status: "modifying"}, writerAnswers, allow, nil, "RefusedError"},
		{"retried after the call went through", "switchover.json", &fakeDB{topology: topo(east, "switching-over")}, writerAnswers, failover.Policy{}, nil, ""},
		{"repeated after the promotion completed", "failover.json", &fakeDB{topology: topo(west, "")}, nil, failover.Policy{}, nil, ""},
		{"throttled", "failover.json", &fakeDB{topology: topo(east, ""), promoteErr: throttled}, nil, allow, []string{"failover allowDataLoss " + west}, "ThrottledError"},
		{"transient", "switchover.json", &fakeDB{topology: topo(east, ""), promoteErr: &failover.TransientError{Op: "rds", Err: errors.New("EOF")}}, writerAnswers, failover.Policy{}, []string{"switchover " + west}, "TransientError"},
		{"refused by RDS", "switchover.json", &fakeDB{topology: topo(east, ""), promoteErr: errors.New("InvalidGlobalClusterStateFault: members not synchronised")}, writerAnswers, failover.Policy{}, []string{"switchover " + west}, "StepFailedError"},
		{"no decision", "malformed-no-decision.json", &fakeDB{topology: topo(east, "")}, writerAnswers, failover.Policy{}, nil, "InvalidInputError"},
		{"duplicate key", "malformed-duplicate-decision.json", &fakeDB{topology: topo(east, "")}, nil, allow, nil, "InvalidInputError"},
	}
	now := time.Date(2026, 11, 21, 5, 40, 14, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failover.Promote{DB: tt.db, Prober: &fakeProber{health: tt.health}, Region: "us-west-2", LocalClusterARN: west,
				PeerAPIURL: peerAPI, Policy: tt.policy, Timeout: 15 * time.Minute, Now: func() time.Time { return now }}
			// Through the function's own wrapper, as lambda.Start runs it: its strict decoding is part
			// of what is tested.
			run, err := invoke(t, failover.Logged(slog.New(slog.DiscardHandler), "promote", s.Handle), fixture(t, "failover-promote", tt.fixture))
			wantErrorType(t, err, tt.wantError)
			if got := tt.db.promotions(); strings.Join(got, ";") != strings.Join(tt.want, ";") {
				t.Errorf("promotion calls: got %q, want %q", got, tt.want)
			}
			if err != nil {
				return
			}
			if run.Promotion == nil || run.Promotion.Target != west || !run.Promotion.Deadline.Equal(now.Add(15*time.Minute)) || run.Promotion.Done {
				t.Errorf("promotion: got %+v, want target %s, deadline %s, not done", run.Promotion, west, now.Add(15*time.Minute))
			}
			// The notification reports what was done: promote's own decision, not the one it was handed.
			if len(tt.want) == 1 && (run.Decision == nil || string(run.Decision.Action) != strings.Fields(tt.want[0])[0]) {
				t.Errorf("decision: got %+v, want the %s that was called", run.Decision, strings.Fields(tt.want[0])[0])
			}
		})
	}
}

func TestAwaitPromotion(t *testing.T) {
	before := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	after := time.Date(2026, 11, 21, 5, 56, 0, 0, time.UTC)
	tests := []struct {
		name      string
		topology  failover.Topology
		now       time.Time
		wantDone  bool
		wantError string
	}{
		{"still switching over", topo(east, "switching-over"), before, false, ""},
		{"state gone but not yet writer", topo(east, ""), before, false, ""},
		{"writer but state still present", topo(west, "switching-over"), before, false, ""},
		{"done", topo(west, ""), before, true, ""},
		{"done just after the deadline", topo(west, ""), after, true, ""},
		{"never completes", topo(east, "switching-over"), after, false, "PromotionTimeoutError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failover.AwaitPromotion{DB: &fakeDB{topology: tt.topology}, Region: "us-west-2", LocalClusterARN: west, Now: func() time.Time { return tt.now }}
			run, err := invoke(t, s.Handle, fixture(t, "failover-await", "promoting.json"))
			wantErrorType(t, err, tt.wantError)
			if err != nil {
				if !strings.Contains(err.Error(), "traffic was not touched") {
					t.Errorf("message: got %q, want it to say traffic was not touched", err)
				}
				return
			}
			if run.Promotion.Done != tt.wantDone || run.Promotion.Polls != 1 {
				t.Errorf("got done=%t polls=%d, want done=%t polls=1", run.Promotion.Done, run.Promotion.Polls, tt.wantDone)
			}
		})
	}
	t.Run("missing promotion", func(t *testing.T) {
		s := &failover.AwaitPromotion{DB: &fakeDB{topology: topo(west, "")}, Region: "us-west-2", LocalClusterARN: west}
		_, err := invoke(t, s.Handle, fixture(t, "failover-await", "malformed-no-promotion.json"))
		wantErrorType(t, err, "InvalidInputError")
	})
}

func TestSwapTraffic(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC)
	held := failover.Lease{Holder: "us-west-2", Epoch: 7, Expires: now.Add(time.Minute)}
	east6 := failover.TrafficState{Target: "east-api", Epoch: 6}
	tests := []struct {
		name         string
		topology     failover.Topology
		lease        failover.Lease
		leaseErr     error
		current      failover.TrafficState
		trafficErr   error
		wantSwitches int
		wantChanged  bool
		wantError    string
	}{
		{"switches to this region", topo(west, ""), held, nil, east6, nil, 1, true, ""},
		{"already here with this epoch", topo(west, ""), held, nil, failover.TrafficState{Target: "west-api", Epoch: 7}, nil, 0, false, ""},
		{"here with an older epoch is restamped", topo(west, ""), held, nil, failover.TrafficState{Target: "west-api", Epoch: 3}, nil, 1, true, ""},
		{"this region does not write", topo(east, ""), held, nil, east6, nil, 0, false, "NotWriterError"},
		{"promotion still in progress", topo(west, "switching-over"), held, nil, east6, nil, 0, false, "NotWriterError"},
		{"lease held by the other region", topo(west, ""), failover.Lease{Holder: "us-east-1", Epoch: 8, Expires: now.Add(time.Minute)}, nil, east6, nil, 0, false, "LeaseNotHeldError"},
		{"lease expired", topo(west, ""), failover.Lease{Holder: "us-west-2", Epoch: 7, Expires: now.Add(-time.Second)}, nil, east6, nil, 0, false, "LeaseNotHeldError"},
		{"lease unreadable", topo(west, ""), held, &failover.TransientError{Op: "lease", Err: errors.New("timeout")}, east6, nil, 0, false, "TransientError"},
		{"traffic carries a newer epoch", topo(west, ""), held, nil, failover.TrafficState{Target: "east-api", Epoch: 9}, nil, 0, false, "StaleEpochError"},
		{"same epoch, other target", topo(west, ""), held, nil, failover.TrafficState{Target: "east-api", Epoch: 7}, nil, 0, false, "StaleEpochError"},
		{"stale ETag beyond retries", topo(west, ""), held, nil, east6, &failover.PreconditionError{Op: "cloudfront UpdateDistribution", Err: errors.New("PreconditionFailed")}, 0, false, "PreconditionError"},
		{"adapter refuses a newer epoch that raced in", topo(west, ""), held, nil, east6, &failover.StaleEpochError{Target: "west-api", Epoch: 7, Current: failover.TrafficState{Target: "east-api", Epoch: 8}}, 0, false, "StaleEpochError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			traffic := &fakeTraffic{current: tt.current, err: tt.trafficErr}
			s := &failover.SwapTraffic{DB: &fakeDB{topology: tt.topology}, Traffic: traffic, Lease: &fixedLease{tt.lease, tt.leaseErr},
				Region: "us-west-2", LocalClusterARN: west, LocalTarget: "west-api", Now: func() time.Time { return now }}
			run, err := invoke(t, s.Handle, fixture(t, "failover-traffic", "promoted.json"))
			wantErrorType(t, err, tt.wantError)
			if len(traffic.switches) != tt.wantSwitches {
				t.Errorf("switches: got %v, want %d", traffic.switches, tt.wantSwitches)
			}
			if err != nil {
				if traffic.current != tt.current {
					t.Errorf("a refused step changed traffic: got %+v, want %+v", traffic.current, tt.current)
				}
				return
			}
			want := &failover.TrafficChange{From: tt.current.Target, FromEpoch: tt.current.Epoch, To: "west-api", Epoch: 7, Changed: tt.wantChanged}
			if run.Traffic == nil || *run.Traffic != *want {
				t.Errorf("traffic: got %+v, want %+v", run.Traffic, want)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	good := failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", ReadBack: true, ReadRegion: "us-west-2"}
	tests := []struct {
		name      string
		canary    map[string]failover.Canary
		wantError string
	}{
		{"both served here", map[string]failover.Canary{localAPI: good, publicURL: good}, ""},
		{"public still served by the old region", map[string]failover.Canary{localAPI: good,
			publicURL: {WriteStatus: 503, WriteRegion: "us-east-1", NotWriter: true}}, "TrafficNotShiftedError"},
		{"public refused as not writer, no region header", map[string]failover.Canary{localAPI: good,
			publicURL: {WriteStatus: 503, NotWriter: true}}, "TrafficNotShiftedError"},
		{"local write refused", map[string]failover.Canary{localAPI: {WriteStatus: 503, WriteRegion: "us-west-2", NotWriter: true}, publicURL: good}, "VerificationError"},
		{"local read back fails", map[string]failover.Canary{localAPI: {WriteStatus: 201, WriteRegion: "us-west-2"}, publicURL: good}, "VerificationError"},
		{"local API unreachable", map[string]failover.Canary{publicURL: good}, "VerificationError"},
		{"local API is another region", map[string]failover.Canary{localAPI: {WriteStatus: 201, WriteRegion: "us-east-1", ReadBack: true}, publicURL: good}, "VerificationError"},
		{"public fails here", map[string]failover.Canary{localAPI: good, publicURL: {WriteStatus: 500, WriteRegion: "us-west-2"}}, "VerificationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failover.Verify{Prober: &fakeProber{canary: tt.canary}, Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL}
			run, err := invoke(t, s.Handle, fixture(t, "failover-verify", "traffic-swapped.json"))
			wantErrorType(t, err, tt.wantError)
			if err == nil && (run.Verification == nil || run.Verification.PublicRegion != "us-west-2") {
				t.Errorf("verification: got %+v, want served by us-west-2", run.Verification)
			}
		})
	}
}

func TestNotify(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 40, 46, 100_000_000, time.UTC)
	tests := []struct {
		fixture     string
		outcome     failover.Outcome
		subject     string
		wantPhases  int
		wantLoss    int64
		wantErrType string
	}{
		{"activated.json", failover.OutcomeActivated, "us-west-2 now writes and serves (switchover, 32100 ms)", 5, 0, ""},
		{"failed-promotion-timeout.json", failover.OutcomeFailed, "activating us-west-2 FAILED (switchover)", 2, 0, "PromotionTimeoutError"},
		{"traffic-not-shifted.json", failover.OutcomeTrafficNotShifted, "public traffic not yet shifted", 4, 0, "TrafficNotShiftedError"},
		{"no-change.json", failover.OutcomeNoChange, "us-west-2 already writes, nothing done", 3, 0, ""},
		{"reconciled.json", failover.OutcomeReconciled, "us-west-2 writes; traffic moved back to it", 3, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			n := &fakeNotifier{}
			s := &failover.Notify{Notifier: n, Region: "us-west-2", Now: func() time.Time { return now }}
			rep, err := invoke(t, s.Handle, fixture(t, "failover-notify", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if len(n.sent) != 1 {
				t.Fatalf("notifications: got %d, want 1", len(n.sent))
			}
			if !strings.Contains(n.sent[0].subject, tt.subject) {
				t.Errorf("subject: got %q, want it to contain %q", n.sent[0].subject, tt.subject)
			}
			var published failover.Report
			if err := json.Unmarshal([]byte(n.sent[0].message), &published); err != nil {
				t.Fatalf("message is not the JSON report: %v", err)
			}
			for _, r := range []failover.Report{rep, published} {
				if r.Outcome != tt.outcome || len(r.Phases) != tt.wantPhases || r.EstimatedDataLossMs != tt.wantLoss {
					t.Errorf("report: got outcome %s, %d phases, loss %d; want %s, %d, %d", r.Outcome, len(r.Phases), r.EstimatedDataLossMs, tt.outcome, tt.wantPhases, tt.wantLoss)
				}
				if !strings.HasPrefix(r.ExecutionARN, "arn:aws:states:us-west-2:") {
					t.Errorf("execution ARN: got %q", r.ExecutionARN)
				}
				if (r.Error == nil) != (tt.wantErrType == "") || (r.Error != nil && r.Error.Error != tt.wantErrType) {
					t.Errorf("error: got %+v, want type %q", r.Error, tt.wantErrType)
				}
			}
		})
	}
}

// TestNotifyRefusesForgedRuns: issue 17 item 6. The notify function publishes to the operators'
// topic; a run it is handed directly must not reach them unless it is what the state machine gives.
func TestNotifyRefusesForgedRuns(t *testing.T) {
	for _, f := range []string{
		"forged-activated-no-verification.json", "forged-unknown-error.json", "forged-foreign-execution.json",
		"forged-promotion-not-done.json", "forged-unknown-decision.json", "forged-duplicate-key.json",
	} {
		t.Run(f, func(t *testing.T) {
			n := &fakeNotifier{}
			s := &failover.Notify{Notifier: n, Region: "us-west-2"}
			_, err := invoke(t, failover.Logged(slog.New(slog.DiscardHandler), "notify", s.Handle), fixture(t, "failover-notify", f))
			wantErrorType(t, err, "InvalidInputError")
			if len(n.sent) != 0 {
				t.Errorf("published %d notices, want none", len(n.sent))
			}
		})
	}
}

// TestStepsRecordEveryPhase chains the steps as the state machine does (failover, three polls) and
// checks that the notification reports every phase, in order, adding up to the run.
func TestStepsRecordEveryPhase(t *testing.T) {
	clk := fixedClock(time.Date(2026, 11, 21, 5, 40, 14, 0, time.UTC), 100*time.Millisecond)
	polls := 0
	db := &fakeDB{lag: 1500 * time.Millisecond, lagKnown: true}
	db.describe = func() (failover.Topology, error) {
		switch {
		case len(db.promotions()) == 0:
			return topo(east, ""), nil
		case polls < 3:
			return topo(east, "failing-over"), nil
		}
		return topo(west, ""), nil
	}
	traffic := &fakeTraffic{current: failover.TrafficState{Target: "east-api"}}
	good := failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", ReadBack: true}
	prober := &fakeProber{canary: map[string]failover.Canary{localAPI: good, publicURL: good}}
	n := &fakeNotifier{}
	ctx := context.Background()

	run := failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Reason: "alarm", Incident: "activate-us-west-2-20261121T054012345Z",
		Execution: &failover.ExecutionContext{ARN: "arn:aws:states:us-west-2:111122223333:execution:switchyard-failover:activate-us-west-2-20261121T054012345Z"}}
	run, err := (&failover.Preflight{DB: db, Prober: prober, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI,
		Policy: failover.Policy{AllowDataLoss: true}, Now: clk}).Handle(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if run, err = (&failover.Promote{DB: db, Prober: prober, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI,
		Policy: failover.Policy{AllowDataLoss: true}, Timeout: time.Minute, Now: clk}).Handle(ctx, run); err != nil {
		t.Fatal(err)
	}
	await := &failover.AwaitPromotion{DB: db, Region: "us-west-2", LocalClusterARN: west, Now: clk}
	for !run.Promotion.Done {
		if run, err = await.Handle(ctx, run); err != nil {
			t.Fatal(err)
		}
		polls++
	}
	if run, err = (&failover.SwapTraffic{DB: db, Traffic: traffic, Lease: &fixedLease{lease: failover.Lease{Holder: "us-west-2", Epoch: 2, Expires: clk().Add(time.Hour)}}, Region: "us-west-2", LocalClusterARN: west, LocalTarget: "west-api", Now: clk}).Handle(ctx, run); err != nil {
		t.Fatal(err)
	}
	if run, err = (&failover.Verify{Prober: prober, Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL, Now: clk}).Handle(ctx, run); err != nil {
		t.Fatal(err)
	}
	rep, err := (&failover.Notify{Notifier: n, Region: "us-west-2", Now: clk}).Handle(ctx, run)
	if err != nil {
		t.Fatal(err)
	}

	if got := db.promotions(); len(got) != 1 || got[0] != "failover allowDataLoss "+west {
		t.Errorf("promotions: got %q, want one failover with AllowDataLoss", got)
	}
	if rep.EstimatedDataLossMs != 1500 {
		t.Errorf("estimated data loss: got %d ms, want 1500", rep.EstimatedDataLossMs)
	}
	var names []string
	var sum int64
	for i, p := range rep.Phases {
		names = append(names, p.Name)
		sum += p.DurationMs
		if p.DurationMs <= 0 {
			t.Errorf("phase %s: duration %d ms, want > 0", p.Name, p.DurationMs)
		}
		if i > 0 {
			prev := rep.Phases[i-1]
			if end := prev.StartedAt.Add(time.Duration(prev.DurationMs) * time.Millisecond); !p.StartedAt.Equal(end) {
				t.Errorf("phase %s starts at %s, want the end of %s at %s", p.Name, p.StartedAt, prev.Name, end)
			}
		}
	}
	if strings.Join(names, ",") != "preflight,promote,await,traffic,verify" {
		t.Errorf("phases: got %v, want preflight,promote,await,traffic,verify", names)
	}
	if rep.TotalMs != sum {
		t.Errorf("total: got %d ms, want the phases' sum %d ms", rep.TotalMs, sum)
	}
	if rep.Outcome != failover.OutcomeActivated || len(traffic.switches) != 1 {
		t.Errorf("got outcome %s and switches %v, want activated and one switch", rep.Outcome, traffic.switches)
	}
}

func TestObservedWriterLease(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 30, 0, 0, time.UTC)
	tests := []struct {
		name       string
		topology   failover.Topology
		wantHolder string
		wantValid  bool
	}{
		{"this region writes", topo(west, ""), "us-west-2", true},
		{"the other region writes", topo(east, ""), "us-east-1", false},
		{"a promotion runs", topo(west, "switching-over"), "us-west-2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &failover.ObservedWriterLease{DB: &fakeDB{topology: tt.topology}, Region: "us-west-2", LocalClusterARN: west, Now: func() time.Time { return now }}
			l, err := o.CurrentLease(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if l.Holder != tt.wantHolder || l.Valid(now) != tt.wantValid {
				t.Errorf("got %+v (valid %t), want holder %s valid %t", l, l.Valid(now), tt.wantHolder, tt.wantValid)
			}
			if tt.wantValid && l.Epoch != uint64(now.UnixMilli()) {
				t.Errorf("epoch: got %d, want the observation time in ms", l.Epoch)
			}
		})
	}
	t.Run("a later observation carries a higher epoch", func(t *testing.T) {
		at := now
		o := &failover.ObservedWriterLease{DB: &fakeDB{topology: topo(west, "")}, Region: "us-west-2", LocalClusterARN: west, Now: func() time.Time { return at }}
		first, _ := o.CurrentLease(context.Background())
		at = at.Add(time.Millisecond)
		second, _ := o.CurrentLease(context.Background())
		if second.Epoch <= first.Epoch {
			t.Errorf("epochs: %d then %d, want increasing", first.Epoch, second.Epoch)
		}
	})
}
