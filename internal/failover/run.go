package failover

import "time"

// Run is the state machine's state: the document each step receives and returns whole. Its JSON
// field names are part of statemachine/failover.asl.json (Choice rules read them).
type Run struct {
	Region string `json:"region"`
	Mode   Mode   `json:"mode"`
	Reason string `json:"reason"`
	// Incident names what started the run (the execution name the trigger chose).
	Incident string `json:"incident"`
	// DetectedAt is when the incident began: the alarm's state change time or the manual request.
	DetectedAt time.Time `json:"detectedAt"`
	// Attempt counts the re-drives of this incident's run after a failed or aborted execution (0
	// for the first run); RetryDelaySeconds is the backoff the state machine waits before it starts.
	Attempt           int `json:"attempt,omitempty"`
	RetryDelaySeconds int `json:"retryDelaySeconds,omitempty"`
	// Execution is filled by the state machine's first state from the context object.
	Execution    *ExecutionContext `json:"execution,omitempty"`
	Decision     *Decision         `json:"decision,omitempty"`
	Promotion    *Promotion        `json:"promotion,omitempty"`
	Traffic      *TrafficChange    `json:"traffic,omitempty"`
	Verification *Verification     `json:"verification,omitempty"`
	Phases       []Phase           `json:"phases"`
	// Error is set by the state machine's Catch rules (ResultPath $.error) before the failure notice.
	Error *StepError `json:"error,omitempty"`
}

// ExecutionContext is the part of Step Functions' context object the notification reports.
type ExecutionContext struct {
	ARN       string    `json:"arn"`
	StartedAt time.Time `json:"startedAt"`
}

// Promotion tracks the promotion until the global cluster reports this region as the writer.
type Promotion struct {
	Target   string    `json:"target"`
	Deadline time.Time `json:"deadline"`
	Polls    int       `json:"polls"`
	// Done is what the state machine's Choice after each poll reads.
	Done     bool   `json:"done"`
	LastSeen string `json:"lastSeen,omitempty"`
	// LeaseEpoch is the writer lease's epoch a failover took before promoting; 0 for a switchover,
	// whose lease the renewers hand over.
	LeaseEpoch uint64 `json:"leaseEpoch,omitempty"`
}

// TrafficChange records where traffic pointed before and after the swap.
type TrafficChange struct {
	From string `json:"from"`
	// FromEpoch and Epoch are the writer lease epochs (fencing tokens) before and after.
	FromEpoch uint64 `json:"fromEpoch"`
	To        string `json:"to"`
	Epoch     uint64 `json:"epoch"`
	Changed   bool   `json:"changed"`
}

// Verification records the canary's results.
type Verification struct {
	LocalRegion  string `json:"localRegion"`
	PublicRegion string `json:"publicRegion"`
}

// StepError is what a Catch rule puts at $.error: the error type name and its message.
type StepError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// Phase is one step's timing. Polled phases (await, verify) grow one entry across invocations.
type Phase struct {
	Name       string    `json:"phase"`
	StartedAt  time.Time `json:"startedAt"`
	DurationMs int64     `json:"durationMs"`
}

// Phase names, in order.
const (
	PhasePreflight = "preflight"
	PhasePromote   = "promote"
	PhaseAwait     = "await"
	PhaseTraffic   = "traffic"
	PhaseVerify    = "verify"
)

// record ends phase name now. A phase starts where the previous one ended, so that waits, retries
// and the state machine's own transitions are counted and the phases add up to the whole run; the
// first phase starts at start. A repeated name (a poll loop) extends the last phase.
func (r *Run) record(name string, start, now time.Time) {
	if n := len(r.Phases); n > 0 {
		last := r.Phases[n-1]
		end := last.StartedAt.Add(time.Duration(last.DurationMs) * time.Millisecond)
		if last.Name == name {
			r.Phases[n-1].DurationMs = now.Sub(last.StartedAt).Milliseconds()
			return
		}
		start = end
	}
	r.Phases = append(r.Phases, Phase{Name: name, StartedAt: start.UTC(), DurationMs: now.Sub(start).Milliseconds()})
}
