package failover

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
)

// AlarmChange is one CloudWatch alarm state change, from SNS or EventBridge.
type AlarmChange struct {
	Name      string
	State     string
	Reason    string
	ChangedAt time.Time
	// ARN is the alarm's ARN as the notification gives it; Account and Region are what the
	// notification's envelope says (EventBridge's account and region, SNS's AWSAccountId). The
	// trigger checks all of them against its own stack's.
	ARN     string
	Account string
	Region  string
}

// ManualRequest is an operator's request: {"action": "switchover"|"failover"|"reconcile", "reason":
// "..."}. A failover loses the writes not yet replicated, so it also needs "acknowledgeDataLoss": true.
type ManualRequest struct {
	Action              Mode   `json:"action"`
	Reason              string `json:"reason"`
	AcknowledgeDataLoss bool   `json:"acknowledgeDataLoss,omitempty"`
}

// ExecutionChange is a "Step Functions Execution Status Change" event for an execution that ended.
type ExecutionChange struct {
	ARN, StateMachineARN, Name, Status string
	// Input is the execution's input as the event carries it; "" when the event left it out.
	Input string
	// Error is the error name of a failed execution, when the event carries it.
	Error string
	// Account and Region are the event's envelope.
	Account, Region string
}

// TriggerInput is a parsed trigger invocation: alarm changes, one manual request, or the end of an
// execution.
type TriggerInput struct {
	// Source is "sns", "eventbridge", "manual" or "execution".
	Source    string
	Alarms    []AlarmChange
	Manual    *ManualRequest
	Execution *ExecutionChange
}

// ParseTrigger recognises the three inputs the trigger accepts: an SNS event carrying CloudWatch
// alarm notifications, an EventBridge "CloudWatch Alarm State Change" event, and a manual request.
// Anything else is *InvalidInputError saying what was expected.
func ParseTrigger(raw []byte) (TriggerInput, error) {
	var shape map[string]json.RawMessage
	if err := eventjson.Unmarshal(raw, &shape); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "not one strict JSON object: " + err.Error()}
	}
	switch {
	case shape["Records"] != nil:
		return parseSNS(raw)
	case string(shape["detail-type"]) == `"Step Functions Execution Status Change"`:
		return parseExecutionChange(raw)
	case shape["detail-type"] != nil:
		return parseEventBridge(raw)
	case shape["action"] != nil:
		return parseManual(raw)
	}
	return TriggerInput{}, &InvalidInputError{Reason: `unrecognised input: want an SNS event ("Records"), an EventBridge ` +
		`"CloudWatch Alarm State Change" event ("detail-type"), or a manual request {"action": "switchover"|"failover"|"reconcile", "reason": "..."}`}
}

func parseSNS(raw []byte) (TriggerInput, error) {
	var ev struct {
		Records []struct {
			EventSource string `json:"EventSource"`
			SNS         *struct {
				Message string `json:"Message"`
			} `json:"Sns"`
		} `json:"Records"`
	}
	if err := eventjson.Unmarshal(raw, &ev); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "SNS event: " + err.Error()}
	}
	if len(ev.Records) == 0 {
		return TriggerInput{}, &InvalidInputError{Reason: "SNS event: no Records"}
	}
	in := TriggerInput{Source: "sns"}
	for i, r := range ev.Records {
		if r.EventSource != "aws:sns" || r.SNS == nil {
			return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("SNS event: Records[%d] is not an SNS record (EventSource %q)", i, r.EventSource)}
		}
		var msg struct {
			AlarmName       string `json:"AlarmName"`
			NewStateValue   string `json:"NewStateValue"`
			NewStateReason  string `json:"NewStateReason"`
			StateChangeTime string `json:"StateChangeTime"`
			AlarmArn        string `json:"AlarmArn"`
			AWSAccountID    string `json:"AWSAccountId"`
		}
		if err := eventjson.Unmarshal([]byte(r.SNS.Message), &msg); err != nil {
			return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("SNS event: Records[%d].Sns.Message is not a CloudWatch alarm notification (JSON): %v", i, err)}
		}
		a, err := alarmChange(msg.AlarmName, msg.NewStateValue, msg.NewStateReason, msg.StateChangeTime)
		if err != nil {
			return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("SNS event: Records[%d].Sns.Message: %v", i, err)}
		}
		// SNS's message names the region in words ("US West (Oregon)"): the ARN's region is the one
		// checked.
		a.ARN, a.Account = msg.AlarmArn, msg.AWSAccountID
		in.Alarms = append(in.Alarms, a)
	}
	return in, nil
}

func parseEventBridge(raw []byte) (TriggerInput, error) {
	var ev struct {
		DetailType string   `json:"detail-type"`
		Source     string   `json:"source"`
		Account    string   `json:"account"`
		Region     string   `json:"region"`
		Resources  []string `json:"resources"`
		Detail     *struct {
			AlarmName string `json:"alarmName"`
			State     *struct {
				Value     string `json:"value"`
				Reason    string `json:"reason"`
				Timestamp string `json:"timestamp"`
			} `json:"state"`
		} `json:"detail"`
	}
	if err := eventjson.Unmarshal(raw, &ev); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "EventBridge event: " + err.Error()}
	}
	switch {
	case ev.DetailType != "CloudWatch Alarm State Change" || ev.Source != "aws.cloudwatch":
		return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf(`EventBridge event: detail-type %q from %q, want "CloudWatch Alarm State Change" from "aws.cloudwatch"`, ev.DetailType, ev.Source)}
	case ev.Detail == nil || ev.Detail.State == nil:
		return TriggerInput{}, &InvalidInputError{Reason: "EventBridge event: detail.state is missing"}
	}
	a, err := alarmChange(ev.Detail.AlarmName, ev.Detail.State.Value, ev.Detail.State.Reason, ev.Detail.State.Timestamp)
	if err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "EventBridge event: detail: " + err.Error()}
	}
	if len(ev.Resources) != 1 {
		return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("EventBridge event: %d resources, want the alarm's ARN alone", len(ev.Resources))}
	}
	a.ARN, a.Account, a.Region = ev.Resources[0], ev.Account, ev.Region
	return TriggerInput{Source: "eventbridge", Alarms: []AlarmChange{a}}, nil
}

func parseExecutionChange(raw []byte) (TriggerInput, error) {
	var ev struct {
		Source  string `json:"source"`
		Account string `json:"account"`
		Region  string `json:"region"`
		Detail  *struct {
			ExecutionArn    string  `json:"executionArn"`
			StateMachineArn string  `json:"stateMachineArn"`
			Name            string  `json:"name"`
			Status          string  `json:"status"`
			Input           *string `json:"input"`
			Error           *string `json:"error"`
		} `json:"detail"`
	}
	if err := eventjson.Unmarshal(raw, &ev); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "Step Functions event: " + err.Error()}
	}
	if ev.Source != "aws.states" || ev.Detail == nil || ev.Detail.ExecutionArn == "" {
		return TriggerInput{}, &InvalidInputError{Reason: `Step Functions event: want source "aws.states" and detail.executionArn`}
	}
	d := ev.Detail
	c := &ExecutionChange{ARN: d.ExecutionArn, StateMachineARN: d.StateMachineArn, Name: d.Name, Status: d.Status,
		Account: ev.Account, Region: ev.Region}
	if d.Input != nil {
		c.Input = *d.Input
	}
	if d.Error != nil {
		c.Error = *d.Error
	}
	return TriggerInput{Source: "execution", Execution: c}, nil
}

func parseManual(raw []byte) (TriggerInput, error) {
	var m ManualRequest
	if err := eventjson.Check(raw); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "manual request: " + err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: `manual request: ` + err.Error() + `: want {"action": "switchover"|"failover", "reason": "..."}`}
	}
	if m.Action != ModeSwitchover && m.Action != ModeFailover && m.Action != ModeReconcile {
		return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf(`manual request: action %q: want "switchover", "failover" or "reconcile"`, m.Action)}
	}
	if strings.TrimSpace(m.Reason) == "" {
		return TriggerInput{}, &InvalidInputError{Reason: "manual request: reason is empty: say why, it goes into the notification"}
	}
	if len(m.Reason) > maxReasonLen {
		return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("manual request: reason is longer than %d bytes", maxReasonLen)}
	}
	if m.Action == ModeFailover && !m.AcknowledgeDataLoss {
		return TriggerInput{}, &InvalidInputError{Reason: `manual request: a failover loses the writes not yet replicated: ` +
			`add "acknowledgeDataLoss": true to ask for it, or ask for a switchover (no data loss, needs the writer)`}
	}
	if m.Action != ModeFailover && m.AcknowledgeDataLoss {
		return TriggerInput{}, &InvalidInputError{Reason: "manual request: acknowledgeDataLoss is only for a failover"}
	}
	return TriggerInput{Source: "manual", Manual: &m}, nil
}

// CloudWatch writes alarm times as 2026-11-21T05:40:00.123+0000; accept RFC 3339 too.
var alarmTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700", time.RFC3339Nano}

func alarmChange(name, state, reason, at string) (AlarmChange, error) {
	if name == "" {
		return AlarmChange{}, errors.New("alarm name is missing")
	}
	switch state {
	case "ALARM", "OK", "INSUFFICIENT_DATA":
	default:
		return AlarmChange{}, fmt.Errorf("alarm %s: state %q: want ALARM, OK or INSUFFICIENT_DATA", name, state)
	}
	for _, layout := range alarmTimeLayouts {
		if t, err := time.Parse(layout, at); err == nil {
			return AlarmChange{Name: name, State: state, Reason: reason, ChangedAt: t.UTC()}, nil
		}
	}
	return AlarmChange{}, fmt.Errorf("alarm %s: state change time %q is not a timestamp like 2026-11-21T05:40:00.000+0000", name, at)
}

// IncidentName is the execution name for the activation alarm episode that began at changedAt
// (the alarm's StateChangeTime): the incident is what happened, not a window of time. Every
// notification of that transition (SNS retries, SNS and EventBridge both) names the same
// execution, so Standard workflows' idempotent StartExecution collapses concurrent duplicates into
// one; a later episode names a new one, which joins a running execution or waits out the cooldown.
func IncidentName(region string, changedAt time.Time) string {
	return "activate-" + region + "-" + episode(changedAt)
}

// episode is an alarm transition's time to the millisecond, without the dot: an execution name
// allows no dot, and the notification's execution name check reads it back.
func episode(changedAt time.Time) string {
	return strings.Replace(changedAt.UTC().Format("20060102T150405.000Z"), ".", "", 1)
}

// reconcilePrefix begins every reconcile run's execution name.
const reconcilePrefix = "reconcile-"

// ReconcileName is the execution name for the watchdog's alarm episode that began at changedAt:
// every notification of that transition names the same execution, and the next episode, however
// soon, names a new one (a reconcile skips the cooldown, so a window would swallow a repair).
func ReconcileName(region string, changedAt time.Time) string {
	return reconcilePrefix + region + "-" + episode(changedAt)
}

// ManualName is the execution name for a manual request made at now with reason: a request
// repeated within the same second (a double click, a client retry) names the same execution.
func ManualName(region string, mode Mode, now time.Time, reason string) string {
	sum := sha256.Sum256([]byte(reason))
	return string(mode) + "-" + region + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(sum[:3])
}

// TriggerResult says what the trigger did and why.
type TriggerResult struct {
	Started       bool   `json:"started"`
	ExecutionName string `json:"executionName,omitempty"`
	ExecutionARN  string `json:"executionArn,omitempty"`
	// Joined is true when the notification belongs to an execution already running: that execution
	// is the one for the incident, and ExecutionName/ExecutionARN name it.
	Joined  bool     `json:"joined,omitempty"`
	Reason  string   `json:"reason"`
	Ignored []string `json:"ignored,omitempty"`
	// Source is what the trigger was invoked by: sns, eventbridge, manual or execution.
	Source string `json:"source,omitempty"`
}

// LogAttrs are the result's fields on the invocation's one log line (see Logged).
func (r TriggerResult) LogAttrs() []any {
	return []any{"source", r.Source, "started", r.Started, "joined", r.Joined, "executionName", r.ExecutionName,
		"reason", r.Reason, "ignored", r.Ignored}
}

// Trigger starts this region's state machine for an incident: an ALARM of one of the configured
// alarms of this stack's account and region, or a manual request. One incident gives one execution:
//
//   - while an execution runs, every alarm notification joins it: it is already converging this
//     region to the writer, and a second one would only be refused (a promotion is under way) and
//     send a false failure notice;
//   - the execution name is IncidentName, and its input depends only on the name, so concurrent
//     notifications collapse through StartExecution's idempotency;
//   - a later notification of the same incident finds the closed execution (ExecutionAlreadyExists)
//     and does nothing;
//   - a notification within Cooldown of any execution's start does nothing: the cooldown is read
//     from ListExecutions.
//
// Manual switchovers and failovers honour the same cooldown and refuse to start beside a running
// execution; a manual failover needs "acknowledgeDataLoss": true. Reconcile runs (the watchdog's
// alarms, a manual "reconcile") never promote, so they skip the cooldown. The trigger does not ask
// whether this region already writes: the execution itself converges from whatever it finds
// (traffic, verification), so "already writes" is never a reason to do nothing.
type Trigger struct {
	Executions Executions
	Region     string
	// AccountID is the stack's account: alarms of other accounts are ignored.
	AccountID string
	// AlarmNames are the alarms that activate this region (mode auto).
	AlarmNames []string
	// StateMachineARN is this region's state machine: only its executions are re-driven.
	StateMachineARN string
	// MaxRedrives bounds the new executions started for one incident after failed or aborted ones;
	// RedriveBackoff is the first one's delay, doubled each time (0 disables re-driving).
	MaxRedrives    int
	RedriveBackoff time.Duration
	// ReconcileAlarmNames are the watchdog's alarms: they start a reconcile run, which never
	// promotes, so they skip the cooldown (an activation that left traffic behind is repaired at
	// once) but still join a running execution.
	ReconcileAlarmNames []string
	Cooldown            time.Duration
	Log                 *slog.Logger
	Now                 func() time.Time
}

// Handle handles one trigger invocation.
func (h *Trigger) Handle(ctx context.Context, raw json.RawMessage) (TriggerResult, error) {
	in, err := ParseTrigger(raw)
	if err != nil {
		return TriggerResult{}, err
	}
	if in.Execution != nil {
		return h.redrive(ctx, *in.Execution)
	}
	now := clock(h.Now)
	run, res, ok := h.incident(in, now)
	res.Source = in.Source
	if !ok {
		return res, nil
	}
	held, err := h.held(ctx, in.Manual != nil, run, &res, now)
	switch {
	case err != nil:
		return TriggerResult{}, err
	case held:
		return res, nil
	}
	return h.start(ctx, run, res)
}

// incident names what the trigger input reports and builds the run for it: a manual request, or
// the earliest ALARM transition among this stack's activation alarms (else its watchdog alarms).
// ok is false when there is nothing to run; res then says why.
func (h *Trigger) incident(in TriggerInput, now time.Time) (run Run, res TriggerResult, ok bool) {
	if in.Manual != nil {
		res.ExecutionName = ManualName(h.Region, in.Manual.Action, now, in.Manual.Reason)
		run = Run{Region: h.Region, Mode: in.Manual.Action, Reason: "manual: " + in.Manual.Reason, Incident: res.ExecutionName, DetectedAt: now.UTC()}
		return run, res, true
	}
	var firing, reconcile []AlarmChange
	for _, a := range in.Alarms {
		switch {
		case !slices.Contains(h.AlarmNames, a.Name) && !slices.Contains(h.ReconcileAlarmNames, a.Name):
			res.Ignored = append(res.Ignored, a.Name+": not a configured alarm")
		case !h.ownAlarm(a):
			res.Ignored = append(res.Ignored, fmt.Sprintf("%s: ARN %q (account %q, region %q) is not this stack's alarm in account %s, region %s",
				a.Name, truncate(a.ARN, 200), truncate(a.Account, 20), truncate(a.Region, 30), h.AccountID, h.Region))
		case a.State != "ALARM":
			res.Ignored = append(res.Ignored, a.Name+": "+a.State)
		case slices.Contains(h.AlarmNames, a.Name):
			firing = append(firing, a)
		default:
			reconcile = append(reconcile, a)
		}
	}
	byTime := func(a, b AlarmChange) int { return a.ChangedAt.Compare(b.ChangedAt) }
	// The input must not depend on which notification arrived: the alarm's own reason differs
	// between alarms of one incident, so it is logged here, not passed on.
	switch {
	case len(firing) > 0:
		first := slices.MinFunc(firing, byTime)
		res.ExecutionName = IncidentName(h.Region, first.ChangedAt)
		run = Run{Region: h.Region, Mode: ModeAuto, Reason: "alarm", Incident: res.ExecutionName, DetectedAt: first.ChangedAt.Truncate(time.Second)}
	case len(reconcile) > 0:
		first := slices.MinFunc(reconcile, byTime)
		res.ExecutionName = ReconcileName(h.Region, first.ChangedAt)
		run = Run{Region: h.Region, Mode: ModeReconcile, Reason: "watchdog alarm", Incident: res.ExecutionName, DetectedAt: first.ChangedAt.Truncate(time.Second)}
	default:
		res.Reason = "no configured alarm of this stack is in ALARM: nothing to do"
		return run, res, false
	}
	return run, res, true
}

// held says whether the run must not start now, and sets res to why: another execution is
// running (a notification joins it; a manual request is told to wait), or an activation started
// within the cooldown. The same incident again is not held: StartExecution answers it.
func (h *Trigger) held(ctx context.Context, manual bool, run Run, res *TriggerResult, now time.Time) (bool, error) {
	running, err := h.Executions.Running(ctx)
	if err != nil {
		return false, fmt.Errorf("list running executions: %w", err)
	}
	for _, e := range running {
		if e.Name == res.ExecutionName {
			continue // the same request again: StartExecution answers it idempotently
		}
		if manual {
			res.Reason = fmt.Sprintf("execution %s is still running: wait for it, or stop it, before asking again", e.Name)
		} else {
			res.Joined, res.ExecutionName, res.ExecutionARN = true, e.Name, e.ARN
			res.Reason = fmt.Sprintf("execution %s is running and converging this region: this notification joins it", e.Name)
		}
		return true, nil
	}
	if run.Mode == ModeReconcile {
		return false, nil // a reconcile never promotes: the cooldown does not hold it
	}
	recent, err := h.Executions.StartedSince(ctx, now.Add(-h.Cooldown))
	if err != nil {
		return false, fmt.Errorf("list recent executions: %w", err)
	}
	for _, e := range recent {
		// A reconcile run is no activation for the cooldown to space out, and a refused one (the
		// watchdog firing in a region that does not write) must not hold back an operator's
		// switchover for a whole cooldown.
		if e.Name == res.ExecutionName || strings.HasPrefix(e.Name, reconcilePrefix) {
			continue
		}
		res.Reason = fmt.Sprintf("execution %s (%s) started at %s, within the cooldown of %s: not starting another; "+
			"check `switchyard status` and ask again after the cooldown",
			e.Name, e.Status, e.StartedAt.UTC().Format(time.RFC3339), h.Cooldown)
		return true, nil
	}
	return false, nil
}

// start starts the run's execution under its incident's name; an execution of that name that has
// already ended means the incident was handled.
func (h *Trigger) start(ctx context.Context, run Run, res TriggerResult) (TriggerResult, error) {
	input, err := json.Marshal(run)
	if err != nil {
		return TriggerResult{}, err
	}
	arn, err := h.Executions.Start(ctx, res.ExecutionName, input)
	var exists *ExecutionExistsError
	switch {
	case errors.As(err, &exists):
		res.Reason = "execution " + res.ExecutionName + " already handled this incident"
	case err != nil:
		return TriggerResult{}, fmt.Errorf("start execution %s: %w", res.ExecutionName, err)
	default:
		res.Started, res.ExecutionARN = true, arn
		res.Reason = "started " + res.ExecutionName
	}
	return res, nil
}

// Errors a re-run cannot cure: the decision refused (policy, health, lag), the input was wrong, or a
// newer writer already owns traffic. The failure notice already said why; a re-drive would only
// repeat it.
var notRedriven = map[string]bool{"RefusedError": true, "InvalidInputError": true, "StaleEpochError": true, "SupersededError": true}

// redrive starts a new execution for the incident of an execution that failed, was aborted or
// timed out, after a backoff the state machine waits out itself (RetryDelaySeconds), at most
// MaxRedrives times per incident. The new run starts from the facts, not from where the old one
// stopped: every step converges from whatever state it finds.
func (h *Trigger) redrive(ctx context.Context, c ExecutionChange) (TriggerResult, error) {
	res := TriggerResult{ExecutionName: c.Name}
	done := func(format string, args ...any) (TriggerResult, error) {
		res.Reason = fmt.Sprintf(format, args...)
		res.Source = "execution"
		return res, nil
	}
	switch {
	case c.StateMachineARN != h.StateMachineARN || (c.Account != "" && c.Account != h.AccountID) || (c.Region != "" && c.Region != h.Region):
		return done("execution %s is not of this region's state machine: ignored", truncate(c.ARN, 200))
	case c.Status != "FAILED" && c.Status != "ABORTED" && c.Status != "TIMED_OUT":
		return done("execution %s ended %s: nothing to re-drive", c.Name, truncate(c.Status, 20))
	case notRedriven[c.Error]:
		return done("execution %s failed with %s: a re-run would be refused the same way, not re-driven", c.Name, c.Error)
	case h.MaxRedrives <= 0 || h.RedriveBackoff <= 0:
		return done("re-driving is off")
	case c.Input == "":
		return done("execution %s: the event carries no input; not re-driven (start one with switchyard reconcile)", c.Name)
	}
	var prev Run
	if err := eventjson.Unmarshal([]byte(c.Input), &prev); err != nil {
		return TriggerResult{}, &InvalidInputError{Reason: "Step Functions event: detail.input: " + err.Error()}
	}
	if err := prev.validate(h.Region); err != nil {
		return TriggerResult{}, err
	}
	if prev.Attempt >= h.MaxRedrives {
		if h.Log != nil {
			h.Log.ErrorContext(ctx, "redrive: giving up", "incident", prev.Incident, "attempts", prev.Attempt+1, "lastExecution", c.Name)
		}
		return done("incident %s: %d runs failed, the bound of %d re-drives is reached: giving up; see switchyard status", prev.Incident, prev.Attempt+1, h.MaxRedrives)
	}
	running, err := h.Executions.Running(ctx)
	if err != nil {
		return TriggerResult{}, fmt.Errorf("list running executions: %w", err)
	}
	if len(running) > 0 {
		res.Joined, res.ExecutionName, res.ExecutionARN = true, running[0].Name, running[0].ARN
		return done("execution %s is running and converging this region: no re-drive needed", running[0].Name)
	}
	attempt := prev.Attempt + 1
	delay := h.RedriveBackoff << (attempt - 1)
	run := Run{Region: prev.Region, Mode: prev.Mode, Reason: prev.Reason, Incident: prev.Incident, DetectedAt: prev.DetectedAt,
		Attempt: attempt, RetryDelaySeconds: int(delay.Round(time.Second) / time.Second)}
	suffix := fmt.Sprintf("-redrive-%d", attempt)
	res.ExecutionName = truncateName(prev.Incident, maxIncidentLen-len(suffix)) + suffix
	input, err := json.Marshal(run)
	if err != nil {
		return TriggerResult{}, err
	}
	arn, err := h.Executions.Start(ctx, res.ExecutionName, input)
	var exists *ExecutionExistsError
	switch {
	case errors.As(err, &exists):
		return done("execution %s already re-drove this incident", res.ExecutionName)
	case err != nil:
		return TriggerResult{}, fmt.Errorf("start execution %s: %w", res.ExecutionName, err)
	}
	res.Started, res.ExecutionARN = true, arn
	return done("execution %s ended %s: re-driven as %s after %s (attempt %d of %d)", c.Name, c.Status, res.ExecutionName, delay, attempt, h.MaxRedrives)
}

func truncateName(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// ownAlarm says whether a's ARN is arn:<partition>:cloudwatch:<this region>:<this account>:alarm:<its
// name> and its envelope, where it has one, names the same account and region. Anyone who can
// publish to the topic or put an event on the bus can write a notification for our alarm's name;
// only CloudWatch in this stack's account and region can make one whose ARN is ours, and the
// trigger's permissions are granted to those sources alone.
func (h *Trigger) ownAlarm(a AlarmChange) bool {
	parts := strings.SplitN(a.ARN, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[1] == "" || parts[2] != "cloudwatch" ||
		parts[3] != h.Region || parts[4] != h.AccountID || parts[5] != "alarm" || parts[6] != a.Name {
		return false
	}
	return (a.Account == "" || a.Account == h.AccountID) && (a.Region == "" || a.Region == h.Region)
}

// ARNAccount is the account ID in an ARN (arn:partition:service:region:account:...), "" when arn is
// not one.
func ARNAccount(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}
