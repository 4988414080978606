package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Outcome is how a run ended, as the notification reports it.
type Outcome string

const (
	OutcomeActivated Outcome = "activated"
	OutcomeNoChange  Outcome = "no-change"
	// OutcomeReconciled: this region already wrote, and the run moved traffic back to it.
	OutcomeReconciled Outcome = "reconciled"
	// OutcomeTrafficNotShifted: this region writes and serves, but the public endpoint did not yet
	// serve it by the verification deadline. Not a failure of the promotion.
	OutcomeTrafficNotShifted Outcome = "traffic-not-shifted"
	OutcomeFailed            Outcome = "failed"
)

// Report is the notification's body, published as JSON so that people and tools read the same thing.
type Report struct {
	Outcome  Outcome   `json:"outcome"`
	Region   string    `json:"region"`
	Mode     Mode      `json:"mode"`
	Reason   string    `json:"reason"`
	Incident string    `json:"incident"`
	Decision *Decision `json:"decision,omitempty"`
	// EstimatedDataLossMs comes from the replication lag at decision time: 0 for a switchover, -1
	// when unknown.
	EstimatedDataLossMs int64          `json:"estimatedDataLossMs"`
	Phases              []Phase        `json:"phases"`
	TotalMs             int64          `json:"totalMs"`
	SinceDetectionMs    int64          `json:"sinceDetectionMs,omitempty"`
	Traffic             *TrafficChange `json:"traffic,omitempty"`
	ExecutionARN        string         `json:"executionArn,omitempty"`
	Error               *StepError     `json:"error,omitempty"`
}

// Notify publishes the run's report: success, no change, traffic not yet shifted, or failure with
// the error that the state machine caught.
type Notify struct {
	Notifier Notifier
	Region   string
	Now      func() time.Time
}

// Handle checks the run, then builds and publishes the report and returns it. A run that is not
// what this region's state machine produces is refused and nothing is published: subscribers act on
// these notices, so an invented outcome must not reach them.
func (s *Notify) Handle(ctx context.Context, run Run) (Report, error) {
	now := clock(s.Now)
	if err := run.checkReportable(s.Region); err != nil {
		return Report{}, boundary("notify", err)
	}
	r := BuildReport(run, now)
	body, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return r, boundary("notify", err)
	}
	if err := s.Notifier.Notify(ctx, r.Subject(), string(body)); err != nil {
		return r, boundary("notify", err)
	}
	return r, nil
}

// BuildReport summarises run as of now.
func BuildReport(run Run, now time.Time) Report {
	r := Report{
		Region: run.Region, Mode: run.Mode, Reason: run.Reason, Incident: run.Incident,
		Decision: run.Decision, Phases: run.Phases, Traffic: run.Traffic, Error: run.Error,
		EstimatedDataLossMs: -1,
	}
	if r.Phases == nil {
		r.Phases = []Phase{}
	}
	if run.Decision != nil {
		r.EstimatedDataLossMs = run.Decision.EstimatedDataLossMs
	}
	switch {
	case run.Error != nil && run.Error.Error == "TrafficNotShiftedError":
		r.Outcome = OutcomeTrafficNotShifted
	case run.Error != nil:
		r.Outcome = OutcomeFailed
	case run.Decision != nil && run.Decision.Action == ActionNone && run.Traffic != nil && run.Traffic.Changed:
		r.Outcome = OutcomeReconciled
	case run.Decision != nil && run.Decision.Action == ActionNone:
		r.Outcome = OutcomeNoChange
	default:
		r.Outcome = OutcomeActivated
	}
	if run.Execution != nil {
		r.ExecutionARN = run.Execution.ARN
		if !run.Execution.StartedAt.IsZero() {
			r.TotalMs = now.Sub(run.Execution.StartedAt).Milliseconds()
		}
	}
	if r.TotalMs == 0 {
		for _, p := range r.Phases {
			r.TotalMs += p.DurationMs
		}
	}
	if !run.DetectedAt.IsZero() {
		r.SinceDetectionMs = now.Sub(run.DetectedAt).Milliseconds()
	}
	return r
}

// Subject is the notification's one-line summary (SNS allows 100 ASCII characters).
func (r Report) Subject() string {
	var s string
	action := "promotion"
	if r.Decision != nil {
		action = string(r.Decision.Action)
	}
	switch r.Outcome {
	case OutcomeActivated:
		s = fmt.Sprintf("Switchyard: %s now writes and serves (%s, %d ms)", r.Region, action, r.TotalMs)
	case OutcomeNoChange:
		s = fmt.Sprintf("Switchyard: %s already writes, nothing done", r.Region)
	case OutcomeReconciled:
		s = fmt.Sprintf("Switchyard: %s writes; traffic moved back to it", r.Region)
	case OutcomeTrafficNotShifted:
		s = fmt.Sprintf("Switchyard: %s writes, public traffic not yet shifted", r.Region)
	default:
		s = fmt.Sprintf("Switchyard: activating %s FAILED (%s)", r.Region, action)
	}
	if len(s) > 100 {
		s = s[:100]
	}
	return s
}

// The error names a Catch rule can put at $.error: ours (errors.go) and the ones Step Functions and
// Lambda raise themselves, which carry these prefixes.
var (
	stepErrorNames = map[string]bool{
		"ThrottledError": true, "TransientError": true, "PreconditionError": true, "PromotionTimeoutError": true,
		"VerificationError": true, "TrafficNotShiftedError": true, "NotWriterError": true, "StaleEpochError": true, "RefusedError": true,
		"InvalidInputError": true, "StepFailedError": true,
	}
	serviceErrorPrefixes = []string{"States.", "Lambda.", "Runtime.", "Sandbox."}
	phaseNames           = map[string]bool{PhasePreflight: true, PhasePromote: true, PhaseAwait: true, PhaseTraffic: true, PhaseVerify: true}
)

// Bounds on free text: a run's reasons come from a person or a step and go to people; nothing
// legitimate is longer.
const (
	maxReasonLen   = 1024
	maxIncidentLen = 80 // a Step Functions execution name
)

// checkReportable says whether run has the shape and values this region's state machine gives the
// notify step: this region, a known mode and decision, an incident that can be an execution name,
// an execution of this region, known phases, and an error (when present) of a kind a Catch rule
// records. An outcome claiming success must carry its evidence: a decision, traffic on this
// region's target and a verification served by this region (and, when it promoted, a promotion
// that completed).
func (r Run) checkReportable(region string) error {
	bad := func(format string, args ...any) error {
		return &InvalidInputError{Reason: "not a run of this region's state machine: " + fmt.Sprintf(format, args...)}
	}
	if err := r.validate(region); err != nil {
		return err
	}
	if r.Incident == "" || len(r.Incident) > maxIncidentLen || strings.TrimLeft(r.Incident, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return bad("incident %q: want an execution name (letters, digits, - and _, at most %d)", truncate(r.Incident, 100), maxIncidentLen)
	}
	if len(r.Reason) > maxReasonLen || !utf8.ValidString(r.Reason) {
		return bad("reason longer than %d bytes", maxReasonLen)
	}
	if r.Execution == nil || !strings.HasPrefix(r.Execution.ARN, "arn:") ||
		!strings.Contains(r.Execution.ARN, ":states:"+region+":") || !strings.Contains(r.Execution.ARN, ":execution:") {
		return bad("execution ARN %q: want an execution of this region's state machine (arn:...:states:%s:...:execution:...)", truncate(execARN(r.Execution), 200), region)
	}
	for _, p := range r.Phases {
		if !phaseNames[p.Name] || p.DurationMs < 0 || p.StartedAt.IsZero() {
			return bad("phase %q (%d ms): want one of preflight, promote, await, traffic, verify with a start and a non-negative duration", truncate(p.Name, 40), p.DurationMs)
		}
	}
	if d := r.Decision; d != nil {
		switch d.Action {
		case ActionSwitchover, ActionFailover, ActionFollow, ActionNone, ActionRefuse:
		default:
			return bad("decision %q", truncate(string(d.Action), 40))
		}
		if len(d.Reason) > maxReasonLen || d.LagMs < -1 || d.EstimatedDataLossMs < -1 {
			return bad("decision values out of range")
		}
	}
	if e := r.Error; e != nil {
		known := stepErrorNames[e.Error]
		for _, p := range serviceErrorPrefixes {
			known = known || (strings.HasPrefix(e.Error, p) && len(e.Error) <= 100)
		}
		if !known {
			return bad("error %q is not one a step or Step Functions raises", truncate(e.Error, 100))
		}
		return nil
	}
	switch {
	case r.Decision == nil:
		return bad("success claimed without a decision")
	case r.Decision.Action == ActionRefuse:
		return bad("success claimed for a refused decision")
	case r.Decision.Action != ActionNone && (r.Promotion == nil || !r.Promotion.Done):
		return bad("success claimed for a %s whose promotion did not complete", r.Decision.Action)
	case r.Traffic == nil || r.Traffic.To == "":
		return bad("success claimed without the traffic step")
	case r.Verification == nil || r.Verification.LocalRegion != region || r.Verification.PublicRegion != region:
		return bad("success claimed without a verification served by %s", region)
	}
	return nil
}

func execARN(e *ExecutionContext) string {
	if e == nil {
		return ""
	}
	return e.ARN
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
