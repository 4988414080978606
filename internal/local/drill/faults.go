package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"

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
)

// FaultScenarios lists the fault scenarios, in running order.
var FaultScenarios = []string{Interrupted}

// faultBound is how long each fault scenario may take from the fault to convergence.
var faultBound = map[string]time.Duration{Interrupted: 20 * time.Second}

// watchdogAlarm is the name of r's watchdog alarm, which starts a reconcile run.
func (r *Region) watchdogAlarm() string { return "switchyard-writer-inconsistent-" + r.AWSRegion }

// startWatchdogs runs each region's watchdog, as the peer-prober's WriterConsistent samples and
// their alarm do in AWS: when the region's own /health says it writes while the edge is served by
// the other region, for ProbeFailures probes in a row, it publishes its watchdog alarm. One
// notification per streak.
func (e *Env) startWatchdogs(ctx context.Context) {
	for _, r := range []*Region{e.A, e.B} {
		client := sns.NewFromConfig(e.Cloud.Config(r.AWSRegion))
		e.probers.Add(1)
		go func() {
			defer e.probers.Done()
			streak := 0
			tick := time.NewTicker(e.opts.ProbeInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				local, lerr := getHealth(ctx, r.apiURL(), 2*e.opts.ProbeInterval)
				public, perr := getHealth(ctx, e.EdgeURL(), 2*e.opts.ProbeInterval)
				view := failover.PairView{LocalWrites: lerr == nil && local.Role == "writer",
					TrafficKnown: perr == nil && public.Region != "", TrafficOnLocal: public.Region == r.AWSRegion}
				found := view.Inconsistencies()
				if !view.LocalWrites || len(found) == 0 {
					streak = 0
					continue
				}
				if streak++; streak != e.opts.ProbeFailures {
					continue
				}
				e.progress("%s's watchdog: %s: alarm %s → ALARM", r.Name, found[0], r.watchdogAlarm())
				if err := e.publishAlarm(ctx, client, r, r.watchdogAlarm(), found[0]); err != nil {
					e.progress("%s's watchdog could not publish the alarm: %v", r.Name, err)
				}
			}
		}()
	}
}

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

// checkNotices asserts exactly one notice from region r since since, and that it reports success.
func (e *Env) checkNotices(rep *ScenarioReport, r *Region, since time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var mine []failover.Report
	for _, n := range e.notices {
		if n.At.After(since) && n.TopicARN == e.deployment(r).TopicARN {
			var rp failover.Report
			_ = json.Unmarshal([]byte(n.Message), &rp)
			mine = append(mine, rp)
		}
	}
	if len(mine) != 1 {
		rep.failf("%d notices from %s for the incident, want exactly one", len(mine), r.Name)
		return
	}
	switch mine[0].Outcome {
	case failover.OutcomeActivated, failover.OutcomeReconciled, failover.OutcomeNoChange:
		rep.How = append(rep.How, fmt.Sprintf("one notice from %s: %s", r.Name, mine[0].Outcome))
	default:
		rep.failf("the notice from %s reports %s, want success", r.Name, mine[0].Outcome)
	}
}

// notice is one message on a notifications topic.
type notice struct {
	At time.Time
	localcloud.SNSMessage
}
