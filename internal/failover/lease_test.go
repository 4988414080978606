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

// fakeLease answers CurrentLease from a script (the last answer repeats) and records takes.
type fakeLease struct {
	answers []failover.Lease
	err     error
	reads   int
	takeErr error
	taken   []string
}

func (f *fakeLease) CurrentLease(context.Context) (failover.Lease, error) {
	i := min(f.reads, len(f.answers)-1)
	f.reads++
	return f.answers[i], f.err
}

func (f *fakeLease) TakeLease(_ context.Context, holder string) (failover.Lease, error) {
	f.taken = append(f.taken, holder)
	if f.takeErr != nil {
		return failover.Lease{}, f.takeErr
	}
	return failover.Lease{Holder: holder, Epoch: 8, Expires: time.Now().Add(10 * time.Second)}, nil
}

type fakeHeartbeat struct{ at time.Time }

func (f fakeHeartbeat) StandbyHeartbeat(context.Context) (time.Time, error) { return f.at, nil }

func TestDecideWithTheLease(t *testing.T) {
	down := failover.Facts{LocalMember: true, LocalStatus: "available", LeaseChecked: true, LeaseKnown: true, Lag: time.Second, LagKnown: true}
	with := func(change func(*failover.Facts)) failover.Facts { f := down; change(&f); return f }
	permissive := failover.Policy{AllowDataLoss: true, MaxLag: 60 * time.Second}
	for _, tc := range []struct {
		name     string
		mode     failover.Mode
		facts    failover.Facts
		want     failover.Action
		wantLoss int64
		reason   string
	}{
		{"lease expired: failover, the heartbeat window replaces the lag", failover.ModeAuto,
			with(func(f *failover.Facts) { f.LossWindow, f.LossWindowKnown = 4200*time.Millisecond, true }), failover.ActionFailover, 4200, ""},
		{"writer renews through a majority: switchover, not data loss", failover.ModeAuto,
			with(func(f *failover.Facts) { f.WriterHoldsLease = true }), failover.ActionSwitchover, 0, ""},
		{"manual failover while the writer renews: refused", failover.ModeFailover,
			with(func(f *failover.Facts) { f.WriterHoldsLease = true }), failover.ActionRefuse, 0, "still renews its lease"},
		{"no majority of grantors: refused", failover.ModeAuto,
			with(func(f *failover.Facts) { f.LeaseKnown = false }), failover.ActionRefuse, 0, "no majority"},
		{"heartbeat unknown, lag metric small: refused, the metric is no measure of loss", failover.ModeAuto,
			down, failover.ActionRefuse, 0, "replicated heartbeat is unknown"},
		{"heartbeat window beyond MAX_LAG: refused, with no 1 s cap", failover.ModeAuto,
			with(func(f *failover.Facts) { f.LossWindow, f.LossWindowKnown = 65*time.Second, true }), failover.ActionRefuse, 0, "data-loss window (from the replicated heartbeat) 1m5s exceeds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := failover.Decide(tc.mode, tc.facts, permissive)
			if d.Action != tc.want || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("Decide = %+v; want %s with a reason containing %q", d, tc.want, tc.reason)
			}
			if tc.want == failover.ActionFailover && (d.EstimatedDataLossMs != tc.wantLoss || d.LossEstimateFrom != "replicated heartbeat") {
				t.Errorf("estimated loss %d ms from %q, want %d from the replicated heartbeat", d.EstimatedDataLossMs, d.LossEstimateFrom, tc.wantLoss)
			}
		})
	}
}

// Without MAX_LAG, an unknown heartbeat still fails over, reporting the loss as unknown (-1), never
// the lag metric's figure.
func TestDecideUnknownHeartbeatWithoutMaxLag(t *testing.T) {
	f := failover.Facts{LocalMember: true, LocalStatus: "available", LeaseChecked: true, LeaseKnown: true, Lag: time.Second, LagKnown: true}
	d := failover.Decide(failover.ModeAuto, f, failover.Policy{AllowDataLoss: true})
	if d.Action != failover.ActionFailover || d.EstimatedDataLossMs != -1 || d.LossEstimateFrom != "" {
		t.Errorf("Decide = %+v; want a failover with the loss unknown (-1)", d)
	}
}

func TestPreflightWatchesTheLease(t *testing.T) {
	start := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	margin := 2 * time.Second
	held := failover.Lease{Holder: "us-east-1", Epoch: 7, Expires: start.Add(6 * time.Second)}
	renewed := held
	renewed.Expires = start.Add(16 * time.Second)
	beat := start.Add(-3 * time.Second)
	for _, tc := range []struct {
		name      string
		fixture   string
		lease     *fakeLease
		maxLag    time.Duration
		want      failover.Action
		wantLoss  int64
		wantSlept time.Duration
		wantError string
	}{
		// The writer died: its lease ran out while preflight waited for expiry + margin. The loss
		// window runs from the standby's heartbeat to the lease's expiry, plus the margin.
		{"writer dead", "alarm.json", &fakeLease{answers: []failover.Lease{held}}, time.Minute,
			failover.ActionFailover, (9*time.Second + margin).Milliseconds(), 8*time.Second + time.Millisecond, ""},
		{"writer partitioned from here but renewing", "alarm.json", &fakeLease{answers: []failover.Lease{held, renewed}}, time.Minute,
			failover.ActionSwitchover, 0, 8*time.Second + time.Millisecond, ""},
		{"window beyond MAX_LAG", "alarm.json", &fakeLease{answers: []failover.Lease{held}}, 5 * time.Second,
			"", 0, 8*time.Second + time.Millisecond, "RefusedError"},
		{"grantors unreachable: retried by the state machine", "alarm.json", &fakeLease{answers: []failover.Lease{{}}, err: errors.New("1 of 2 grantors needed agreed")}, time.Minute,
			"", 0, 0, "LeaseUnavailableError"},
		// An operator's failover loses data just as the alarm's does: it too waits for the lease.
		{"manual failover waits the lease out", "manual-failover.json", &fakeLease{answers: []failover.Lease{held}}, time.Minute,
			failover.ActionFailover, (9*time.Second + margin).Milliseconds(), 8*time.Second + time.Millisecond, ""},
		// A switchover loses nothing and needs the writer, which holds the lease: no wait.
		{"switchover with the writer answering", "manual-switchover.json", &fakeLease{answers: []failover.Lease{held}}, time.Minute,
			failover.ActionSwitchover, 0, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := start
			var slept time.Duration
			prober := &fakeProber{}
			if tc.fixture == "manual-switchover.json" {
				prober.health = map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "writer"}}
			}
			s := &failover.Preflight{DB: &fakeDB{topology: topo(east, ""), lag: time.Second, lagKnown: true}, Prober: prober,
				Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI,
				Policy: failover.Policy{AllowDataLoss: true, MaxLag: tc.maxLag}, Now: func() time.Time { return now },
				Lease: tc.lease, LeaseMargin: margin, Heartbeat: fakeHeartbeat{at: beat},
				Sleep: func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil }}
			run, err := invoke(t, s.Handle, fixture(t, "failover-preflight", tc.fixture))
			wantErrorType(t, err, tc.wantError)
			if slept != tc.wantSlept {
				t.Errorf("waited %s, want %s (until the lease's expiry plus the margin)", slept, tc.wantSlept)
			}
			if err != nil {
				return
			}
			if run.Decision.Action != tc.want || run.Decision.EstimatedDataLossMs != tc.wantLoss {
				t.Errorf("decision %+v; want %s with estimated loss %d ms", run.Decision, tc.want, tc.wantLoss)
			}
		})
	}
}

func TestPromoteTakesTheLeaseForAFailover(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	// The old writer's lease ran out long ago: a failover may take it.
	expired := failover.Lease{Holder: "us-east-1", Epoch: 7, Expires: now.Add(-time.Minute)}
	writerAnswers := map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "writer"}}
	for _, tc := range []struct {
		name      string
		fixture   string
		health    map[string]failover.Health
		lease     *fakeLease
		wantTaken int
		wantCalls []string
		wantError string
		wantEpoch uint64
	}{
		{"failover takes it first", "failover.json", nil, &fakeLease{answers: []failover.Lease{expired}}, 1, []string{"failover allowDataLoss " + west}, "", 8},
		{"failover without a majority: refused, nothing promoted", "failover.json", nil,
			&fakeLease{answers: []failover.Lease{expired}, takeErr: errors.New("the writer lease is held by us-east-1 (epoch 7)")}, 1, nil, "RefusedError", 0},
		{"failover with no majority reachable: retried, nothing promoted", "failover.json", nil,
			&fakeLease{answers: []failover.Lease{expired}, takeErr: &failover.LeaseUnavailableError{Reason: "1 of 2 grantors needed agreed"}}, 1, nil, "LeaseUnavailableError", 0},
		{"switchover leaves it to the renewers", "switchover.json", writerAnswers,
			&fakeLease{answers: []failover.Lease{{Holder: "us-east-1", Epoch: 7, Expires: now.Add(time.Minute)}}}, 0, []string{"switchover " + west}, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := &fakeDB{topology: topo(east, "")}
			s := &failover.Promote{DB: db, Prober: &fakeProber{health: tc.health}, Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI,
				Policy: failover.Policy{AllowDataLoss: true}, Timeout: time.Minute, Lease: tc.lease, Taker: tc.lease, Now: func() time.Time { return now }}
			run, err := invoke(t, s.Handle, fixture(t, "failover-promote", tc.fixture))
			wantErrorType(t, err, tc.wantError)
			if len(tc.lease.taken) != tc.wantTaken || strings.Join(db.promotions(), ";") != strings.Join(tc.wantCalls, ";") {
				t.Fatalf("takes %v, promotions %v; want %d takes and %v", tc.lease.taken, db.promotions(), tc.wantTaken, tc.wantCalls)
			}
			if err == nil && run.Promotion.LeaseEpoch != tc.wantEpoch {
				t.Errorf("promotion's lease epoch %d, want %d", run.Promotion.LeaseEpoch, tc.wantEpoch)
			}
		})
	}
}

// TestRedriveDoesNotUndoANewerActivation: a re-drive of a switchover towards us-west-2 runs after
// the writer lease passed to us-east-1 later than the incident began (an operator switched back):
// it is refused as superseded. The same facts do not stop a first run, a re-drive whose incident
// came after the lease changed hands, a re-drive in the holder's region, or a reader that cannot
// tell when the lease was taken.
func TestRedriveDoesNotUndoANewerActivation(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	incident := now.Add(-10 * time.Second)
	taken := failover.Lease{Holder: "us-east-1", Epoch: 9, Expires: now.Add(10 * time.Second), Since: now.Add(-5 * time.Second)}
	with := func(change func(*failover.Lease)) failover.Lease { l := taken; change(&l); return l }
	for _, tc := range []struct {
		name      string
		attempt   int
		lease     failover.Lease
		wantError string
	}{
		{"re-drive after the lease moved on: superseded", 1, taken, "SupersededError"},
		{"first run: acts on the facts", 0, taken, ""},
		{"re-drive, lease taken before the incident", 2, with(func(l *failover.Lease) { l.Since = incident.Add(-time.Second) }), ""},
		{"re-drive, this region holds the lease", 1, with(func(l *failover.Lease) { l.Holder = "us-west-2" }), ""},
		{"re-drive, when the lease was taken is unknown", 1, with(func(l *failover.Lease) { l.Since = time.Time{} }), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &failover.Preflight{DB: &fakeDB{topology: topo(east, "")}, Prober: &fakeProber{health: map[string]failover.Health{peerAPI: {Status: 200, Region: "us-east-1", Role: "writer"}}},
				Region: "us-west-2", LocalClusterARN: west, PeerAPIURL: peerAPI,
				Policy: failover.Policy{AllowDataLoss: true}, Now: func() time.Time { return now },
				Lease: &fakeLease{answers: []failover.Lease{tc.lease}}}
			in, _ := json.Marshal(failover.Run{Region: "us-west-2", Mode: failover.ModeSwitchover, Reason: "manual: switch to us-west-2",
				Incident: "switchover-us-west-2", DetectedAt: incident, Attempt: tc.attempt})
			run, err := invoke(t, s.Handle, in)
			wantErrorType(t, err, tc.wantError)
			if err != nil {
				if !strings.Contains(err.Error(), "superseded") || !strings.Contains(err.Error(), "epoch 9") {
					t.Errorf("refusal %q: want it to say the run was superseded, naming the lease's epoch", err)
				}
				return
			}
			if run.Decision.Action != failover.ActionSwitchover {
				t.Errorf("decision %+v, want a switchover", run.Decision)
			}
		})
	}
}
