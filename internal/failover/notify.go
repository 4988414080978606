package failover

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Outcome is how a run ended, as the notification reports it.
type Outcome string

const (
	OutcomeActivated Outcome = "activated"
	OutcomeNoChange  Outcome = "no-change"
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

// Handle builds and publishes the report and returns it.
func (s *Notify) Handle(ctx context.Context, run Run) (Report, error) {
	now := clock(s.Now)
	if run.Region != s.Region {
		return Report{}, boundary("notify", &InvalidInputError{Reason: fmt.Sprintf("run is for region %q, this is %q", run.Region, s.Region)})
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
