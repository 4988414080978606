package failover_test

import (
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

func TestDecide(t *testing.T) {
	healthy := failover.Facts{LocalMember: true, LocalStatus: "available", WriterReachable: true, Lag: 800 * time.Millisecond, LagKnown: true}
	writerDown := healthy
	writerDown.WriterReachable = false
	permissive := failover.Policy{AllowDataLoss: true, MaxLag: 5 * time.Second}
	with := func(f failover.Facts, change func(*failover.Facts)) failover.Facts { change(&f); return f }

	tests := []struct {
		name     string
		mode     failover.Mode
		facts    failover.Facts
		policy   failover.Policy
		want     failover.Action
		wantLoss int64
	}{
		{"auto, writer answers: switchover", failover.ModeAuto, healthy, permissive, failover.ActionSwitchover, 0},
		{"auto, writer down: failover with the lag as loss", failover.ModeAuto, writerDown, permissive, failover.ActionFailover, 800},
		{"auto, writer down, policy forbids data loss", failover.ModeAuto, writerDown, failover.Policy{}, failover.ActionRefuse, 0},
		{"auto, writer down, lag over the maximum", failover.ModeAuto, with(writerDown, func(f *failover.Facts) { f.Lag = 6 * time.Second }), permissive, failover.ActionRefuse, 0},
		{"auto, writer down, lag unknown: failover, loss unknown", failover.ModeAuto, with(writerDown, func(f *failover.Facts) { f.LagKnown = false }), permissive, failover.ActionFailover, -1},
		{"auto, no lag limit", failover.ModeAuto, with(writerDown, func(f *failover.Facts) { f.Lag = time.Hour }), failover.Policy{AllowDataLoss: true}, failover.ActionFailover, 3600000},
		{"already writer: nothing", failover.ModeAuto, with(healthy, func(f *failover.Facts) { f.LocalWriter = true }), permissive, failover.ActionNone, 0},
		{"already writer, manual failover: nothing", failover.ModeFailover, with(healthy, func(f *failover.Facts) { f.LocalWriter = true }), permissive, failover.ActionNone, 0},
		{"local cluster unhealthy", failover.ModeAuto, with(writerDown, func(f *failover.Facts) { f.LocalStatus = "modifying" }), permissive, failover.ActionRefuse, 0},
		{"local cluster not a member", failover.ModeAuto, with(healthy, func(f *failover.Facts) { f.LocalMember = false }), permissive, failover.ActionRefuse, 0},
		{"promotion of another region in progress", failover.ModeAuto, with(healthy, func(f *failover.Facts) { f.FailoverStatus = "switching-over" }), permissive, failover.ActionRefuse, 0},
		{"switchover to this region in progress: follow it", failover.ModeAuto, with(healthy, func(f *failover.Facts) { f.FailoverStatus = "switching-over"; f.FailoverToLocal = true }), failover.Policy{}, failover.ActionFollow, 0},
		{"failover to this region in progress: follow it, loss unknown", failover.ModeAuto, with(healthy, func(f *failover.Facts) {
			f.FailoverStatus, f.FailoverToLocal, f.FailoverDataLossAllowed = "failing-over", true, true
		}), failover.Policy{}, failover.ActionFollow, -1},
		{"reconcile in the writer's region: nothing to promote", failover.ModeReconcile, with(healthy, func(f *failover.Facts) { f.LocalWriter = true }), permissive, failover.ActionNone, 0},
		{"reconcile in a region that does not write: refused, never promoted", failover.ModeReconcile, writerDown, permissive, failover.ActionRefuse, 0},
		{"reconcile while this region's promotion runs: follow it", failover.ModeReconcile, with(healthy, func(f *failover.Facts) { f.FailoverStatus = "switching-over"; f.FailoverToLocal = true }), permissive, failover.ActionFollow, 0},
		{"switchover requested, writer answers", failover.ModeSwitchover, healthy, failover.Policy{}, failover.ActionSwitchover, 0},
		{"switchover requested, writer down", failover.ModeSwitchover, writerDown, permissive, failover.ActionRefuse, 0},
		{"failover requested while the writer answers", failover.ModeFailover, healthy, permissive, failover.ActionFailover, 800},
		{"failover requested, policy forbids", failover.ModeFailover, writerDown, failover.Policy{}, failover.ActionRefuse, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := failover.Decide(tt.mode, tt.facts, tt.policy)
			if d.Action != tt.want {
				t.Fatalf("action: got %q (%s), want %q", d.Action, d.Reason, tt.want)
			}
			if d.Reason == "" {
				t.Error("reason: got empty, want an explanation")
			}
			if tt.want != failover.ActionRefuse && d.EstimatedDataLossMs != tt.wantLoss {
				t.Errorf("estimated data loss: got %d ms, want %d ms", d.EstimatedDataLossMs, tt.wantLoss)
			}
		})
	}
}
