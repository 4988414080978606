package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// Scenario names, in the order a full drill runs them.
const (
	Switchover = "switchover"
	Unplanned  = "unplanned"
	Failback   = "failback"
)

// Scenarios lists every scenario but the fault ones (FaultScenarios), in running order.
var Scenarios = []string{Switchover, Unplanned, Failback, ControlPlaneDown, Partition, Lag, HealthCut, WitnessDown, RPOMax}

// CoreScenarios are what `make drill` runs by default: a newcomer's tour of the failover.
var CoreScenarios = Scenarios[:3]

// RTO targets the drill reports against.
var targetRTO = map[string]time.Duration{Switchover: 3 * time.Second, Unplanned: 10 * time.Second, Failback: 3 * time.Second, ControlPlaneDown: 10 * time.Second,
	KilledInPromote: 15 * time.Second, KilledInAwait: 15 * time.Second, KilledInSwap: 15 * time.Second, CrashInAwait: 15 * time.Second, HostDown: 30 * time.Second,
	TrafficAPIDown: 15 * time.Second, Racing: 15 * time.Second, LateAlarm: 15 * time.Second}

// steady is how long load runs before the fault and after recovery, so the charts show both.
const steady = 1500 * time.Millisecond

// Run runs the named scenarios in order, bringing the pair into each one's starting position
// first (writer region-a for switchover and unplanned; region-b writing with region-a
// resynchronised for failback). A returned error means the drill itself could not run;
// invariant failures are in the reports.
func (e *Env) Run(ctx context.Context, names []string) ([]*ScenarioReport, error) {
	var reports []*ScenarioReport
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return reports, err
		}
		if err := e.prepare(ctx, name); err != nil {
			return reports, fmt.Errorf("prepare %s: %w", name, err)
		}
		if e.opts.Progress != nil {
			fmt.Fprintf(e.opts.Progress, "\n▶ %s\n", name)
		}
		rep, err := e.runScenario(ctx, name)
		if rep != nil {
			reports = append(reports, rep)
			if e.opts.Progress != nil {
				rep.WriteTimeline(e.opts.Progress)
			}
		}
		if err != nil {
			return reports, fmt.Errorf("%s: %w", name, err)
		}
	}
	return reports, nil
}

// prepare brings the environment to the scenario's starting position through the same
// orchestrator, unmeasured.
func (e *Env) prepare(ctx context.Context, name string) error {
	// A scenario starts from a still world: runs a fault left behind (a re-drive waiting out its
	// backoff, a watchdog's reconcile run) end first, so they act in the scenario that caused them.
	if err := e.quiesce(ctx, 60*time.Second); err != nil {
		return err
	}
	writer, _ := e.Pair.Roles()
	want := e.A
	if name == Failback {
		want = e.B
	}
	if writer != want.DB || e.primary.Load() != want {
		e.progress("setting up: switch over to %s (not measured)", want.Name)
		if _, err := e.orchestrate(ctx, want, "switchover", "drill: starting position"); err != nil {
			return err
		}
		if err := e.waitServing(ctx, want, 10*time.Second); err != nil {
			return err
		}
	}
	// Settled means the writer holds its lease too: a switchover's handover finishes after the
	// database moved, and a scenario started before it would race the tail of its setup.
	return e.waitFence(ctx, want, 10*time.Second)
}

// failedOverSince says whether a failover with data loss allowed changed the writer after t.
func (e *Env) failedOverSince(t time.Time) bool {
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.After(t) && rc.Kind == "failover" && rc.Err == nil {
			return true
		}
	}
	return false
}

// writerRegion is the region whose database writes now.
func (e *Env) writerRegion() *Region {
	if w, _ := e.Pair.Roles(); w == e.B.DB {
		return e.B
	}
	return e.A
}

// other is the region that is not r.
func (e *Env) other(r *Region) *Region {
	if r == e.A {
		return e.B
	}
	return e.A
}

// quiesce waits until neither region's state machine has a running execution.
func (e *Env) quiesce(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var running []string
		for _, r := range []*Region{e.A, e.B} {
			out, err := sfn.NewFromConfig(e.Cloud.Config(r.AWSRegion)).ListExecutions(ctx, &sfn.ListExecutionsInput{
				StateMachineArn: aws.String(r.Machine), StatusFilter: sfntypes.ExecutionStatusRunning})
			if err != nil {
				return fmt.Errorf("list %s's running executions: %w", r.Name, err)
			}
			for _, ex := range out.Executions {
				running = append(running, aws.ToString(ex.Name))
			}
		}
		if len(running) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("executions still running %s after the last scenario: %s", limit, strings.Join(running, ", "))
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// orchestrate asks a region's failover-trigger for a manual switchover or failover and waits
// for the execution it starts.
func (e *Env) orchestrate(ctx context.Context, r *Region, action, reason string) (string, error) {
	req := map[string]any{"action": action, "reason": reason}
	if action == "failover" {
		req["acknowledgeDataLoss"] = true // the drill's failover is the unplanned loss of region A
	}
	in, _ := json.Marshal(req)
	out, err := e.trigger(ctx, r, in)
	if err != nil {
		return "", err
	}
	return e.awaitExecution(ctx, out)
}

func (e *Env) awaitExecution(ctx context.Context, triggerOutput string) (string, error) {
	var res struct {
		Started      bool   `json:"started"`
		ExecutionARN string `json:"executionArn"`
		Reason       string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(triggerOutput), &res); err != nil {
		return "", fmt.Errorf("failover-trigger answered %q: %w", triggerOutput, err)
	}
	if !res.Started {
		return "", fmt.Errorf("failover-trigger started no execution: %s", res.Reason)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	status, err := e.Cloud.WaitExecution(wctx, res.ExecutionARN)
	if err != nil {
		return "", fmt.Errorf("execution %s: %w", res.ExecutionARN, err)
	}
	if status != localcloud.ExecutionSucceeded {
		return res.ExecutionARN, fmt.Errorf("execution %s ended %s", res.ExecutionARN, status)
	}
	return res.ExecutionARN, nil
}

func (e *Env) runScenario(ctx context.Context, name string) (*ScenarioReport, error) {
	switch name {
	case Partition, HealthCut, WitnessDown:
		return e.runLeaseScenario(ctx, name)
	case Lag:
		return e.runLag(ctx)
	case RPOMax:
		return e.runRPOMax(ctx)
	}
	rep := &ScenarioReport{Name: name, TargetRTO: targetRTO[name], Start: time.Now()}
	runID := e.runID + "-" + name
	lo := e.opts.Load
	lo.URL, lo.RunID = e.EdgeURL(), runID
	noticesBefore := len(e.notices())
	load := StartLoad(ctx, lo)
	stopShow := e.showLoad(load)
	stopLoad := func() *Recording {
		stopShow()
		rec := load.Stop()
		rep.Attempts = rec.Attempts
		return rec
	}
	phase := func(name string, start time.Time) {
		rep.Phases = append(rep.Phases, Phase{Name: name, Start: start, End: time.Now()})
	}
	e.progress("load: %d clients through the edge", lo.withDefaults().Clients)
	if err := sleep(ctx, steady); err != nil {
		stopLoad()
		return rep, err
	}
	phase("steady load", rep.Start)

	from, to := e.A, e.B
	if name == Failback {
		from, to = e.B, e.A
		// The trigger holds manual requests to COOLDOWN too (one incident, one run), and the
		// unplanned scenario may have started a run in region A: the operator waits it out.
		if err := sleep(ctx, e.deployment(to).Cooldown); err != nil {
			stopLoad()
			return rep, err
		}
	}
	actStart := time.Now()
	faultAt, to, execErr := e.activate(ctx, rep, name, from, to)
	if to == from { // racing: the region that won writes, the other one replicates
		from = e.other(to)
	}
	if execErr == nil && name != ControlPlaneDown {
		execErr = e.waitServing(ctx, to, 10*time.Second)
	}
	e.addOrchestratorPhases(rep, actStart, faultAt)
	e.checkConvergence(rep, to, faultAt, execErr)
	settle := time.Now()
	if err := sleep(ctx, steady); err != nil {
		stopLoad()
		return rep, err
	}
	rec := stopLoad()
	phase("steady load after recovery", settle)
	rep.End = time.Now()
	if execErr != nil {
		rep.failf("the orchestrator did not move traffic to %s: %v", to.Name, execErr)
	}

	writer, _ := e.Pair.Roles()
	if writer != to.DB {
		rep.failf("the writer is %s after the %s, want %s", writer.Name, name, to.Name)
	}
	rep.Outcomes = CountOutcomes(rec.Attempts)
	rep.Fault = faultAt
	rep.Outages = Outages(rec.Attempts, faultAt)
	for _, o := range rep.Outages {
		rep.RTO = max(rep.RTO, o.RTO(rep.End))
	}
	if rep.RTO > rep.TargetRTO {
		rep.How = append(rep.How, fmt.Sprintf("RTO %s is over the %s target", ms(rep.RTO), ms(rep.TargetRTO)))
	}
	return rep, e.checkWrites(ctx, rep, rec, runID, from, to, faultAt, noticesBefore)
}

// checkConvergence holds a fault scenario's bound and notices: converged (to writes and serves)
// within faultBound of the fault, with the notices the scenario allows.
func (e *Env) checkConvergence(rep *ScenarioReport, to *Region, faultAt time.Time, execErr error) {
	bound, ok := faultBound[rep.Name]
	if !ok {
		return
	}
	if took := time.Since(faultAt); execErr == nil && took > bound {
		rep.failf("converged %s after the fault, over the %s bound", ms(took), ms(bound))
	}
	switch rep.Name {
	case Racing:
		e.checkRaceNotices(rep, to, faultAt)
	case HostDown:
		e.checkOneSuccess(rep, to, faultAt)
	default:
		e.checkNotices(rep, to, faultAt)
	}
}

// checkWrites compares the writes acknowledged during an activation with what the new writer
// stores, and puts the old writer back as a replica: resynchronised and held to the reported
// loss window after a failover with data loss allowed, rebuilt if the peer failed over meanwhile,
// otherwise just replicating again.
func (e *Env) checkWrites(ctx context.Context, rep *ScenarioReport, rec *Recording, runID string, from, to *Region, faultAt time.Time, noticesBefore int) error {
	writer, _ := e.Pair.Roles()
	rep.Integrity.Acked = len(rec.Acked())
	rows, err := runRows(ctx, writer, appDatabase, runID)
	if err != nil {
		rep.failf("cannot check the writes: %v", err)
		return nil
	}
	rep.Integrity = CheckIntegrity(rec.Acked(), rows)
	lossAllowed := rep.Name == Unplanned || rep.Name == ControlPlaneDown
	holdWriteInvariants(rep, lossAllowed)
	if lossAllowed {
		if err := e.resync(ctx, rep, from, runID, rows); err != nil {
			return err
		}
		// With the writer lease, the GTID gap is not the bound: every loss must sit inside the
		// window the notification reported, before the old writer's lease ended.
		rep.Lease = &LeaseOutcome{ReportedLossWindowMs: e.reportedLoss(noticesBefore, to)}
		e.checkLossWindow(rep, rec.Acked(), e.leaseExpiry(from.AWSRegion, time.Now()))
	} else {
		if e.failedOverSince(faultAt) {
			// The other region took the writer with a data-loss failover (host-down: the region
			// that was promoted served nothing): the old writer is rebuilt as a replica.
			t := time.Now()
			rj, err := e.Pair.Rejoin(ctx)
			if err != nil {
				return err
			}
			rep.GTIDGap = rj.Discarded
			rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("rebuild %s as replica (%d transactions discarded)", from.Name, rj.Discarded), Start: t, End: time.Now()})
		}
		if err := e.waitReplicating(ctx, from, 5*time.Second); err != nil {
			rep.failf("%v", err)
		}
	}
	return nil
}

// activate runs the scenario's activation of region to, with its fault, and returns when the
// fault happened (what detection and RTO are measured from), the region that must end up writing
// and serving (to, but for racing activations the one that won), and why the activation failed.
func (e *Env) activate(ctx context.Context, rep *ScenarioReport, name string, from, to *Region) (faultAt time.Time, writer *Region, execErr error) {
	faultAt = time.Now()
	switch name {
	case Switchover, Failback:
		e.progress("operator: manual switchover in %s", to.Name)
		_, execErr = e.orchestrate(ctx, to, "switchover", "drill: planned "+name)
		rep.How = append(rep.How, fmt.Sprintf("manual request to %s's failover-trigger; statemachine/failover.asl.json ran under aws-local-stepfunctions, its tasks on %s's Lambda host", to.Name, to.Name))
	case Unplanned:
		faultAt, execErr = e.loseRegion(ctx, rep, from, to)
	case ControlPlaneDown:
		faultAt, execErr = e.controlPlaneDown(ctx, rep, from, to)
	case KilledInPromote, KilledInAwait, KilledInSwap:
		faultAt, execErr = e.killRunner(ctx, rep, name, to)
	case CrashInAwait:
		faultAt, execErr = e.crashInAwait(ctx, rep, to)
	case HostDown:
		faultAt, to, execErr = e.hostDown(ctx, rep, to)
	case TrafficAPIDown:
		faultAt, execErr = e.trafficAPIDown(ctx, rep, to)
	case Racing:
		faultAt, to, execErr = e.racing(ctx, rep)
	case LateAlarm:
		faultAt, execErr = e.lateAlarm(ctx, rep, to)
	default:
		execErr = fmt.Errorf("unknown scenario %q", name)
	}
	if to == nil { // the activation failed before a winner was known
		to = e.B
	}
	return faultAt, to, execErr
}

// loseRegion is the unplanned scenario's fault: region from's database is killed (after its
// replication link, when LinkCutLead asks for it), and region to's alarm must start the failover.
func (e *Env) loseRegion(ctx context.Context, rep *ScenarioReport, from, to *Region) (time.Time, error) {
	// A region rarely vanishes at once: its network to the other region often goes first.
	// Cutting the replication link shortly before the kill makes the writes of that moment
	// the failover's loss, which the drill then finds and lists; without the cut the replica
	// is milliseconds behind and the loss is usually nothing.
	if lead := e.opts.LinkCutLead; lead > 0 {
		cutAt := time.Now()
		repl := e.replLinks[from.DB]
		if err := repl.SetCut(true); err != nil {
			return cutAt, err
		}
		// Once the region is gone the link may come back: there is nothing left to carry.
		defer func() {
			if err := repl.SetCut(false); err != nil {
				rep.failf("restore the replication link from %s: %v", from.Name, err)
			}
		}()
		rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("replication link %s → %s cut (%s)", from.Name, to.Name, linkKind()), Start: cutAt, End: time.Now()})
		e.progress("fault: replication link %s → %s cut", from.Name, to.Name)
		if err := sleep(ctx, lead); err != nil {
			return cutAt, err
		}
	}
	pid := from.DB.PID()
	faultAt := time.Now()
	if err := from.DB.Kill(); err != nil {
		return faultAt, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("SIGKILL %s's mariadbd (pid %d)", from.Name, pid), Start: faultAt, End: time.Now()})
	e.progress("fault: SIGKILL %s's mariadbd (pid %d)", from.Name, pid)
	rep.How = append(rep.How, fmt.Sprintf("%s's real peer-prober (on template.yaml's schedule, %g× faster) published PeerWriterHealthy to localcloud's CloudWatch; "+
		"the alarm template.yaml defines on it went to ALARM there, and the trigger's EventBridge rule from template.yaml delivered the state change to %s's failover-trigger, "+
		"which started statemachine/failover.asl.json under aws-local-stepfunctions", to.Name, e.opts.DetectionSpeedup, to.Name))
	return faultAt, e.awaitAlarmExecution(ctx, to, faultAt, 30*time.Second)
}

// awaitAlarmExecution waits for the alarm raised after since to start an execution in r, then
// for that execution.
func (e *Env) awaitAlarmExecution(ctx context.Context, r *Region, since time.Time, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		var started *triggerEvent
		for i := range e.triggers {
			t := e.triggers[i]
			if t.Region == r.Name && t.At.After(since) && (t.Err != nil || strings.Contains(t.Result, `"started":true`)) {
				started = &t
			}
		}
		e.mu.Unlock()
		if started != nil {
			if started.Err != nil {
				return started.Err
			}
			_, err := e.awaitExecution(ctx, started.Result)
			return err
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var seen []string
	for _, t := range e.triggers {
		if t.At.After(since) {
			seen = append(seen, fmt.Sprintf("%s: %s %v", t.Region, t.Result, t.Err))
		}
	}
	return fmt.Errorf("no failover execution started in %s within %v of the fault (trigger answers: %v)", r.Name, limit, seen)
}

// addOrchestratorPhases puts what happened since start on the timeline: alarms, the state
// machine's states, the database promotion with its phases, and the traffic switch.
func (e *Env) addOrchestratorPhases(rep *ScenarioReport, start, faultAt time.Time) {
	e.mu.Lock()
	alarms := slices.Clone(e.alarms)
	steps := slices.Clone(e.steps)
	traffic := slices.Clone(e.traffic)
	e.mu.Unlock()
	now := time.Now()
	for _, a := range alarms {
		if a.At.After(faultAt) {
			if rep.Detection == 0 {
				rep.Detection = a.At.Sub(faultAt)
			}
			rep.Phases = append(rep.Phases, Phase{Name: "detection: " + a.Region + "'s alarm state change delivered by EventBridge", Start: faultAt, End: a.At})
		}
	}
	var mine []stepEvent
	for _, s := range steps {
		if s.At.After(start) {
			mine = append(mine, s)
		}
	}
	// Both regions' runs append their states as they happen: order them by time.
	slices.SortStableFunc(mine, func(a, b stepEvent) int { return a.At.Compare(b.At) })
	for i, s := range mine {
		end := now // a state lasts until its region's run enters the next one
		for _, next := range mine[i+1:] {
			if next.Region == s.Region {
				end = next.At
				break
			}
		}
		if s.State == "Done" || s.State == "Failed" || s.State == "NotificationFailed" || s.State == "Superseded" || s.State == aborted {
			end = s.At
		}
		rep.Phases = append(rep.Phases, Phase{Name: "state " + s.State + " (" + s.Region + ")", Start: s.At, End: end})
	}
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.Before(start) {
			continue
		}
		t := rc.Start
		add := func(name string, d time.Duration) {
			rep.Phases = append(rep.Phases, Phase{Name: name, Start: t, End: t.Add(d)})
			t = t.Add(d)
		}
		switch {
		case rc.Switchover != nil:
			sw := rc.Switchover
			add("db: fence "+sw.OldWriter.Name+" (read_only=ON)", sw.Fence)
			add("db: "+sw.NewWriter.Name+" catches up (MASTER_GTID_WAIT)", sw.CatchUp)
			add("db: promote "+sw.NewWriter.Name, sw.Promote)
			add("db: "+sw.OldWriter.Name+" replicates from "+sw.NewWriter.Name, sw.Repoint)
		case rc.Failover != nil:
			fo := rc.Failover
			fence := "db: fence " + fo.OldWriter.Name + " (no answer)"
			if fo.OldWriterFenced {
				fence = "db: fence " + fo.OldWriter.Name + " (read_only=ON)"
			}
			add(fence, fo.Fence)
			add("db: "+fo.NewWriter.Name+" applies what it received", fo.Drain)
			add("db: promote "+fo.NewWriter.Name+" (data loss allowed)", fo.Promote)
		}
		if rc.Err != nil {
			rep.failf("the %s failed: %v", rc.Kind, rc.Err)
		}
	}
	for _, t := range traffic {
		if t.At.After(start) {
			rep.Phases = append(rep.Phases, Phase{Name: "edge now sends writes to " + t.Region, Start: t.At, End: t.At})
		}
	}
	e.addProxyPhases(rep, start)
	e.addFollowPhase(rep, start, traffic)
	slices.SortStableFunc(rep.Phases, func(a, b Phase) int { return a.Start.Compare(b.Start) })
}

// resync restarts the old writer's database after an unplanned failover, measures what it had
// that the new writer never received, and makes it a replica again.
func (e *Env) resync(ctx context.Context, rep *ScenarioReport, old *Region, runID string, newRows []Row) error {
	t := time.Now()
	if err := old.DB.Restart(ctx); err != nil {
		return fmt.Errorf("restart %s's mariadbd: %w", old.Name, err)
	}
	rep.Phases = append(rep.Phases, Phase{Name: "restart " + old.Name + "'s mariadbd", Start: t, End: time.Now()})
	gap, err := e.Pair.Divergence(ctx)
	if err != nil {
		return err
	}
	oldRows, err := runRows(ctx, old.DB, appDatabase, runID)
	if err != nil {
		return err
	}
	onNew := map[string]bool{}
	for _, r := range newRows {
		onNew[r.Task] = true
	}
	for _, r := range oldRows {
		if !onNew[r.Task] {
			rep.Diverged = append(rep.Diverged, r)
		}
	}
	rep.GTIDGap = gap
	t = time.Now()
	rj, err := e.Pair.Rejoin(ctx)
	if err != nil {
		return err
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("resynchronise %s as replica (%d transactions discarded)", old.Name, rj.Discarded), Start: t, End: time.Now()})
	rep.End = time.Now()

	diverged := map[string]bool{}
	for _, r := range rep.Diverged {
		diverged[r.Task] = true
	}
	for _, l := range rep.Integrity.Lost {
		if !diverged[l.Task] {
			rep.failf("acknowledged write %s (%q) is missing but was not among the transactions the failover lost", l.ID, l.Task)
		}
	}
	if uint64(len(rep.Integrity.Lost)) > gap {
		rep.failf("%d acknowledged writes lost, more than the GTID gap of %d transactions", len(rep.Integrity.Lost), gap)
	}
	if err := e.waitReplicating(ctx, old, 5*time.Second); err != nil {
		rep.failf("%v", err)
	}
	return nil
}

// waitReplicating waits until r's server is a read-only replica with both threads running.
func (e *Env) waitReplicating(ctx context.Context, r *Region, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st := e.Pair.Status(ctx, r.DB)
		if st.Replicating && st.ReadOnly {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not a read-only running replica after %v (read_only=%v, replicating=%v): %s",
				r.Name, limit, st.ReadOnly, st.Replicating, st.LastError)
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// showLoad prints the clients' counts every second until the returned func is called.
func (e *Env) showLoad(l *Load) (stop func()) {
	if e.opts.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				ok, failed, acked := l.Counts()
				e.progress("load: %d requests ok, %d failed, %d writes acknowledged", ok, failed, acked)
			}
		}
	}()
	return func() { close(done); <-stopped }
}
