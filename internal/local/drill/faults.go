package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// Fault scenarios (`make drill SCENARIO=faults`): each injects one fault into an activation and
// asserts that the reconciliation loop converges within a stated bound to exactly one writer with
// all traffic on it, verified, with exactly one success notice and no acknowledged write lost or
// stored twice.
const (
	// KilledInPromote, KilledInAwait and KilledInSwap: region B's execution is stopped (Step
	// Functions' StopExecution) the moment the step's function has answered — the promotion asked
	// for, the promotion seen under way, the traffic moved — so the run never records it, verifies
	// or notifies. The ABORTED status-change event reaches B's trigger, which re-drives the
	// incident; B's watchdog (a writer without traffic) starts a reconcile run if the re-drive has
	// not repaired it first.
	KilledInPromote = "killed-in-promote"
	KilledInAwait   = "killed-in-await"
	KilledInSwap    = "killed-in-swap"
	// CrashInAwait: region B's failover-await process is SIGKILLed inside an invocation (while it
	// waits on DescribeGlobalClusters); the Lambda host answers Runtime.ExitError and the state
	// machine's Retry runs the step again in a new process.
	CrashInAwait = "crash-in-await"
	// HostDown: region B's Lambda host goes down for hostOutage right after B's Promote asked for
	// the switchover: every invocation in B is refused (503 ServiceException, as Lambda answers in
	// an outage) and its processes die, so the run's retries run out, its status-change event waits
	// in EventBridge's retries, and B serves nothing. Once the host is back, the re-drive (or the
	// watchdog's reconcile run) moves the traffic.
	HostDown = "host-down"
	// TrafficAPIDown: a switchover to region B while CloudFront's UpdateDistribution answers 500
	// for 30 s. B's run exhausts its retries and fails (a failure notice); each failed run's
	// status-change event makes the trigger re-drive the incident after 5, 10, 20 s, until a run
	// lands the traffic change once the API is back.
	TrafficAPIDown = "traffic-api-down"
	// Racing: a switchover to region B and, 0–2 s later, one to region A, with every CloudFront
	// update taking 1.5 s. The lease epoch on each traffic change keeps the older one from
	// overwriting the newer: the end state is one writer with all traffic on it.
	Racing = "racing"
	// LateAlarm: while B's switchover runs slowly (CloudFront updates held 6 s), a new ALARM
	// transition of B's activation alarm arrives after the cooldown. It must join the running
	// execution: no second execution, no false failure notice.
	LateAlarm = "late-alarm"
)

// FaultScenarios lists the fault scenarios, in running order.
var FaultScenarios = []string{KilledInPromote, KilledInAwait, KilledInSwap, CrashInAwait, HostDown, TrafficAPIDown, Racing, LateAlarm}

// faultBound is how long each fault scenario may take from the fault to convergence. A killed run
// is repaired by a re-drive after REDRIVE_BACKOFF (5 s in the drill) or by the watchdog's alarm.
var faultBound = map[string]time.Duration{KilledInPromote: 20 * time.Second, KilledInAwait: 20 * time.Second, KilledInSwap: 20 * time.Second,
	CrashInAwait: 15 * time.Second, HostDown: 45 * time.Second, TrafficAPIDown: 75 * time.Second, Racing: 30 * time.Second, LateAlarm: 30 * time.Second}

// hostOutage is how long region B's Lambda host is down in HostDown.
const hostOutage = 10 * time.Second

// trafficAPIOutage is how long the traffic API answers 500 in TrafficAPIDown.
const trafficAPIOutage = 30 * time.Second

// killedIn is the Task state each runner-killed scenario stops the execution after, by the
// function that state invokes.
var killedIn = map[string]struct{ state, function string }{
	KilledInPromote: {"Promote", "failover-promote"},
	KilledInAwait:   {"AwaitPromotion", "failover-await"},
	KilledInSwap:    {"SwapTraffic", "failover-traffic"},
}

// killRunner asks region to's trigger for a switchover and stops the execution once the named
// step's function has answered. It returns the moment of the stop, once a success notice from to
// says the incident converged (or the scenario's bound has passed).
func (e *Env) killRunner(ctx context.Context, rep *ScenarioReport, name string, to *Region) (time.Time, error) {
	k := killedIn[name]
	killed := make(chan time.Time, 1)
	var stopErr error
	to.tap.arm(k.function, func() {
		at := time.Now()
		var n int
		if n, stopErr = e.stopRuns(ctx, to, "drill: runner killed in "+k.state); stopErr == nil && n == 0 {
			stopErr = fmt.Errorf("no running execution in %s to stop", to.Name)
		}
		killed <- at
	})
	defer to.tap.disarm(k.function)
	e.progress("fault armed: %s's execution is stopped once %s (%s) has answered", to.Name, k.state, k.function)
	in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: runner killed in " + k.state})
	if _, err := e.trigger(ctx, to, in); err != nil {
		return time.Now(), err
	}
	var faultAt time.Time
	select {
	case faultAt = <-killed:
	case <-ctx.Done():
		return time.Now(), ctx.Err()
	case <-time.After(30 * time.Second):
		return time.Now(), fmt.Errorf("%s's execution never reached %s", to.Name, k.state)
	}
	if stopErr != nil {
		return faultAt, stopErr
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("StopExecution of %s's run after %s answered", to.Name, k.state), Start: faultAt, End: time.Now()})
	e.progress("fault: %s's execution stopped after %s answered: it ends ABORTED, nothing recorded", to.Name, k.state)
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s; the drill's step tap stopped the execution (StopExecution) the moment %s answered; the ABORTED status-change event reached %s's failover-trigger, which re-drives the incident (the watchdog stands by for a writer without traffic)",
		to.Name, k.function, to.Name))
	return faultAt, e.awaitSuccess(ctx, to, faultAt, faultBound[name])
}

// crashInAwait asks region to's trigger for a switchover and SIGKILLs to's failover-await
// processes while the first await invocation waits on a DescribeGlobalClusters held for 1 s.
func (e *Env) crashInAwait(ctx context.Context, rep *ScenarioReport, to *Region) (time.Time, error) {
	crashed := make(chan []int, 1)
	to.tap.armRequest("failover-await", func() {
		e.Cloud.DelayCalls("rds:DescribeGlobalClusters", time.Second)
		e.goTask(func(tctx context.Context) {
			defer e.Cloud.DelayCalls("rds:DescribeGlobalClusters", 0)
			if sleep(tctx, 400*time.Millisecond) != nil {
				crashed <- nil
				return
			}
			var pids []int
			for _, pid := range to.Host.FunctionPIDs("failover-await") {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					pids = append(pids, pid)
				}
			}
			crashed <- pids
		})
	})
	defer to.tap.disarm("failover-await")
	in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: failover-await crashes"})
	if _, err := e.trigger(ctx, to, in); err != nil {
		return time.Now(), err
	}
	var pids []int
	select {
	case pids = <-crashed:
	case <-ctx.Done():
		return time.Now(), ctx.Err()
	case <-time.After(30 * time.Second):
		return time.Now(), fmt.Errorf("%s's execution never invoked failover-await", to.Name)
	}
	faultAt := time.Now()
	if len(pids) == 0 {
		return faultAt, fmt.Errorf("no failover-await process of %s to crash", to.Name)
	}
	rep.Phases = append(rep.Phases, Phase{Name: fmt.Sprintf("SIGKILL %s's failover-await (pid %v) inside an invocation", to.Name, pids), Start: faultAt, End: faultAt})
	e.progress("fault: SIGKILL %s's failover-await (pid %v) while it waits on DescribeGlobalClusters", to.Name, pids)
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s; its failover-await process was SIGKILLed inside an invocation; the Lambda host answered Runtime.ExitError and the state machine's Retry ran the step again in a new process", to.Name))
	return faultAt, e.awaitSuccess(ctx, to, faultAt, faultBound[CrashInAwait])
}

// hostDown asks region to's trigger for a switchover and takes to's Lambda host down for
// hostOutage once Promote has answered. Region to then writes but serves nothing, so the other
// region's detection may rightly take the writer back; either way the world must converge. It
// returns the region that writes once every run has ended.
func (e *Env) hostDown(ctx context.Context, rep *ScenarioReport, to *Region) (time.Time, *Region, error) {
	down, up := make(chan time.Time, 1), make(chan struct{})
	var downErr error
	to.tap.arm("failover-promote", func() {
		at := time.Now()
		downErr = to.Host.SetDown(true)
		e.goTask(func(tctx context.Context) {
			defer close(up)
			sleep(tctx, hostOutage) //nolint:errcheck // on cancellation the host comes back at once
			if err := to.Host.SetDown(false); err != nil {
				e.log.Error("bring the Lambda host back", "region", to.Name, "error", err.Error())
			}
			e.progress("%s's Lambda host is up again", to.Name)
		})
		down <- at
	})
	defer to.tap.disarm("failover-promote")
	in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: the Lambda host goes down"})
	if _, err := e.trigger(ctx, to, in); err != nil {
		return time.Now(), nil, err
	}
	var faultAt time.Time
	select {
	case faultAt = <-down:
	case <-ctx.Done():
		return time.Now(), nil, ctx.Err()
	case <-time.After(30 * time.Second):
		return time.Now(), nil, fmt.Errorf("%s's execution never reached Promote", to.Name)
	}
	if downErr != nil {
		return faultAt, nil, fmt.Errorf("take %s's Lambda host down: %w", to.Name, downErr)
	}
	rep.Phases = append(rep.Phases, Phase{Name: to.Name + "'s Lambda host down (every invocation refused, processes killed)", Start: faultAt, End: faultAt.Add(hostOutage)})
	e.progress("fault: %s's Lambda host down for %s, right after Promote answered", to.Name, hostOutage)
	// Converged means the host back, a success notice from either region (the re-drive in to, or
	// the peer taking the writer back), then every run (a re-drive, a reconcile) ended.
	select {
	case <-up:
	case <-ctx.Done():
		return faultAt, nil, ctx.Err()
	}
	deadline := faultAt.Add(faultBound[HostDown])
	for {
		if a, _ := e.successes(e.A, faultAt); len(a) > 0 {
			break
		}
		if b, _ := e.successes(e.B, faultAt); len(b) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return faultAt, nil, fmt.Errorf("no success notice from either region within %s of the fault", faultBound[HostDown])
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return faultAt, nil, err
		}
	}
	if err := e.quiesce(ctx, time.Until(deadline)); err != nil {
		return faultAt, nil, err
	}
	won := e.writerRegion()
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s; its Lambda host refused every invocation for %s from the moment Promote answered (503 ServiceException, processes killed); EventBridge retried deliveries to it; %s writes once every run ended",
		to.Name, hostOutage, won.Name))
	return faultAt, won, e.waitServing(ctx, won, 10*time.Second)
}

// checkOneSuccess holds a scenario whose end state may be either region: exactly one success
// notice from either region since since, from the region that writes. Failure notices of runs
// that the success overtook are reported.
func (e *Env) checkOneSuccess(rep *ScenarioReport, writer *Region, since time.Time) {
	var ok []failover.Report
	failed := 0
	for _, r := range []*Region{e.A, e.B} {
		s, f := e.successes(r, since)
		ok, failed = append(ok, s...), failed+len(f)
	}
	if len(ok) != 1 || ok[0].Region != writer.AWSRegion {
		var from []string
		for _, n := range ok {
			from = append(from, n.Region+" "+string(n.Outcome))
		}
		rep.failf("success notices since the fault: %v; want exactly one, from %s, which writes", from, writer.Name)
		return
	}
	rep.How = append(rep.How, fmt.Sprintf("one success notice, from %s (%s, incident %s); %d failure notices of runs it overtook", writer.Name, ok[0].Outcome, ok[0].Incident, failed))
}

// racing asks region B's trigger for a switchover and, a random 0–2 s later, region A's, with
// CloudFront updates held 1.5 s, waits for both runs, and returns the region that writes.
func (e *Env) racing(ctx context.Context, rep *ScenarioReport) (time.Time, *Region, error) {
	// A's trigger holds manual requests to its cooldown, and preparing this scenario may have
	// switched over to A through it: the second activation must not be held by that.
	if err := sleep(ctx, e.deployment(e.A).Cooldown); err != nil {
		return time.Now(), nil, err
	}
	if err := e.quiesce(ctx, 30*time.Second); err != nil {
		return time.Now(), nil, err
	}
	e.Cloud.DelayCalls("cloudfront:UpdateDistribution", 1500*time.Millisecond)
	defer e.Cloud.DelayCalls("cloudfront:UpdateDistribution", 0)
	e.raceIncidents = nil
	gap := rand.N(2 * time.Second)
	faultAt := time.Now()
	e.progress("fault: switchover in %s, then in %s %s later, CloudFront updates taking 1.5 s", e.B.Name, e.A.Name, ms(gap))
	var outs []string
	for i, r := range []*Region{e.B, e.A} {
		if i == 1 {
			if err := sleep(ctx, gap); err != nil {
				return faultAt, nil, err
			}
		}
		in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: racing activation to " + r.Name})
		out, err := e.trigger(ctx, r, in)
		if err != nil {
			return faultAt, nil, err
		}
		outs = append(outs, out)
		var started struct {
			ExecutionName string `json:"executionName"`
		}
		if json.Unmarshal([]byte(out), &started) == nil {
			e.raceIncidents = append(e.raceIncidents, started.ExecutionName)
		}
		rep.Phases = append(rep.Phases, Phase{Name: "manual switchover requested in " + r.Name, Start: time.Now(), End: time.Now()})
	}
	var statuses []string
	for i, out := range outs {
		_, err := e.awaitExecution(ctx, out)
		statuses = append(statuses, fmt.Sprintf("%s: %v", []string{e.B.Name, e.A.Name}[i], err))
	}
	// The loser's failure may be re-driven: the end state is the one after every run has ended.
	if err := e.quiesce(ctx, faultBound[Racing]); err != nil {
		return faultAt, nil, err
	}
	to := e.writerRegion()
	rep.How = append(rep.How, fmt.Sprintf("switchover requested in %s, then in %s %s later, with CloudFront updates held 1.5 s; the runs ended %v; %s writes",
		e.B.Name, e.A.Name, ms(gap), statuses, to.Name))
	return faultAt, to, e.waitServing(ctx, to, 10*time.Second)
}

// checkRaceNotices holds the racing scenario's notices, those of its two incidents (and their
// re-drives): the last success is from the region that writes, its incident has exactly one
// success and no failure, and the other incident at most one success. The other's failure notice
// (it lost the race: its traffic change carried an older epoch) is reported, not failed.
func (e *Env) checkRaceNotices(rep *ScenarioReport, writer *Region, since time.Time) {
	successes, failures := map[string]int{}, map[string][]string{}
	last, lastIncident := "", ""
	e.mu.Lock()
	for _, n := range e.published {
		var rp failover.Report
		if !n.At.After(since) || !isNotificationTopic(n.TopicARN) || json.Unmarshal([]byte(n.Message), &rp) != nil || !slices.Contains(e.raceIncidents, rp.Incident) {
			continue
		}
		switch rp.Outcome {
		case failover.OutcomeActivated, failover.OutcomeReconciled, failover.OutcomeNoChange:
			successes[rp.Incident]++
			last, lastIncident = rp.Region, rp.Incident
		default:
			why := string(rp.Outcome)
			if rp.Error != nil {
				why += " (" + rp.Error.Error + ")"
			}
			failures[rp.Incident] = append(failures[rp.Incident], why)
		}
	}
	e.mu.Unlock()
	switch {
	case last != writer.AWSRegion:
		rep.failf("the last success notice of the racing incidents %v is from %q, but %s writes and serves", e.raceIncidents, last, writer.Name)
	case successes[lastIncident] != 1 || len(failures[lastIncident]) > 0:
		rep.failf("incident %s (the winner): %d success and %d failure notices, want exactly one success", lastIncident, successes[lastIncident], len(failures[lastIncident]))
	}
	for incident, n := range successes {
		if n > 1 {
			rep.failf("incident %s: %d success notices, want at most one", incident, n)
		}
	}
	rep.How = append(rep.How, fmt.Sprintf("notices: successes %v, failures %v; the last success from %s", successes, failures, last))
}

// successes returns region r's notices since since that report success, and those that report
// failure.
func (e *Env) successes(r *Region, since time.Time) (ok, failed []failover.Report) {
	topic := e.deployment(r).TopicARN
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.published {
		if !n.At.After(since) || n.TopicARN != topic {
			continue
		}
		// The topic also carries the alarms' own notifications: only the orchestrator's reports count.
		var rp failover.Report
		if json.Unmarshal([]byte(n.Message), &rp) != nil || rp.Outcome == "" {
			continue
		}
		switch rp.Outcome {
		case failover.OutcomeActivated, failover.OutcomeReconciled, failover.OutcomeNoChange:
			ok = append(ok, rp)
		default:
			failed = append(failed, rp)
		}
	}
	return ok, failed
}

// describeFailures names each failure notice by its incident and error, for a report.
func describeFailures(failed []failover.Report) []string {
	var out []string
	for _, f := range failed {
		what := f.Incident + ": " + string(f.Outcome)
		if f.Error != nil {
			what += " (" + f.Error.Error + ": " + f.Error.Cause + ")"
		}
		out = append(out, what)
	}
	return out
}

// checkNotices asserts exactly one success notice from region r since since; failure notices of
// runs that were re-driven are reported, not failed.
func (e *Env) checkNotices(rep *ScenarioReport, r *Region, since time.Time) {
	ok, failed := e.successes(r, since)
	if len(ok) != 1 {
		rep.failf("%d success notices from %s for the incident, want exactly one", len(ok), r.Name)
		return
	}
	rep.How = append(rep.How, fmt.Sprintf("one success notice from %s (%s); failure notices of runs re-driven before it: %v", r.Name, ok[0].Outcome, describeFailures(failed)))
}

// awaitSuccess waits for a success notice from r after since.
func (e *Env) awaitSuccess(ctx context.Context, r *Region, since time.Time, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if ok, _ := e.successes(r, since); len(ok) > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	_, failed := e.successes(r, since)
	return fmt.Errorf("no success notice from %s within %v of the fault (failure notices: %v)", r.Name, limit, describeFailures(failed))
}

// trafficAPIDown makes CloudFront's UpdateDistribution answer 500 for trafficAPIOutage, then asks
// region to's trigger for a switchover.
func (e *Env) trafficAPIDown(ctx context.Context, rep *ScenarioReport, to *Region) (time.Time, error) {
	faultAt := time.Now()
	// Far more failures than the runs can use in the outage; the rest are cleared when it ends.
	for range 500 {
		e.Cloud.FailNext("cloudfront:UpdateDistribution", 500, "InternalError", "We encountered an internal error. Please try again.")
	}
	time.AfterFunc(trafficAPIOutage, e.Cloud.ClearFaults)
	rep.Phases = append(rep.Phases, Phase{Name: "CloudFront UpdateDistribution answers 500", Start: faultAt, End: faultAt.Add(trafficAPIOutage)})
	e.progress("fault: CloudFront's UpdateDistribution answers 500 for %s; operator: switchover in %s", trafficAPIOutage, to.Name)
	in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: switchover while the traffic API fails"})
	if _, err := e.trigger(ctx, to, in); err != nil {
		return faultAt, err
	}
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s while localcloud's CloudFront answered 500; each failed run's status-change event made %s's failover-trigger re-drive the incident", to.Name, to.Name))
	return faultAt, e.awaitSuccess(ctx, to, faultAt, faultBound[TrafficAPIDown])
}

// lateAlarm starts a slow switchover in to, then raises to's activation alarm again after the
// cooldown while the run still runs, and checks that the trigger joined the run.
func (e *Env) lateAlarm(ctx context.Context, rep *ScenarioReport, to *Region) (time.Time, error) {
	faultAt := time.Now()
	e.Cloud.DelayCalls("cloudfront:UpdateDistribution", 6*time.Second)
	defer e.Cloud.DelayCalls("cloudfront:UpdateDistribution", 0)
	in, _ := json.Marshal(map[string]string{"action": "switchover", "reason": "drill: slow switchover"})
	out, err := e.trigger(ctx, to, in)
	if err != nil {
		return faultAt, err
	}
	if err := sleep(ctx, e.deployment(to).Cooldown+time.Second); err != nil {
		return faultAt, err
	}
	alarmAt := time.Now()
	e.progress("fault: %s's alarm %s → ALARM again, after the cooldown, while the switchover runs", to.Name, to.Alarm)
	if err := e.setAlarmState(ctx, to, to.Alarm, cwtypes.StateValueAlarm, "drill: a new ALARM transition during the run"); err != nil {
		return faultAt, err
	}
	rep.Phases = append(rep.Phases, Phase{Name: "second ALARM transition (" + to.Name + ")", Start: alarmAt, End: alarmAt})
	if _, err := e.awaitExecution(ctx, out); err != nil {
		return faultAt, err
	}
	e.mu.Lock()
	var answers []string
	for _, t := range e.triggers {
		if t.Region == to.Name && t.At.After(alarmAt) {
			answers = append(answers, t.Result)
		}
	}
	e.mu.Unlock()
	if len(answers) != 1 || !strings.Contains(answers[0], `"joined":true`) {
		rep.failf("the second alarm's trigger answers %v, want one that joined the running execution", answers)
	}
	if _, failed := e.successes(to, faultAt); len(failed) > 0 {
		rep.failf("%d failure notices during a successful switchover: %v", len(failed), describeFailures(failed))
	}
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s with CloudFront updates held 6 s; %s's activation alarm raised again after the %s cooldown reached the failover-trigger through EventBridge and joined the run",
		to.Name, to.Name, e.deployment(to).Cooldown))
	return faultAt, nil
}

// notice is one message on a notifications topic.
type notice struct {
	At time.Time
	localcloud.SNSMessage
}
