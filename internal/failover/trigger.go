package failover

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// AlarmChange is one CloudWatch alarm state change, from SNS or EventBridge.
type AlarmChange struct {
	Name      string
	State     string
	Reason    string
	ChangedAt time.Time
}

// ManualRequest is an operator's request: {"action": "switchover"|"failover", "reason": "..."}.
type ManualRequest struct {
	Action Mode   `json:"action"`
	Reason string `json:"reason"`
}

// TriggerInput is a parsed trigger invocation: alarm changes, or one manual request.
type TriggerInput struct {
	// Source is "sns", "eventbridge" or "manual".
	Source string
	Alarms []AlarmChange
	Manual *ManualRequest
}

// ParseTrigger recognises the three inputs the trigger accepts: an SNS event carrying CloudWatch
// alarm notifications, an EventBridge "CloudWatch Alarm State Change" event, and a manual request.
// Anything else is *InvalidInputError saying what was expected.
func ParseTrigger(raw []byte) (TriggerInput, error) {
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(raw, &shape); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: "not a JSON object: " + err.Error()}
	}
	switch {
	case shape["Records"] != nil:
		return parseSNS(raw)
	case shape["detail-type"] != nil:
		return parseEventBridge(raw)
	case shape["action"] != nil:
		return parseManual(raw)
	}
	return TriggerInput{}, &InvalidInputError{Reason: `unrecognised input: want an SNS event ("Records"), an EventBridge ` +
		`"CloudWatch Alarm State Change" event ("detail-type"), or a manual request {"action": "switchover"|"failover", "reason": "..."}`}
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
	if err := json.Unmarshal(raw, &ev); err != nil {
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
		}
		if err := json.Unmarshal([]byte(r.SNS.Message), &msg); err != nil {
			return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("SNS event: Records[%d].Sns.Message is not a CloudWatch alarm notification (JSON): %v", i, err)}
		}
		a, err := alarmChange(msg.AlarmName, msg.NewStateValue, msg.NewStateReason, msg.StateChangeTime)
		if err != nil {
			return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf("SNS event: Records[%d].Sns.Message: %v", i, err)}
		}
		in.Alarms = append(in.Alarms, a)
	}
	return in, nil
}

func parseEventBridge(raw []byte) (TriggerInput, error) {
	var ev struct {
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
		Detail     *struct {
			AlarmName string `json:"alarmName"`
			State     *struct {
				Value     string `json:"value"`
				Reason    string `json:"reason"`
				Timestamp string `json:"timestamp"`
			} `json:"state"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
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
	return TriggerInput{Source: "eventbridge", Alarms: []AlarmChange{a}}, nil
}

func parseManual(raw []byte) (TriggerInput, error) {
	var m ManualRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return TriggerInput{}, &InvalidInputError{Reason: `manual request: ` + err.Error() + `: want {"action": "switchover"|"failover", "reason": "..."}`}
	}
	if m.Action != ModeSwitchover && m.Action != ModeFailover {
		return TriggerInput{}, &InvalidInputError{Reason: fmt.Sprintf(`manual request: action %q: want "switchover" or "failover"`, m.Action)}
	}
	if strings.TrimSpace(m.Reason) == "" {
		return TriggerInput{}, &InvalidInputError{Reason: "manual request: reason is empty: say why, it goes into the notification"}
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

// IncidentName is the execution name for alarms that changed at changedAt: the region and the start
// of the cooldown window holding changedAt. Every notification of one incident (SNS retries, several
// alarms, both SNS and EventBridge) maps to the same name, so Standard workflows' idempotent
// StartExecution collapses concurrent duplicates into one execution.
func IncidentName(region string, changedAt time.Time, cooldown time.Duration) string {
	return "activate-" + region + "-" + changedAt.UTC().Truncate(cooldown).Format("20060102T150405Z")
}

// ManualName is the execution name for a manual request made at now with reason: a request
// repeated within the same second (a double click, a client retry) names the same execution.
func ManualName(region string, mode Mode, now time.Time, reason string) string {
	sum := sha256.Sum256([]byte(reason))
	return string(mode) + "-" + region + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(sum[:3])
}

// TriggerResult says what the trigger did and why.
type TriggerResult struct {
	// Source is what invoked the trigger: "sns", "eventbridge" or "manual".
	Source        string   `json:"source"`
	Started       bool     `json:"started"`
	ExecutionName string   `json:"executionName,omitempty"`
	ExecutionARN  string   `json:"executionArn,omitempty"`
	Reason        string   `json:"reason"`
	Ignored       []string `json:"ignored,omitempty"`
}

// LogAttrs are the result's fields on the invocation's log line (see Logged).
func (r TriggerResult) LogAttrs() []any {
	return []any{"source", r.Source, "started", r.Started, "executionName", r.ExecutionName, "reason", r.Reason, "ignored", r.Ignored}
}

// Trigger starts this region's state machine for an incident: an ALARM of one of the configured
// alarms, or a manual request. One incident gives one execution:
//
//   - the execution name is IncidentName, and its input depends only on the name, so concurrent
//     notifications collapse through StartExecution's idempotency;
//   - a later notification of the same incident finds the closed execution (ExecutionAlreadyExists)
//     and does nothing;
//   - a notification in the next window, within Cooldown of any execution's start, does nothing:
//     the cooldown is read from ListExecutions.
//
// Manual requests skip the cooldown (an operator decided) but not a running execution.
type Trigger struct {
	DB              GlobalDatabase
	Executions      Executions
	Region          string
	LocalClusterARN string
	AlarmNames      []string
	Cooldown        time.Duration
	Now             func() time.Time
}

// manualLookback is how far back a manual request looks for a running execution: further than
// any execution can run.
const manualLookback = 24 * time.Hour

// Handle handles one trigger invocation: name the incident, then start its execution unless this
// region already writes or another execution holds it off.
func (h *Trigger) Handle(ctx context.Context, raw json.RawMessage) (TriggerResult, error) {
	in, err := ParseTrigger(raw)
	if err != nil {
		return TriggerResult{}, err
	}
	now := clock(h.Now)
	res, run := h.incident(in, now)
	if res.ExecutionName == "" {
		return res, nil
	}
	if res.Reason, err = h.alreadyWrites(ctx); err != nil || res.Reason != "" {
		return res, err
	}
	if res.Reason, err = h.heldOff(ctx, in, res.ExecutionName, now); err != nil || res.Reason != "" {
		return res, err
	}
	return h.start(ctx, res, run)
}

// incident names the execution and builds its input. For alarms it keeps the configured ones in
// ALARM and names the incident after the earliest; with none firing the name is empty and the
// reason says why.
func (h *Trigger) incident(in TriggerInput, now time.Time) (TriggerResult, Run) {
	res := TriggerResult{Source: in.Source}
	if in.Manual != nil {
		res.ExecutionName = ManualName(h.Region, in.Manual.Action, now, in.Manual.Reason)
		return res, Run{Region: h.Region, Mode: in.Manual.Action, Reason: "manual: " + in.Manual.Reason, Incident: res.ExecutionName, DetectedAt: now.UTC()}
	}
	var firing []AlarmChange
	for _, a := range in.Alarms {
		switch {
		case !slices.Contains(h.AlarmNames, a.Name):
			res.Ignored = append(res.Ignored, a.Name+": not a configured alarm")
		case a.State != "ALARM":
			res.Ignored = append(res.Ignored, a.Name+": "+a.State)
		default:
			firing = append(firing, a)
		}
	}
	if len(firing) == 0 {
		res.Reason = "no configured alarm is in ALARM: nothing to do"
		return res, Run{}
	}
	first := slices.MinFunc(firing, func(a, b AlarmChange) int { return a.ChangedAt.Compare(b.ChangedAt) })
	res.ExecutionName = IncidentName(h.Region, first.ChangedAt, h.Cooldown)
	// The input must not depend on which notification arrived: the alarm's own reason differs
	// between alarms of one incident, so it is logged, not passed on.
	return res, Run{Region: h.Region, Mode: ModeAuto, Reason: "alarm", Incident: res.ExecutionName,
		DetectedAt: first.ChangedAt.Truncate(time.Second)}
}

// alreadyWrites says why nothing is to be done when this region is the writer and no promotion
// is in progress; "" otherwise.
func (h *Trigger) alreadyWrites(ctx context.Context) (string, error) {
	topo, err := h.DB.Describe(ctx)
	if err != nil {
		return "", fmt.Errorf("describe the global cluster: %w", err)
	}
	if local, _ := topo.Member(h.LocalClusterARN); local.IsWriter && topo.Failover == nil {
		return h.Region + " already writes: nothing to do", nil
	}
	return "", nil
}

// heldOff says why another execution holds this one off; "" when none does. Alarms are held off
// by any execution started within the cooldown, manual requests only by one still running.
func (h *Trigger) heldOff(ctx context.Context, in TriggerInput, name string, now time.Time) (string, error) {
	since := now.Add(-h.Cooldown)
	if in.Manual != nil {
		since = now.Add(-manualLookback)
	}
	recent, err := h.Executions.StartedSince(ctx, since)
	if err != nil {
		return "", fmt.Errorf("list recent executions: %w", err)
	}
	for _, e := range recent {
		switch {
		case e.Name == name:
		case in.Manual == nil:
			return fmt.Sprintf("execution %s (%s) started at %s, within the cooldown of %s: not starting another",
				e.Name, e.Status, e.StartedAt.UTC().Format(time.RFC3339), h.Cooldown), nil
		case e.Status == "RUNNING":
			return fmt.Sprintf("execution %s is still running: wait for it, or stop it, before asking again", e.Name), nil
		}
	}
	return "", nil
}

// start starts the incident's execution; one that already exists has handled the incident.
func (h *Trigger) start(ctx context.Context, res TriggerResult, run Run) (TriggerResult, error) {
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
