package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	// Interrupted: region B's state machine runner dies after Promote asked for the switchover, so
	// the database changes writer and the run never moves traffic, verifies or notifies. The
	// execution's ABORTED event reaches B's trigger, which re-drives the incident; B's watchdog
	// (a writer without traffic) starts a reconcile run if the re-drive has not repaired it first.
	Interrupted = "interrupted"
	// TrafficAPIDown: a switchover to region B while CloudFront's UpdateDistribution answers 500
	// for 30 s. B's run exhausts its retries and fails (a failure notice); each failed run's
	// status-change event makes the trigger re-drive the incident after 5, 10, 20 s, until a run
	// lands the traffic change once the API is back.
	TrafficAPIDown = "traffic-api-down"
	// LateAlarm: while B's switchover runs slowly (CloudFront updates held 6 s), a new ALARM
	// transition of B's activation alarm arrives after the cooldown. It must join the running
	// execution: no second execution, no false failure notice.
	LateAlarm = "late-alarm"
)

// FaultScenarios lists the fault scenarios, in running order.
var FaultScenarios = []string{Interrupted, TrafficAPIDown, LateAlarm}

// faultBound is how long each fault scenario may take from the fault to convergence.
var faultBound = map[string]time.Duration{Interrupted: 20 * time.Second, TrafficAPIDown: 75 * time.Second, LateAlarm: 30 * time.Second}

// trafficAPIOutage is how long the traffic API answers 500 in TrafficAPIDown.
const trafficAPIOutage = 30 * time.Second

// interruptAfterPromote runs region r's first two steps for a manual switchover directly on its
// Lambda host, as a runner that died right after Promote leaves things: the promotion asked for,
// no traffic change, no notice. Then, as EventBridge does for the execution that ended ABORTED, it
// delivers the "Step Functions Execution Status Change" event to r's failover-trigger, which
// re-drives the incident.
func (e *Env) interruptAfterPromote(ctx context.Context, r *Region) error {
	name := "drill-interrupted-" + e.runID
	input, _ := json.Marshal(failover.Run{Region: r.AWSRegion, Mode: failover.ModeSwitchover, Reason: "drill: runner killed after Promote",
		Incident: name, DetectedAt: time.Now().UTC()})
	run := input
	for _, fn := range []string{"failover-preflight", "failover-promote"} {
		res, err := r.Host.Invoke(ctx, fn, run)
		if err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
		if res.FunctionError != nil {
			return fmt.Errorf("%s: %s: %s", fn, res.FunctionError.Type, res.FunctionError.Message)
		}
		run = res.Payload
	}
	arn := strings.Replace(r.Machine, ":stateMachine:", ":execution:", 1) + ":" + name
	event, _ := json.Marshal(map[string]any{
		"version": "0", "id": e.runID + "-aborted", "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": localcloud.DefaultAccount, "region": r.AWSRegion, "time": time.Now().UTC().Format(time.RFC3339), "resources": []string{arn},
		"detail": map[string]any{"executionArn": arn, "stateMachineArn": r.Machine, "name": name, "status": "ABORTED",
			"input": string(input), "inputDetails": map[string]bool{"included": true}, "error": nil, "cause": nil},
	})
	go e.trigger(context.Background(), r, event) //nolint:errcheck // recorded in e.triggers, awaited by the scenario
	return nil
}

// successes returns region r's notices since since that report success, and how many reported
// failure.
func (e *Env) successes(r *Region, since time.Time) (ok []failover.Report, failed int) {
	topic := e.deployment(r).TopicARN
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, n := range e.published {
		if !n.At.After(since) || n.TopicARN != topic {
			continue
		}
		var rp failover.Report
		_ = json.Unmarshal([]byte(n.Message), &rp)
		switch rp.Outcome {
		case failover.OutcomeActivated, failover.OutcomeReconciled, failover.OutcomeNoChange:
			ok = append(ok, rp)
		default:
			failed++
		}
	}
	return ok, failed
}

// checkNotices asserts exactly one success notice from region r since since; failure notices of
// runs that were re-driven are reported, not failed.
func (e *Env) checkNotices(rep *ScenarioReport, r *Region, since time.Time) {
	ok, failed := e.successes(r, since)
	if len(ok) != 1 {
		rep.failf("%d success notices from %s for the incident, want exactly one", len(ok), r.Name)
		return
	}
	rep.How = append(rep.How, fmt.Sprintf("one success notice from %s (%s); %d failure notices of runs re-driven before it", r.Name, ok[0].Outcome, failed))
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
	return fmt.Errorf("no success notice from %s within %v of the fault (%d failure notices)", r.Name, limit, failed)
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
	time.Sleep(e.deployment(to).Cooldown + time.Second)
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
	if _, failed := e.successes(to, faultAt); failed > 0 {
		rep.failf("%d failure notices during a successful switchover", failed)
	}
	rep.How = append(rep.How, fmt.Sprintf("manual switchover in %s with CloudFront updates held 6 s; %s's activation alarm raised again after the %s cooldown reached the failover-trigger through EventBridge and joined the run",
		to.Name, to.Name, e.deployment(to).Cooldown))
	return faultAt, nil
}

// executionEnded delivers a failed execution's "Step Functions Execution Status Change" event to
// region r's failover-trigger, as the EventBridge rule of template.yaml does in AWS.
func (e *Env) executionEnded(r *Region, executionARN, name, input, errName string) {
	event, _ := json.Marshal(map[string]any{
		"version": "0", "id": name + "-ended", "detail-type": "Step Functions Execution Status Change", "source": "aws.states",
		"account": localcloud.DefaultAccount, "region": r.AWSRegion, "time": time.Now().UTC().Format(time.RFC3339), "resources": []string{executionARN},
		"detail": map[string]any{"executionArn": executionARN, "stateMachineArn": r.Machine, "name": name, "status": "FAILED",
			"input": input, "inputDetails": map[string]bool{"included": true}, "error": errName},
	})
	go e.trigger(context.Background(), r, event) //nolint:errcheck // recorded in e.triggers
}

// notice is one message on a notifications topic.
type notice struct {
	At time.Time
	localcloud.SNSMessage
}
