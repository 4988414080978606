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

// The tests in this file pin the boundaries and guards that a plausible one-line change to the
// failover domain would break (each was found by mutating the code by hand or with gremlins while
// the rest of the suite stayed green). They assert what must hold in any design of the steps.

func TestDecideMaxLagIsInclusive(t *testing.T) {
	policy := failover.Policy{AllowDataLoss: true, MaxLag: 5 * time.Second}
	tests := []struct {
		name string
		lag  time.Duration
		want failover.Action
	}{
		{"just under the maximum", 5*time.Second - time.Millisecond, failover.ActionFailover},
		{"exactly the maximum is allowed", 5 * time.Second, failover.ActionFailover},
		{"one millisecond over", 5*time.Second + time.Millisecond, failover.ActionRefuse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := failover.Facts{LocalMember: true, LocalStatus: "available", Lag: tt.lag, LagKnown: true}
			d := failover.Decide(failover.ModeAuto, f, policy)
			if d.Action != tt.want {
				t.Fatalf("lag %s with MAX_LAG %s: got %s (%s), want %s", tt.lag, policy.MaxLag, d.Action, d.Reason, tt.want)
			}
			if tt.want == failover.ActionFailover && d.EstimatedDataLossMs != tt.lag.Milliseconds() {
				t.Errorf("estimated data loss: got %d ms, want %d ms", d.EstimatedDataLossMs, tt.lag.Milliseconds())
			}
			if tt.want == failover.ActionRefuse && !strings.Contains(d.Reason, "exceeds") {
				t.Errorf("reason: got %q, want it to say the lag exceeds the maximum", d.Reason)
			}
		})
	}
	t.Run("through preflight", func(t *testing.T) {
		for _, lag := range []time.Duration{5 * time.Second, 5*time.Second + time.Millisecond} {
			s := &failover.Preflight{DB: &fakeDB{topology: topo(east, ""), lag: lag, lagKnown: true}, Prober: &fakeProber{},
				Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI, Policy: policy}
			run, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto})
			over := lag > policy.MaxLag
			if over {
				wantErrorType(t, err, "RefusedError")
				continue
			}
			wantErrorType(t, err, "")
			if run.Decision.Action != failover.ActionFailover || run.Decision.LagMs != lag.Milliseconds() {
				t.Errorf("lag %s: got %+v, want a failover reporting the lag", lag, run.Decision)
			}
		}
	})
}

// TestDecideFacts pins each fact's own effect, one change at a time from a run that would switch
// over.
func TestDecideFacts(t *testing.T) {
	base := failover.Facts{LocalMember: true, LocalStatus: "available", WriterReachable: true, Lag: 300 * time.Millisecond, LagKnown: true}
	policy := failover.Policy{AllowDataLoss: true}
	tests := []struct {
		name   string
		change func(*failover.Facts)
		want   failover.Action
		reason string
	}{
		{"as is", func(*failover.Facts) {}, failover.ActionSwitchover, "no data loss"},
		{"a failover in progress even though this region writes", func(f *failover.Facts) { f.LocalWriter, f.FailoverStatus = true, "failing-over" }, failover.ActionRefuse, "already in progress"},
		{"not a member even though it says it writes", func(f *failover.Facts) { f.LocalMember, f.LocalWriter = false, true }, failover.ActionRefuse, "not a member"},
		{"writer whose cluster is modifying", func(f *failover.Facts) { f.LocalWriter, f.LocalStatus = true, "modifying" }, failover.ActionNone, "already writes"},
		{"cluster status empty", func(f *failover.Facts) { f.LocalStatus = "" }, failover.ActionRefuse, "not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base
			tt.change(&f)
			d := failover.Decide(failover.ModeAuto, f, policy)
			if d.Action != tt.want || !strings.Contains(d.Reason, tt.reason) {
				t.Errorf("got %s (%s), want %s with a reason containing %q", d.Action, d.Reason, tt.want, tt.reason)
			}
			if d.LagMs != 300 {
				t.Errorf("lag: got %d ms, want the observed 300 ms in every decision", d.LagMs)
			}
		})
	}
	t.Run("unknown lag is reported as -1", func(t *testing.T) {
		f := base
		f.LagKnown = false
		if d := failover.Decide(failover.ModeSwitchover, f, policy); d.LagMs != -1 || d.EstimatedDataLossMs != 0 {
			t.Errorf("got lag %d ms and loss %d ms, want -1 and 0 (a switchover loses nothing)", d.LagMs, d.EstimatedDataLossMs)
		}
	})
}

// TestEveryStepRefusesAnotherRegionsRun: a run whose region is empty or another region's must not
// be accepted by any region's steps.
func TestEveryStepRefusesAnotherRegionsRun(t *testing.T) {
	db := &fakeDB{topology: topo(west, "")}
	good := failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", ReadBack: true}
	prober := &fakeProber{canary: map[string]failover.Canary{localAPI: good, publicURL: good}}
	steps := map[string]func(context.Context, failover.Run) error{
		"preflight": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.Preflight{DB: db, Prober: prober, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI}).Handle(ctx, r)
			return err
		},
		"promote": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.Promote{DB: db, Prober: &fakeProber{}, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI, Timeout: time.Minute}).Handle(ctx, r)
			return err
		},
		"await": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.AwaitPromotion{DB: db, Region: "us-west-2", LocalClusterARN: west}).Handle(ctx, r)
			return err
		},
		"traffic": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.SwapTraffic{DB: db, Traffic: &fakeTraffic{current: failover.TrafficState{Target: "east-api", Epoch: 1}}, Region: "us-west-2", LocalClusterARN: west, LocalTarget: "west-api"}).Handle(ctx, r)
			return err
		},
		"verify": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.Verify{Prober: prober, Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL}).Handle(ctx, r)
			return err
		},
		"notify": func(ctx context.Context, r failover.Run) error {
			_, err := (&failover.Notify{Notifier: &fakeNotifier{}, Region: "us-west-2"}).Handle(ctx, r)
			return err
		},
	}
	for _, region := range []string{"", "us-east-1", "US-WEST-2"} {
		for name, step := range steps {
			t.Run(name+" "+region, func(t *testing.T) {
				run := failover.Run{Region: region, Mode: failover.ModeSwitchover,
					Decision:  &failover.Decision{Action: failover.ActionSwitchover},
					Promotion: &failover.Promotion{Target: west, Deadline: time.Now().Add(time.Hour)}}
				err := step(context.Background(), run)
				wantErrorType(t, err, "InvalidInputError")
				if !strings.Contains(err.Error(), "us-west-2") {
					t.Errorf("message: got %q, want it to name this region", err)
				}
			})
		}
	}
	if p := db.promotions(); len(p) != 0 {
		t.Errorf("promotions: got %q, want none", p)
	}
}

// TestPromoteDoesNotAdoptAnotherRegionsPromotion: a FailoverState towards another cluster is not
// this region's promotion under way; Promote must not report success without asking for its own.
func TestPromoteDoesNotAdoptAnotherRegionsPromotion(t *testing.T) {
	central := "arn:aws:rds:eu-west-1:111122223333:cluster:todo-central"
	tests := []struct {
		name     string
		topology failover.Topology
	}{
		{"towards a third region", failover.Topology{Members: []failover.Member{{ClusterARN: east, IsWriter: true}, {ClusterARN: west}, {ClusterARN: central}},
			Failover: &failover.FailoverInProgress{Status: "switching-over", From: east, To: central}}},
		{"away from this region", failover.Topology{Members: []failover.Member{{ClusterARN: east}, {ClusterARN: west}},
			Failover: &failover.FailoverInProgress{Status: "failing-over", From: west, To: east}}},
	}
	for _, tt := range tests {
		for _, action := range []failover.Action{failover.ActionSwitchover, failover.ActionFailover} {
			t.Run(tt.name+" "+string(action), func(t *testing.T) {
				db := &fakeDB{topology: tt.topology}
				s := &failover.Promote{DB: db, Prober: &fakeProber{}, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI, Timeout: time.Minute}
				run, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Decision: &failover.Decision{Action: action}})
				if err == nil && len(db.promotions()) == 0 {
					t.Fatalf("got success with promotion %+v and no promotion asked for, want this region's own promotion or an error", run.Promotion)
				}
			})
		}
	}
	t.Run("towards this region is not asked for twice", func(t *testing.T) {
		db := &fakeDB{topology: failover.Topology{Members: []failover.Member{{ClusterARN: east, IsWriter: true}, {ClusterARN: west}},
			Failover: &failover.FailoverInProgress{Status: "failing-over", From: east, To: west}}}
		s := &failover.Promote{DB: db, Prober: &fakeProber{}, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI, Timeout: time.Minute}
		run, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Decision: &failover.Decision{Action: failover.ActionFailover}})
		wantErrorType(t, err, "")
		if p := db.promotions(); len(p) != 0 || run.Promotion == nil || run.Promotion.Target != west {
			t.Errorf("got promotions %q and record %+v, want none asked and a record for %s", p, run.Promotion, west)
		}
	})
	t.Run("a none or refuse decision handed in promotes nothing", func(t *testing.T) {
		db := &fakeDB{topology: topo(east, "")}
		s := &failover.Promote{DB: db, Prober: &fakeProber{}, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI, Timeout: time.Minute}
		for _, a := range []failover.Action{failover.ActionNone, failover.ActionRefuse} {
			_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Decision: &failover.Decision{Action: a}})
			wantErrorType(t, err, "RefusedError") // decided again: the writer does not answer and no data loss is allowed
		}
		if p := db.promotions(); len(p) != 0 {
			t.Errorf("promotions: got %q, want none", p)
		}
	})
}

// TestAwaitNotDoneWhileFailoverStatePresent: the writer flag flips before FailoverState clears;
// only both together mean done, whatever the state's direction or status.
func TestAwaitNotDoneWhileFailoverStatePresent(t *testing.T) {
	deadline := time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC)
	for _, status := range []string{"pending", "switching-over", "failing-over", "cancelling"} {
		t.Run(status, func(t *testing.T) {
			tp := topo(west, "")
			tp.Failover = &failover.FailoverInProgress{Status: status, From: east, To: west}
			s := &failover.AwaitPromotion{DB: &fakeDB{topology: tp}, Region: "us-west-2", LocalClusterARN: west,
				Now: func() time.Time { return deadline.Add(-time.Minute) }}
			run, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto,
				Promotion: &failover.Promotion{Target: west, Deadline: deadline}})
			wantErrorType(t, err, "")
			if run.Promotion.Done {
				t.Errorf("done with FailoverState %s still present, want not done", status)
			}
			if !strings.Contains(run.Promotion.LastSeen, status) {
				t.Errorf("last seen: got %q, want it to name %s", run.Promotion.LastSeen, status)
			}
		})
	}
	t.Run("deadline is exclusive of success, inclusive of the timeout", func(t *testing.T) {
		s := &failover.AwaitPromotion{DB: &fakeDB{topology: topo(east, "")}, Region: "us-west-2", LocalClusterARN: west,
			Now: func() time.Time { return deadline }}
		_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto,
			Promotion: &failover.Promotion{Target: west, Deadline: deadline}})
		wantErrorType(t, err, "PromotionTimeoutError")
		if !strings.Contains(err.Error(), "no FailoverState and the writer is "+east) {
			t.Errorf("message: got %q, want it to say who writes", err)
		}
	})
	t.Run("one millisecond before the deadline keeps polling", func(t *testing.T) {
		s := &failover.AwaitPromotion{DB: &fakeDB{topology: topo(east, "")}, Region: "us-west-2", LocalClusterARN: west,
			Now: func() time.Time { return deadline.Add(-time.Millisecond) }}
		_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto,
			Promotion: &failover.Promotion{Target: west, Deadline: deadline}})
		wantErrorType(t, err, "")
	})
}

func TestSwapTrafficNeedsTheWriterWithoutFailoverState(t *testing.T) {
	for _, tp := range []failover.Topology{topo(west, "switching-over"), topo(east, ""), topo("", "")} {
		traffic := &fakeTraffic{current: failover.TrafficState{Target: "east-api", Epoch: 1}}
		s := &failover.SwapTraffic{DB: &fakeDB{topology: tp}, Traffic: traffic, Region: "us-west-2", LocalClusterARN: west, LocalTarget: "west-api"}
		_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto})
		wantErrorType(t, err, "NotWriterError")
		if len(traffic.switches) != 0 {
			t.Errorf("topology %+v: traffic switched to %v, want untouched", tp, traffic.switches)
		}
	}
}

// TestVerifyNeedsBothCanariesReadBack: a write acknowledged but not read back is not verified, on
// either endpoint, whatever the status says.
func TestVerifyNeedsBothCanariesReadBack(t *testing.T) {
	good := failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", ReadBack: true}
	tests := []struct {
		name          string
		local, public failover.Canary
		wantEndpoint  string
	}{
		{"public not read back", good, failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2"}, publicURL},
		{"public 200 instead of 201", good, failover.Canary{WriteStatus: 200, WriteRegion: "us-west-2", ReadBack: true}, publicURL},
		{"local 200 instead of 201", failover.Canary{WriteStatus: 200, WriteRegion: "us-west-2", ReadBack: true}, good, localAPI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &failover.Verify{Prober: &fakeProber{canary: map[string]failover.Canary{localAPI: tt.local, publicURL: tt.public}},
				Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL}
			run, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Incident: "i"})
			wantErrorType(t, err, "VerificationError")
			if !strings.Contains(err.Error(), tt.wantEndpoint) {
				t.Errorf("message: got %q, want it to name %s", err, tt.wantEndpoint)
			}
			if run.Verification != nil {
				t.Errorf("verification recorded: %+v, want none", run.Verification)
			}
		})
	}
	t.Run("public unreachable", func(t *testing.T) {
		s := &failover.Verify{Prober: &fakeProber{canary: map[string]failover.Canary{localAPI: good}}, Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL}
		_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto})
		wantErrorType(t, err, "VerificationError")
	})
	t.Run("the detail says what failed", func(t *testing.T) {
		bad := failover.Canary{WriteStatus: 201, WriteRegion: "us-west-2", Detail: "GET answered 404"}
		s := &failover.Verify{Prober: &fakeProber{canary: map[string]failover.Canary{localAPI: bad}}, Region: "us-west-2", LocalAPIURL: localAPI, PublicURL: publicURL}
		_, err := s.Handle(context.Background(), failover.Run{Region: "us-west-2", Mode: failover.ModeAuto})
		if err == nil || !strings.Contains(err.Error(), "canary write status 201, read back false: GET answered 404") {
			t.Errorf("got %v, want the canary's status, read back and detail", err)
		}
	})
}

// snsAlarms builds an SNS event with one record per alarm change, in the order given.
func snsAlarms(t *testing.T, changes ...failover.AlarmChange) []byte {
	t.Helper()
	type record struct {
		EventSource string
		Sns         struct{ Message string }
	}
	var ev struct{ Records []record }
	for _, c := range changes {
		msg, err := json.Marshal(map[string]string{"AlarmName": c.Name, "NewStateValue": c.State, "NewStateReason": c.Reason,
			"StateChangeTime": c.ChangedAt.Format("2006-01-02T15:04:05.000-0700")})
		if err != nil {
			t.Fatal(err)
		}
		r := record{EventSource: "aws:sns"}
		r.Sns.Message = string(msg)
		ev.Records = append(ev.Records, r)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAwaitTimeoutReportsTheTimeWaited(t *testing.T) {
	start := time.Date(2026, 11, 21, 5, 40, 0, 0, time.UTC)
	deadline := start.Add(10 * time.Minute)
	run := failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Promotion: &failover.Promotion{Target: west, Deadline: deadline},
		Phases: []failover.Phase{{Name: failover.PhasePreflight, StartedAt: start.Add(-time.Minute), DurationMs: 60_000},
			{Name: failover.PhasePromote, StartedAt: start, DurationMs: 0}}}
	s := &failover.AwaitPromotion{DB: &fakeDB{topology: topo(east, "switching-over")}, Region: "us-west-2", LocalClusterARN: west,
		Now: func() time.Time { return deadline.Add(time.Second) }}
	_, err := s.Handle(context.Background(), run)
	wantErrorType(t, err, "PromotionTimeoutError")
	var timeout *failover.PromotionTimeoutError
	if !errors.As(err, &timeout) || timeout.Waited != 10*time.Minute+time.Second || timeout.Target != west {
		t.Errorf("got %+v, want target %s and the await phase's 10m1s as the time waited", timeout, west)
	}
	if !strings.Contains(err.Error(), "after 1 polls") {
		t.Errorf("message: got %q, want the number of polls", err)
	}
}

func TestReportWithoutDecision(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	run := failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, DetectedAt: now.Add(-90 * time.Second),
		Error:  &failover.StepError{Error: "InvalidInputError", Cause: "bad"},
		Phases: []failover.Phase{{Name: failover.PhasePreflight, DurationMs: 120}, {Name: failover.PhasePromote, DurationMs: 30}}}
	r := failover.BuildReport(run, now)
	if r.EstimatedDataLossMs != -1 || r.Outcome != failover.OutcomeFailed || r.TotalMs != 150 || r.SinceDetectionMs != 90_000 {
		t.Errorf("got loss %d, outcome %s, total %d ms, since detection %d ms; want -1 (unknown), failed, 150, 90000",
			r.EstimatedDataLossMs, r.Outcome, r.TotalMs, r.SinceDetectionMs)
	}
	if want := "Switchyard: activating us-west-2 FAILED (promotion)"; r.Subject() != want {
		t.Errorf("subject: got %q, want %q", r.Subject(), want)
	}
	long := failover.Report{Outcome: failover.OutcomeActivated, Region: strings.Repeat("r", 120)}
	if got := long.Subject(); len(got) != 100 {
		t.Errorf("subject of %d characters, want SNS's limit of 100", len(got))
	}
}
