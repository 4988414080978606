package failover

import (
	"errors"
	"fmt"
	"time"
)

// The error types below are the orchestrator's contract with statemachine/failover.asl.json: their
// type names are the errorType values its Retry and Catch rules match. Renaming one is a change to
// the state machine.
//
//	ThrottledError          retried with backoff: an AWS API refused the call for its rate.
//	TransientError          retried with backoff: a timeout, a 5xx, a connection that failed.
//	PreconditionError       retried: a stale CloudFront ETag survived the adapter's own re-reads.
//	TrafficNotShiftedError  retried until the verification deadline, then reported apart from
//	                        failure: this region works but the public endpoint still serves elsewhere.
//	PromotionTimeoutError   not retried: the promotion did not finish within its bound.
//	VerificationError       retried a few times, then a failure: a canary write or read failed.
//	NotWriterError          not retried: traffic would have pointed at a region that does not write.
//	LeaseNotHeldError       retried for about 40 s: this region writes but does not hold the writer
//	                        lease yet (the old writer's renewer gives it up once demoted, or it expires).
//	StaleEpochError         not retried: traffic already carries a newer lease epoch (a later writer
//	                        moved it); nothing was changed.
//	RefusedError            not retried: the decision refused to promote (policy, health, lag).
//	SupersededError         not retried, not a failure: a re-drive found a newer activation had
//	                        moved the writer lease since its incident began; the run ends quietly.
//	LeaseUnavailableError   retried for minutes, then notified: no majority of the writer lease's
//	                        grantors answered, so nothing may be promoted until they do.
//	InvalidInputError       not retried: the input is malformed; the message names the problem.
//	StepFailedError         not retried: any other failure of a step.
//	ExecutionExistsError    the trigger only: an execution with that name already ran.
//
// Every Task also retries Lambda's own transient errors (Lambda.ServiceException,
// Lambda.TooManyRequestsException, ...), and every Task but Notify a crashed or timed-out invocation
// (Runtime.ExitError, Sandbox.Timedout, States.Timeout): those steps are safe to repeat, Notify is
// not (a notice must not go out twice). Everything else is caught, notified, and fails the run.

// ThrottledError is an AWS API's rate refusal.
type ThrottledError struct {
	Op  string
	Err error
}

func (e *ThrottledError) Error() string { return e.Op + ": throttled: " + e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// TransientError is a failure that may pass when retried: a timeout, a 5xx, a refused connection.
type TransientError struct {
	Op  string
	Err error
}

func (e *TransientError) Error() string { return e.Op + ": transient: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// PreconditionError is an optimistic-concurrency conflict (a stale ETag) that outlived the retries.
type PreconditionError struct {
	Op  string
	Err error
}

func (e *PreconditionError) Error() string { return e.Op + ": precondition failed: " + e.Err.Error() }
func (e *PreconditionError) Unwrap() error { return e.Err }

// PromotionTimeoutError says the promotion of Target did not complete within Waited.
type PromotionTimeoutError struct {
	Target string
	Waited time.Duration
	// Last is what the last poll saw, for the operator.
	Last string
}

func (e *PromotionTimeoutError) Error() string {
	return fmt.Sprintf("promotion of %s did not complete within %s (last seen: %s): check the global "+
		"cluster's FailoverState in the RDS console before retrying; traffic was not touched",
		e.Target, e.Waited, e.Last)
}

// VerificationError is a canary write or read that failed against an endpoint.
type VerificationError struct {
	Endpoint string
	Detail   string
}

func (e *VerificationError) Error() string {
	return "verification through " + e.Endpoint + " failed: " + e.Detail
}

// TrafficNotShiftedError says the public endpoint still serves another region: this region works, but
// the traffic switch has not propagated (CloudFront takes minutes to deploy a change).
type TrafficNotShiftedError struct {
	Endpoint string
	Want     string
	Got      string
}

func (e *TrafficNotShiftedError) Error() string {
	return fmt.Sprintf("traffic not yet shifted: %s is served by %q, want %q", e.Endpoint, e.Got, e.Want)
}

// NotWriterError refuses to point traffic at a region whose database does not write.
type NotWriterError struct {
	Cluster string
	Detail  string
}

func (e *NotWriterError) Error() string {
	return "refusing to switch traffic: " + e.Cluster + " is not the writer (" + e.Detail + ")"
}

// StaleEpochError refuses a traffic change stamped with Epoch because traffic already points at
// Current, stamped with a newer epoch (or the same epoch for another target): a later writer moved it,
// and this change must not undo that.
type StaleEpochError struct {
	Target  string
	Epoch   uint64
	Current TrafficState
}

func (e *StaleEpochError) Error() string {
	return fmt.Sprintf("refusing to point traffic at %s with lease epoch %d: it points at %s with epoch %d, set by a newer writer; nothing was changed (check `switchyard status` for the current writer lease)",
		e.Target, e.Epoch, e.Current.Target, e.Current.Epoch)
}

// RefusedError is a decision not to promote, with the reason.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "promotion refused: " + e.Reason }

// SupersededError says a re-driven run found its incident overtaken: the writer lease passed to
// another region after the incident began. The machine ends the run without acting or notifying:
// the newer activation has its own run and its own notice.
type SupersededError struct {
	Reason string
}

func (e *SupersededError) Error() string { return "superseded: " + e.Reason }

// LeaseUnavailableError says a majority of the writer lease's grantors could not be reached: no
// promotion is possible until they can, which may change within minutes.
type LeaseUnavailableError struct {
	Reason string
}

func (e *LeaseUnavailableError) Error() string {
	return "no majority of the writer lease's grantors answered, so nothing may be promoted: " + e.Reason
}

// LeaseNotHeldError is this region's database writing while the writer lease is still another's (or
// nobody's): after a switchover the old writer's renewer gives the lease up once its database is
// demoted and this region's renewer takes it, and a dead writer's lease expires. Traffic waits for
// it, since the lease's epoch is the change's fencing token.
type LeaseNotHeldError struct {
	Region string
	Lease  Lease
}

func (e *LeaseNotHeldError) Error() string {
	return fmt.Sprintf("%s writes but does not hold the writer lease yet (holder %q, epoch %d, expires %s): the lease follows the writer within a renewal",
		e.Region, e.Lease.Holder, e.Lease.Epoch, e.Lease.Expires.UTC().Format(time.RFC3339))
}

// InvalidInputError is malformed input; the message says what is wrong and what was expected.
type InvalidInputError struct {
	Reason string
}

func (e *InvalidInputError) Error() string { return "invalid input: " + e.Reason }

// ExecutionExistsError says a state machine execution with Name already exists and is closed (or
// was started with another input): the incident it names was already handled.
type ExecutionExistsError struct {
	Name string
	Err  error
}

func (e *ExecutionExistsError) Error() string {
	return "execution " + e.Name + " already exists: " + e.Err.Error()
}
func (e *ExecutionExistsError) Unwrap() error { return e.Err }

// boundary returns err as the named type found in its chain, so that the Lambda runtime reports that
// type's name to Step Functions, with step and the whole chain kept in the message. Errors of no
// named type become *StepFailedError.
func boundary(step string, err error) error {
	if err == nil {
		return nil
	}
	var (
		throttled    *ThrottledError
		transient    *TransientError
		precondition *PreconditionError
		timeout      *PromotionTimeoutError
		verification *VerificationError
		notShifted   *TrafficNotShiftedError
		notWriter    *NotWriterError
		notHeld      *LeaseNotHeldError
		stale        *StaleEpochError
		refused      *RefusedError
		superseded   *SupersededError
		unavailable  *LeaseUnavailableError
		invalid      *InvalidInputError
	)
	msg := step + ": " + err.Error()
	switch {
	case errors.As(err, &invalid):
		return &InvalidInputError{Reason: msg}
	case errors.As(err, &refused):
		return &RefusedError{Reason: msg}
	case errors.As(err, &superseded):
		return superseded
	case errors.As(err, &unavailable):
		return &LeaseUnavailableError{Reason: step + ": " + unavailable.Reason}
	case errors.As(err, &notWriter):
		return &NotWriterError{Cluster: notWriter.Cluster, Detail: step + ": " + notWriter.Detail}
	case errors.As(err, &notHeld):
		return notHeld
	case errors.As(err, &stale):
		return stale
	case errors.As(err, &timeout):
		return timeout
	case errors.As(err, &verification):
		return &VerificationError{Endpoint: verification.Endpoint, Detail: step + ": " + verification.Detail}
	case errors.As(err, &notShifted):
		return notShifted
	case errors.As(err, &precondition):
		return &PreconditionError{Op: step, Err: err}
	case errors.As(err, &throttled):
		return &ThrottledError{Op: step, Err: err}
	case errors.As(err, &transient):
		return &TransientError{Op: step, Err: err}
	}
	return &StepFailedError{Step: step, Err: err}
}

// StepFailedError is any other failure of a step: not retried, caught and notified.
type StepFailedError struct {
	Step string
	Err  error
}

func (e *StepFailedError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepFailedError) Unwrap() error { return e.Err }
