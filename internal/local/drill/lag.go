package drill

import (
	"context"

	"encoding/json"
	"fmt"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Lag: the standby falls behind by more than MAX_LAG, then the writer dies. The failover must be
// refused and notified; once the standby has applied what it had received, a new alarm fails
// over, losing no more than the notification says.
const Lag = "lag"

// drillMaxLag is MAX_LAG in the drill (60 s deployed), scaled like the lease's timings.
const drillMaxLag = 5 * time.Second

func (e *Env) runLag(ctx context.Context) (*ScenarioReport, error) {
	rep := &ScenarioReport{Name: Lag, TargetRTO: 20 * time.Second, Start: time.Now(), Lease: &LeaseOutcome{ReportedLossWindowMs: -1}}
	runID := e.runID + "-" + Lag
	lo := e.opts.Load
	lo.URL, lo.RunID = e.EdgeURL(), runID
	load := StartLoad(ctx, lo)
	stopShow := e.showLoad(load)
	stop := func() *Recording { stopShow(); return load.Stop() }
	noticesBefore := len(e.notices())
	if err := sleep(ctx, steady); err != nil {
		stop()
		return rep, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: "steady load", Start: rep.Start, End: time.Now()})

	// The standby keeps receiving but stops applying: its replicated heartbeat ages.
	lagAt := time.Now()
	if err := e.B.DB.Exec(ctx, "STOP SLAVE SQL_THREAD"); err != nil {
		stop()
		return rep, err
	}
	e.progress("fault: %s stops applying replication; its heartbeat ages past MAX_LAG %s", e.B.Name, drillMaxLag)
	if err := sleep(ctx, drillMaxLag+time.Second); err != nil {
		stop()
		return rep, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: e.B.Name + " applies nothing (SQL thread stopped)", Start: lagAt, End: time.Now()})
	faultAt := time.Now()
	pid := e.A.DB.PID()
	if err := e.A.DB.Kill(); err != nil {
		stop()
		return rep, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("SIGKILL %s's mariadbd (pid %d)", e.A.Name, pid), Start: faultAt, End: time.Now()})
	e.progress("fault: SIGKILL %s's mariadbd (pid %d)", e.A.Name, pid)
	if err := e.awaitAlarmExecution(ctx, e.B, faultAt, 30*time.Second); err == nil {
		rep.failf("the failover went ahead with the standby more than MAX_LAG behind")
	}
	refusedAt := time.Now()
	refused := false
	for _, n := range e.notices()[noticesBefore:] {
		var r failover.Report
		if json.Unmarshal([]byte(n), &r) == nil && r.Region == e.B.AWSRegion && r.Error != nil && r.Error.Error == "RefusedError" {
			refused = true
			rep.How = append(rep.How, "first alarm: refused and notified: "+r.Error.Cause)
		}
	}
	if !refused {
		rep.failf("no notification reported the refusal")
	}
	for _, rc := range e.GDB.RoleChanges() {
		if rc.Start.After(faultAt) {
			rep.failf("a %s ran although the lag was beyond MAX_LAG", rc.Kind)
		}
	}

	// The lag recovers: the standby applies what it had received. A new alarm, past the
	// trigger's cooldown, fails over.
	if err := e.B.DB.Exec(ctx, "START SLAVE SQL_THREAD"); err != nil {
		stop()
		return rep, err
	}
	e.progress("%s applies its relay log again; a new alarm after the cooldown", e.B.Name)
	if err := sleep(ctx, e.deployment(e.B).Cooldown+500*time.Millisecond); err != nil {
		stop()
		return rep, err
	}
	secondAt := time.Now()
	rep.Phases = append(rep.Phases, Phase{Name: "refused; the standby catches up; cooldown", Start: refusedAt, End: secondAt})
	if err := e.setAlarmState(ctx, e.B, e.B.Alarm, cwtypes.StateValueOk, "the lag recovered: look at the peer again"); err != nil {
		stop()
		return rep, err
	}
	execErr := e.awaitAlarmExecution(ctx, e.B, secondAt, 30*time.Second)
	if execErr == nil {
		execErr = e.waitServing(ctx, e.B, 10*time.Second)
	}
	e.addOrchestratorPhases(rep, faultAt, faultAt)
	if err := sleep(ctx, steady); err != nil {
		stop()
		return rep, err
	}
	rec := stop()
	rep.End = time.Now()
	rep.Attempts = rec.Attempts
	rep.Outcomes = CountOutcomes(rec.Attempts)
	rep.Fault = faultAt
	rep.Outages = Outages(rec.Attempts, faultAt)
	for _, o := range rep.Outages {
		rep.RTO = max(rep.RTO, o.RTO(rep.End))
	}
	if execErr != nil {
		rep.failf("the second alarm did not fail over to %s: %v", e.B.Name, execErr)
	}
	for _, n := range e.notices()[noticesBefore:] {
		var r failover.Report
		if json.Unmarshal([]byte(n), &r) == nil && r.Region == e.B.AWSRegion && r.Outcome == failover.OutcomeActivated {
			rep.Lease.Notice, rep.Lease.ReportedLossWindowMs = n, r.EstimatedDataLossMs
			rep.How = append(rep.How, fmt.Sprintf("second alarm: activated, estimated data loss %d ms", r.EstimatedDataLossMs))
		}
	}
	writer, _ := e.Pair.Roles()
	if writer != e.B.DB {
		rep.failf("the writer is %s after the second alarm, want %s", writer.Name, e.B.Name)
		return rep, nil
	}
	rows, err := runRows(ctx, writer, appDatabase, runID)
	if err != nil {
		return rep, err
	}
	acked := rec.Acked()
	rep.Integrity = CheckIntegrity(acked, rows)
	holdWriteInvariants(rep, true)
	e.checkLossWindow(rep, acked, e.leaseExpiry(e.A.AWSRegion, time.Now()))
	return rep, e.resync(ctx, rep, e.A, runID, rows)
}
