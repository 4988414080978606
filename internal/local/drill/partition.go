package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// The scenarios that the writer lease makes safe.
const (
	// Partition: region A stays alive and reachable by clients (through the edge and directly) but
	// is cut from region B, from the witness and from the control plane.
	Partition = "partition"
	// HealthCut: only the path from region B's prober to region A's /health is cut.
	HealthCut = "health-cut"
	// WitnessDown: the witness region is unreachable; the writer keeps a majority with region B.
	WitnessDown = "witness-down"
)

// LeaseOutcome is what a lease scenario measured beyond the common report.
type LeaseOutcome struct {
	// LeaseExpiry is the end of region A's last lease granted by a majority; AckedAfterExpiry
	// counts the writes region A acknowledged after it.
	LeaseExpiry      time.Time
	AckedAfterExpiry int
	// ReportedLossWindowMs is the notification's estimate, -1 when none was made.
	ReportedLossWindowMs int64
	// MeasuredLossWindow runs from the earliest lost write's acknowledgement to the lease's end.
	MeasuredLossWindow time.Duration
	// Notice is the notification the scenario's execution published.
	Notice string
}

// partition cuts (true) or restores the partition's links: region A's lease links, region B's
// link to region A's table, B's probes of A, the replication link from A's binlog and the control
// plane's reach of A.
func (e *Env) partition(cut bool) error {
	err := errors.Join(e.cutLease(e.A, cut), e.lease.links[e.B.Name][e.A.AWSRegion].SetCut(cut), e.setProbeCut(e.B, cut),
		e.replLinks[e.A.DB].SetCut(cut))
	if err != nil {
		return err
	}
	e.Pair.SetControlPlaneCut(e.A.DB, cut)
	return nil
}

// setProbeCut cuts (or restores) the path from r to the peer's API: its prober's and its
// orchestrator's view of the peer's /health.
func (e *Env) setProbeCut(r *Region, cut bool) error { return e.lease.api[r.Name].SetCut(cut) }

// runLeaseScenario runs partition, health-cut or witness-down under load through the edge and
// from clients writing to region A directly.
func (e *Env) runLeaseScenario(ctx context.Context, name string) (*ScenarioReport, error) {
	rep := &ScenarioReport{Name: name, TargetRTO: 10 * time.Second, Start: time.Now(), Lease: &LeaseOutcome{ReportedLossWindowMs: -1}}
	runID := e.runID + "-" + name
	lo := e.opts.Load
	lo.URL, lo.RunID = e.EdgeURL(), runID+"-edge"
	edgeLoad := StartLoad(ctx, lo)
	direct := e.opts.Load
	direct.URL, direct.RunID, direct.Clients = e.A.apiURL(), runID+"-direct", 2
	directLoad := StartLoad(ctx, direct)
	stopShow := e.showLoad(edgeLoad)
	noticesBefore := len(e.notices())
	e.progress("load: clients through the edge and 2 writing to %s directly", e.A.Name)
	// abort ends the load when the scenario cannot go on (a cut that failed, Ctrl-C).
	abort := func(err error) (*ScenarioReport, error) {
		stopShow()
		edgeLoad.Stop()
		directLoad.Stop()
		return rep, err
	}
	if err := sleep(ctx, steady); err != nil {
		return abort(err)
	}
	rep.Phases = append(rep.Phases, Phase{Name: "steady load", Start: rep.Start, End: time.Now()})

	faultAt := time.Now()
	execErr, err := e.injectLeaseFault(ctx, rep, name, faultAt)
	if err != nil {
		return abort(err)
	}
	e.addOrchestratorPhases(rep, faultAt, faultAt)
	if err := sleep(ctx, steady); err != nil {
		return abort(err)
	}
	// Heal, then look at region A once its renewer has met the grantors again.
	if err := e.setLeaseFault(name, false); err != nil {
		return abort(err)
	}
	healAt := time.Now()
	rep.Phases = append(rep.Phases, Phase{Name: "fault", Start: faultAt, End: healAt})
	if err := sleep(ctx, 4*drillTimings.RenewInterval); err != nil {
		return abort(err)
	}
	fenceA := fenceState{}
	fenceA.holder, fenceA.epoch, fenceA.open, fenceA.err = fence(ctx, e.A)
	stopShow()
	edgeRec, directRec := edgeLoad.Stop(), directLoad.Stop()
	rep.End = time.Now()
	rep.Attempts = edgeRec.Attempts
	rep.Outcomes = CountOutcomes(edgeRec.Attempts)
	rep.Fault = faultAt
	rep.Outages = Outages(edgeRec.Attempts, faultAt)
	for _, o := range rep.Outages {
		rep.RTO = max(rep.RTO, o.RTO(rep.End))
	}
	acked := append(edgeRec.Acked(), directRec.Acked()...)
	e.readLeaseNotices(rep, noticesBefore)
	if name == Partition {
		return rep, e.checkPartition(ctx, rep, runID, acked, execErr, fenceA)
	}
	return rep, e.checkNoDataLossFailover(ctx, rep, runID, acked, execErr, faultAt, healAt)
}

// setLeaseFault makes (true) or heals the named scenario's cut: the partition's links, B's probes
// of A's /health, or both regions' links to the witness.
func (e *Env) setLeaseFault(name string, cut bool) error {
	switch name {
	case Partition:
		return e.partition(cut)
	case HealthCut:
		return e.setProbeCut(e.B, cut)
	case WitnessDown:
		return e.cutWitness(cut)
	}
	return fmt.Errorf("%s is not a lease scenario", name)
}

// injectLeaseFault makes the scenario's cut and drives what follows it: region B's alarm and its
// execution (partition, health-cut), or an operator's failover while the witness is away. execErr
// is how that execution ended; err says the fault could not be made.
func (e *Env) injectLeaseFault(ctx context.Context, rep *ScenarioReport, name string, faultAt time.Time) (execErr, err error) {
	if err := e.setLeaseFault(name, true); err != nil {
		return nil, err
	}
	switch name {
	case Partition:
		e.progress("fault: %s cut from %s, the witness, replication and the control plane; clients still reach it", e.A.Name, e.B.Name)
		rep.How = append(rep.How, "lease, probe and replication links cut by "+e.lease.kind+"; the control plane's fence of "+e.A.Name+" refused; "+e.B.Name+"'s probes of "+e.A.Name+" cut")
		execErr = e.awaitAlarmExecution(ctx, e.B, faultAt, 30*time.Second)
		if execErr == nil {
			execErr = e.waitServing(ctx, e.B, 10*time.Second)
		}
	case HealthCut:
		rep.How = append(rep.How, e.B.Name+"'s probes of "+e.A.Name+" cut by "+e.lease.kind)
		e.progress("fault: %s's probes of %s's /health cut; nothing else", e.B.Name, e.A.Name)
		execErr = e.awaitAlarmExecution(ctx, e.B, faultAt, 30*time.Second)
	case WitnessDown:
		rep.How = append(rep.How, "both regions' links to the witness cut by "+e.lease.kind)
		e.progress("fault: the witness (%s) unreachable from both regions", witnessRegion)
		if err := sleep(ctx, 2*drillTimings.TTL); err != nil {
			return nil, err
		}
		// An operator asks for a failover anyway: the writer still renews with region B, so
		// there is no majority for a takeover and nothing may be promoted.
		var out string
		in, _ := json.Marshal(map[string]any{"action": "failover", "reason": "drill: failover requested while the witness is down", "acknowledgeDataLoss": true})
		if out, execErr = e.trigger(ctx, e.B, in); execErr == nil {
			_, execErr = e.awaitExecution(ctx, out)
		}
	}
	return execErr, nil
}

// readLeaseNotices takes region B's notifications since noticesBefore into the report: the last
// one's data-loss estimate is what the loss is held to.
func (e *Env) readLeaseNotices(rep *ScenarioReport, noticesBefore int) {
	for _, n := range e.notices()[noticesBefore:] {
		var r failover.Report
		if json.Unmarshal([]byte(n), &r) != nil || r.Region != e.B.AWSRegion {
			continue
		}
		rep.Lease.Notice = n
		rep.Lease.ReportedLossWindowMs = r.EstimatedDataLossMs
		what := r.Reason
		if r.Decision != nil {
			what = r.Decision.Reason
		}
		if r.Error != nil {
			what += "; " + r.Error.Error + ": " + r.Error.Cause
		}
		rep.How = append(rep.How, fmt.Sprintf("notification from %s: %s, estimated data loss %d ms (%s)", r.Region, r.Outcome, r.EstimatedDataLossMs, what))
	}
}

// fenceState is a region's write fence as read from its database.
type fenceState struct {
	holder string
	epoch  uint64
	open   bool
	err    error
}

// checkPartition holds the partition's outcome: B writes and serves, A's fence stayed closed after
// healing, and the loss invariants (checkPartitionLoss).
func (e *Env) checkPartition(ctx context.Context, rep *ScenarioReport, runID string, acked []Write, execErr error, fenceA fenceState) error {
	writer, _ := e.Pair.Roles()
	if execErr != nil {
		rep.failf("the orchestrator did not move the writer and the traffic to %s: %v", e.B.Name, execErr)
	}
	if writer != e.B.DB {
		rep.failf("the writer is %s after the partition, want %s", writer.Name, e.B.Name)
	}
	if fenceA.err != nil || fenceA.open {
		rep.failf("%s's write fence after healing: holder %q epoch %d open %v (%v); want closed", e.A.Name, fenceA.holder, fenceA.epoch, fenceA.open, fenceA.err)
	}
	if err := e.checkPartitionLoss(ctx, rep, runID, acked); err != nil {
		return err
	}
	holdWriteInvariants(rep, true)
	return nil
}

// checkNoDataLossFailover holds health-cut's and witness-down's outcome: a cut health path may
// lead to a switchover (the writer renews its lease, so it is alive) but never to a failover with
// data loss; a missing witness changes nothing, and the failover asked for meanwhile is refused
// and notified while A keeps writing. Nothing acknowledged is lost.
func (e *Env) checkNoDataLossFailover(ctx context.Context, rep *ScenarioReport, runID string, acked []Write, execErr error, faultAt, healAt time.Time) error {
	name := rep.Name
	writer, _ := e.Pair.Roles()
	if name == WitnessDown && writer != e.A.DB {
		rep.failf("the writer is %s after %s, want %s still", writer.Name, name, e.A.Name)
	}
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.After(faultAt) && rc.Kind == "failover" {
			rep.failf("a failover with data loss ran during %s", name)
		}
	}
	if name == WitnessDown && execErr == nil {
		rep.failf("the failover requested while the witness was down succeeded; it must be refused")
	}
	if name == WitnessDown && rep.Lease.Notice == "" {
		rep.failf("no notification reported the refused failover")
	}
	rows, err := runRows(ctx, writer, appDatabase, runID)
	if err != nil {
		return err
	}
	rep.Integrity = CheckIntegrity(acked, rows)
	holdWriteInvariants(rep, false)
	// Region A kept writing all along: its writes must not have stopped for long.
	var lastA time.Time
	for _, w := range acked {
		if w.Region == e.A.AWSRegion && w.Acked.After(lastA) {
			lastA = w.Acked
		}
	}
	if name == WitnessDown && lastA.Before(healAt) {
		rep.failf("%s stopped acknowledging writes during %s (last at %s)", e.A.Name, name, lastA.Format(time.TimeOnly))
	}
	return nil
}

// checkPartitionLoss rebuilds region A from region B and holds the partition's invariants: no
// instant with both regions acknowledging, nothing acknowledged by A after its lease ended, and
// every lost write inside the reported data-loss window.
func (e *Env) checkPartitionLoss(ctx context.Context, rep *ScenarioReport, runID string, acked []Write) error {
	var firstB, lastA time.Time
	for _, w := range acked {
		switch w.Region {
		case e.A.AWSRegion:
			if w.Acked.After(lastA) {
				lastA = w.Acked
			}
		case e.B.AWSRegion:
			if firstB.IsZero() || w.Acked.Before(firstB) {
				firstB = w.Acked
			}
		}
	}
	if !firstB.IsZero() && lastA.After(firstB) {
		rep.failf("both regions acknowledged writes for %s (%s's last at %s, %s's first at %s)", ms(lastA.Sub(firstB)),
			e.A.Name, lastA.Format("15:04:05.000"), e.B.Name, firstB.Format("15:04:05.000"))
	}
	end := e.leaseExpiry(e.A.AWSRegion, firstB)
	if firstB.IsZero() {
		end = e.leaseExpiry(e.A.AWSRegion, time.Now())
	}

	t := time.Now()
	rj, err := e.Pair.Rejoin(ctx)
	if err != nil {
		return err
	}
	rep.GTIDGap = rj.Discarded
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("rebuild %s as replica (%d transactions discarded)", e.A.Name, rj.Discarded), Start: t, End: time.Now()})
	if err := e.waitReplicating(ctx, e.A, 10*time.Second); err != nil {
		rep.failf("%v", err)
	}
	rows, err := runRows(ctx, e.B.DB, appDatabase, runID)
	if err != nil {
		return err
	}
	rep.Integrity = CheckIntegrity(acked, rows)
	e.checkLossWindow(rep, acked, end)
	return nil
}
