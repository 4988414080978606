package failover

import (
	"fmt"
	"time"
)

// Mode is what was asked for: let the orchestrator choose, or a planned switchover, or a failover,
// or only repair what follows the writer (traffic) without ever promoting.
type Mode string

const (
	ModeAuto       Mode = "auto"
	ModeSwitchover Mode = "switchover"
	ModeFailover   Mode = "failover"
	// ModeReconcile is what the watchdog's alarm and `switchyard reconcile` ask for: in the region
	// that writes, point traffic at it and verify; anywhere else, refuse. It never promotes, so it is
	// safe to start whenever an inconsistency is seen.
	ModeReconcile Mode = "reconcile"
)

// Action is what the orchestrator does.
type Action string

const (
	// ActionSwitchover promotes with no data loss; it needs the current writer to answer.
	ActionSwitchover Action = "switchover"
	// ActionFailover promotes with AllowDataLoss=true; the writes not yet replicated are lost.
	ActionFailover Action = "failover"
	// ActionFollow waits for a promotion towards this region that is already under way (started by
	// an earlier, interrupted run or by an operator) instead of refusing it.
	ActionFollow Action = "follow"
	// ActionNone promotes nothing: this region already writes. The run still makes traffic follow
	// this region and verifies.
	ActionNone Action = "none"
	// ActionRefuse does nothing and fails the run: promoting would be unsafe or forbidden.
	ActionRefuse Action = "refuse"
)

// Facts are what Preflight observed.
type Facts struct {
	// LocalMember says this region's cluster is a member of the global cluster.
	LocalMember bool
	LocalWriter bool
	// LocalStatus is this region's cluster status; only "available" can be promoted.
	LocalStatus string
	// FailoverStatus is the global cluster's FailoverState status, "" when none runs.
	FailoverStatus string
	// FailoverToLocal says the switchover or failover under way targets this region's cluster, and
	// FailoverDataLossAllowed whether it was started with AllowDataLoss.
	FailoverToLocal         bool
	FailoverDataLossAllowed bool
	// WriterReachable says the current writer region's API answered /health as the writer.
	WriterReachable bool
	// Lag is this region's replication lag; LagKnown is false when no datapoint exists.
	Lag      time.Duration
	LagKnown bool

	// LeaseChecked says the writer lease is deployed and was consulted: the lease rules apply.
	LeaseChecked bool
	// LeaseKnown says a majority of the lease's grantors answered; Lease is what they agree on.
	LeaseKnown bool
	Lease      Lease
	// WriterHoldsLease says the writer renewed its lease through a majority while preflight
	// watched: it is alive, whatever its health endpoint says.
	WriterHoldsLease bool
	// LossWindow is the data-loss window from the replicated heartbeat: from the newest heartbeat
	// this region has to the last instant the old writer could acknowledge a write. When known, it
	// replaces Lag.
	LossWindow      time.Duration
	LossWindowKnown bool
}

// Policy bounds what the orchestrator may do on its own.
type Policy struct {
	// AllowDataLoss permits failover with AllowDataLoss=true when the writer does not answer.
	AllowDataLoss bool
	// MaxLag refuses a failover whose data loss estimate (the lag) exceeds it; 0 means no limit.
	MaxLag time.Duration
}

// Decision is the outcome of Decide.
type Decision struct {
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// LagMs is the replication lag at decision time, -1 when unknown.
	LagMs int64 `json:"lagMs"`
	// EstimatedDataLossMs is the writes at risk: 0 for a switchover, the lag for a failover, -1 when
	// the lag is unknown.
	EstimatedDataLossMs int64 `json:"estimatedDataLossMs"`
	// LossEstimateFrom says where the estimate comes from: "replicated heartbeat" (the writer
	// lease's data-loss window) or "lag metric".
	LossEstimateFrom string `json:"lossEstimateFrom,omitempty"`
}

// Decide chooses what to do from the facts, the requested mode and the policy. It is pure: every
// rule is in the table test.
func Decide(mode Mode, f Facts, p Policy) Decision {
	if f.LossWindowKnown {
		f.Lag, f.LagKnown = f.LossWindow, true
	}
	lagMs := int64(-1)
	if f.LagKnown {
		lagMs = f.Lag.Milliseconds()
	}
	d := Decision{LagMs: lagMs, EstimatedDataLossMs: 0}
	switch {
	case f.LossWindowKnown:
		d.LossEstimateFrom = "replicated heartbeat"
	case f.LagKnown:
		d.LossEstimateFrom = "lag metric"
	}
	refuse := func(format string, args ...any) Decision {
		d.Action, d.Reason = ActionRefuse, fmt.Sprintf(format, args...)
		return d
	}
	switch {
	case !f.LocalMember:
		return refuse("this region's cluster is not a member of the global cluster")
	case f.FailoverStatus != "" && f.FailoverToLocal:
		d.Action, d.Reason = ActionFollow, fmt.Sprintf("a promotion of this region is already under way (FailoverState %s): following it", f.FailoverStatus)
		if f.FailoverDataLossAllowed {
			d.EstimatedDataLossMs = -1
		}
		return d
	case f.FailoverStatus != "":
		return refuse("a switchover or failover is already in progress (FailoverState %s): wait for it to finish", f.FailoverStatus)
	case f.LocalWriter:
		d.Action, d.Reason = ActionNone, "this region already writes"
		return d
	case mode == ModeReconcile:
		return refuse("reconcile only repairs the region that writes, and this one does not: run it in the writer's region, or ask for a switchover or failover")
	case f.LocalStatus != "available":
		return refuse("this region's cluster is %q, not available: it cannot be promoted safely", f.LocalStatus)
	}

	switchover := func(reason string) Decision {
		d.Action, d.Reason = ActionSwitchover, reason
		return d
	}
	failover := func(reason string) Decision {
		switch {
		case f.LeaseChecked && !f.LeaseKnown:
			return refuse("no majority of the writer lease's grantors answered: without a majority there is no promotion; a new alarm retries")
		case f.LeaseChecked && f.WriterHoldsLease:
			return refuse("the writer still renews its lease through a majority of grantors: it is alive and may be acknowledging writes, so a failover with data loss would make two writers; request a switchover")
		}
		if !p.AllowDataLoss {
			return refuse("failover would lose the writes not yet replicated and the policy (ALLOW_DATA_LOSS) forbids it")
		}
		if f.LeaseChecked && !f.LossWindowKnown {
			// The lag metric is no measure of loss once the writer region is gone (it is published
			// only while replication runs), so under the lease only the replicated heartbeat counts.
			if p.MaxLag > 0 {
				return refuse("the standby's replicated heartbeat is unknown, so the writes a failover would lose cannot be held to MAX_LAG %s: check this region's lease-renewer (it publishes the heartbeat); a new alarm retries", p.MaxLag)
			}
			d.EstimatedDataLossMs, d.LossEstimateFrom = -1, ""
			d.Action, d.Reason = ActionFailover, reason
			return d
		}
		if !f.LagKnown {
			d.EstimatedDataLossMs = -1
		} else {
			d.EstimatedDataLossMs = lagMs
			if p.MaxLag > 0 && f.Lag > p.MaxLag {
				what := "replication lag"
				if f.LossWindowKnown {
					what = "data-loss window (from the replicated heartbeat)"
				}
				return refuse("%s %s exceeds the maximum %s allowed for a failover (MAX_LAG); a new alarm retries once the standby has caught up", what, f.Lag, p.MaxLag)
			}
		}
		d.Action, d.Reason = ActionFailover, reason
		return d
	}

	switch mode {
	case ModeSwitchover:
		if !f.WriterReachable {
			return refuse("a switchover needs the current writer, which does not answer: request a failover instead")
		}
		return switchover("switchover requested and the writer answers")
	case ModeFailover:
		return failover("failover requested")
	default:
		if f.WriterReachable {
			return switchover("the writer answers: switching over with no data loss")
		}
		if f.LeaseChecked && f.WriterHoldsLease {
			return switchover("the writer's health does not answer here but it renews its lease through a majority: a partition or a cut health path, not a dead region; switching over with no data loss")
		}
		return failover("the writer does not answer: failing over")
	}
}
