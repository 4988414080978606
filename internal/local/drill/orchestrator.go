package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/sfnlocal"
)

// stepFunctions are the state machine's Lambda tasks, by the definition substitution that
// template.yaml fills with each function's ARN.
var stepFunctions = map[string]string{
	"FailoverPreflightFunctionArn": "failover-preflight",
	"FailoverPromoteFunctionArn":   "failover-promote",
	"FailoverAwaitFunctionArn":     "failover-await",
	"FailoverTrafficFunctionArn":   "failover-traffic",
	"FailoverVerifyFunctionArn":    "failover-verify",
	"FailoverNotifyFunctionArn":    "failover-notify",
}

// Waits and retry intervals the drill shortens: Aurora's promotion takes minutes and CloudFront's
// propagation about five, the drill's take milliseconds, and the state machine's pacing is sized
// for AWS. The order of events is unchanged.
var (
	// WaitBeforeRedrive keeps the drill's REDRIVE_BACKOFF (5 s, doubled): a fault that lasts
	// seconds must outlive compressed retries to be worth re-driving.
	waitOverrides  = map[string]time.Duration{"WaitForPromotion": 100 * time.Millisecond}
	retryOverrides = map[string]time.Duration{
		"Preflight": 100 * time.Millisecond, "Promote": 100 * time.Millisecond, "AwaitPromotion": 100 * time.Millisecond,
		"SwapTraffic": 100 * time.Millisecond, "Verify": 150 * time.Millisecond,
		"NotifySuccess": 100 * time.Millisecond, "NotifyFailure": 100 * time.Millisecond,
	}
)

// aborted marks on the timeline where a stopped run ended.
const aborted = "(execution aborted)"

// stateMachine is region r's copy of statemachine/failover.asl.json, run by aws-local-stepfunctions
// with its Lambda tasks calling r's Lambda host through r's step tap. The runner records the
// states entered, for the timeline; localcloud puts each run's status changes on the event bus,
// where the template's rule sends the failed and aborted ones to r's failover-trigger.
func (e *Env) stateMachine(r *Region) (localcloud.ExecutionRunner, error) {
	root, err := devtools.Root()
	if err != nil {
		return nil, err
	}
	subs := map[string]string{}
	for placeholder, fn := range stepFunctions {
		subs[placeholder] = r.Host.FunctionARN(fn)
	}
	def, err := sfnlocal.Load(filepath.Join(root, "statemachine", "failover.asl.json"), subs)
	if err != nil {
		return nil, err
	}
	m := &sfnlocal.Machine{Definition: def, LambdaEndpoint: r.tap.URL(), Region: r.AWSRegion,
		WaitOverrides: waitOverrides, RetryOverrides: retryOverrides}
	return func(ctx context.Context, _, executionARN, input string) (string, error) {
		name := executionARN[strings.LastIndex(executionARN, ":")+1:]
		// The states go on the timeline and into the execution's history as they happen, so a
		// run stopped midway still shows how far it got.
		res, err := m.RunWithEvents(ctx, sfnlocal.Execution{ARN: executionARN, Name: name}, json.RawMessage(input), func(ev sfnlocal.Event) {
			if ev.Type == "StateEntered" {
				e.mu.Lock()
				e.steps = append(e.steps, stepEvent{At: time.UnixMilli(ev.TimestampMs), Region: r.Name, State: ev.State})
				e.mu.Unlock()
			}
			localcloud.RecordHistory(ctx, sfnlocal.History(ev)...) //nolint:errcheck // a history gap is no reason to fail the run
		})
		if err != nil && ctx.Err() != nil && e.background.Err() == nil {
			// StopExecution ended the run, not the drill: the execution is ABORTED.
			e.mu.Lock()
			e.steps = append(e.steps, stepEvent{At: time.Now(), Region: r.Name, State: aborted})
			e.mu.Unlock()
		}
		if err != nil {
			return "", fmt.Errorf("run %s's state machine: %w", r.Name, err)
		}
		if res.Failed() {
			return "", &localcloud.ExecutionFailure{Name: res.Error, Cause: res.Cause}
		}
		return string(res.Output), nil
	}, nil
}
