package lease

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Database is this region's database as the renewer sees it.
type Database interface {
	// Writable reports whether the database accepts writes (it is the global cluster's writer).
	Writable(ctx context.Context) (bool, error)
	// Fence lets the API acknowledge writes for the next d, measured by the database's own clock,
	// under holder and epoch, and stamps the replicated heartbeat. A fence of an older epoch than
	// the one in place changes nothing.
	Fence(ctx context.Context, holder string, epoch uint64, d time.Duration) error
	// Unfence makes the API refuse writes from now on.
	Unfence(ctx context.Context) error
	// LastHeartbeat is the newest heartbeat the database has, stamped here by a renewal or
	// replicated from the writer, with the epoch it was stamped under.
	LastHeartbeat(ctx context.Context) (Heartbeat, error)
}

// Heartbeat is a renewal's stamp in the writer's database, as a database has it.
type Heartbeat struct {
	Holder string
	Epoch  uint64
	At     time.Time
}

// HeartbeatBoard is where a standby's renewer publishes the newest heartbeat its database has
// replicated: the orchestrator reads the data-loss window from it, and the writer its RPO bound.
type HeartbeatBoard interface {
	PublishStandbyHeartbeat(ctx context.Context, region string, at time.Time) error
}

// StandbyReader reads the newest heartbeat the standby has published; zero when none.
type StandbyReader interface {
	StandbyHeartbeat(ctx context.Context) (time.Time, error)
}

// Renewer keeps this region's lease while its database writes, gives it back when the database
// stops writing, and carries it into the database as the fence the API's writes check. It keeps
// what it holds between ticks; a new Renewer (a new invocation) starts by reading the grantors.
type Renewer struct {
	Region string
	Quorum *Quorum
	DB     Database
	// PromotionGrace is how long a lease taken for a promotion is kept while the database is still
	// read-only (the promotion takes minutes); past it, a read-only database gives the lease back.
	PromotionGrace time.Duration
	// Board, when set, receives the standby's replicated heartbeat on every standby tick.
	Board HeartbeatBoard
	// RPOMax, when positive, bounds the data a failover may lose: the writer keeps its fence
	// closed while the standby's last published heartbeat is older than RPOMax (or unknown),
	// trading availability for a bounded loss. Standby reads it.
	RPOMax  time.Duration
	Standby StandbyReader

	held  *failover.Lease
	since time.Time
}

// Outcome is what one tick did, for the log.
type Outcome string

const (
	OutcomeRenewed  Outcome = "renewed"
	OutcomeTaken    Outcome = "taken"
	OutcomeReleased Outcome = "released"
	// OutcomeKept: the database is read-only and a promotion towards this region is under way.
	OutcomeKept Outcome = "kept for promotion"
	// OutcomeStandby: the database is read-only and this region holds nothing.
	OutcomeStandby Outcome = "standby"
	// OutcomeHeldElsewhere: the database writes but another region holds the lease; the API's
	// writes stay refused.
	OutcomeHeldElsewhere Outcome = "held elsewhere"
	// OutcomeLost: another region took the lease; the fence was closed at once.
	OutcomeLost Outcome = "lost"
	// OutcomeFailed: no majority answered or the database failed; the fence runs out by itself.
	OutcomeFailed Outcome = "failed"
	// OutcomeRPOExceeded: the lease is held but the standby's heartbeat is older than RPO_MAX:
	// writes are refused until it catches up.
	OutcomeRPOExceeded Outcome = "rpo exceeded"
)

// TickResult is one tick's outcome and the lease it left.
type TickResult struct {
	Outcome Outcome
	Lease   failover.Lease
	Err     error
	// Missing are the grantors that failed a renewal the others granted (a witness down, say):
	// the lease holds, but one more failure would cost it.
	Missing []GrantorError
}

// Tick runs one renewal round.
func (r *Renewer) Tick(ctx context.Context) TickResult {
	writable, err := r.DB.Writable(ctx)
	if err != nil {
		// A database this function cannot reach must not keep the lease: letting it run out is
		// what lets the standby take over when the writer's database dies.
		return TickResult{Outcome: OutcomeFailed, Err: err}
	}
	if r.held == nil {
		v, err := r.Quorum.Read(ctx)
		if err != nil {
			return TickResult{Outcome: OutcomeFailed, Err: err}
		}
		if v.Holder == r.Region && !v.Released && v.Valid(r.Quorum.now()) {
			r.held, r.since = &v.Lease, v.Since
		}
	}
	if !writable {
		return r.standbyTick(ctx)
	}
	if r.held == nil {
		l, err := r.Quorum.Take(ctx, r.Region)
		var held *HeldError
		switch {
		case errors.As(err, &held):
			return TickResult{Outcome: OutcomeHeldElsewhere, Lease: held.Lease}
		case err != nil:
			return TickResult{Outcome: OutcomeFailed, Err: err}
		}
		r.held, r.since = &l, r.Quorum.now()
		return r.fence(ctx, OutcomeTaken)
	}
	l, missing, err := r.Quorum.renew(ctx, r.Region, r.held.Epoch)
	if err != nil {
		return r.renewFailed(ctx, err)
	}
	r.held = &l
	res := r.fence(ctx, OutcomeRenewed)
	res.Missing = missing
	return res
}

func (r *Renewer) standbyTick(ctx context.Context) TickResult {
	hb, err := r.DB.LastHeartbeat(ctx)
	if err != nil {
		return TickResult{Outcome: OutcomeFailed, Err: err}
	}
	if r.Board != nil {
		if err := r.Board.PublishStandbyHeartbeat(ctx, r.Region, hb.At); err != nil {
			return TickResult{Outcome: OutcomeFailed, Err: err}
		}
	}
	switch {
	case r.held == nil:
		return TickResult{Outcome: OutcomeStandby}
	// A database stamped under the held epoch has written under it: read-only now, it was demoted
	// (a switchover) and the lease goes back at once. One that never was is being promoted.
	case hb.Epoch < r.held.Epoch && r.Quorum.now().Sub(r.since) < r.PromotionGrace:
		l, err := r.Quorum.Renew(ctx, r.Region, r.held.Epoch)
		if err != nil {
			return r.renewFailed(ctx, err)
		}
		r.held = &l
		return TickResult{Outcome: OutcomeKept, Lease: l}
	}
	l := *r.held
	if err := r.Quorum.Release(ctx, r.Region, l.Epoch); err != nil {
		return TickResult{Outcome: OutcomeFailed, Lease: l, Err: err}
	}
	r.held = nil
	return TickResult{Outcome: OutcomeReleased, Lease: l}
}

// renewFailed closes the fence at once when another region has the lease; after a mere failure
// to reach a majority the fence runs out by itself, Margin before the lease.
func (r *Renewer) renewFailed(ctx context.Context, err error) TickResult {
	var nm *NoMajorityError
	if !errors.As(err, &nm) || !nm.Conflict {
		return TickResult{Outcome: OutcomeFailed, Lease: *r.held, Err: err}
	}
	r.held = nil
	// An overlapping invocation of this region may have taken a newer epoch: that is not a loss.
	if v, rerr := r.Quorum.Read(ctx); rerr == nil && v.Holder == r.Region && !v.Released && v.Valid(r.Quorum.now()) {
		r.held, r.since = &v.Lease, v.Since
		return r.fence(ctx, OutcomeRenewed)
	}
	if uerr := r.DB.Unfence(ctx); uerr != nil {
		return TickResult{Outcome: OutcomeFailed, Err: errors.Join(err, uerr)}
	}
	return TickResult{Outcome: OutcomeLost, Err: err}
}

func (r *Renewer) fence(ctx context.Context, o Outcome) TickResult {
	l := *r.held
	d := l.Expires.Sub(r.Quorum.now()) - r.Quorum.Timings.Margin
	if d <= 0 {
		return TickResult{Outcome: OutcomeFailed, Lease: l, Err: errors.New("the renewal took longer than the lease leaves before its margin: the fence stays closed")}
	}
	if r.RPOMax > 0 {
		beat, err := r.Standby.StandbyHeartbeat(ctx)
		if age := r.Quorum.now().Sub(beat); err != nil || beat.IsZero() || age > r.RPOMax {
			// A zero-length fence closes it and still stamps the heartbeat, which the standby must
			// receive to catch up.
			if ferr := r.DB.Fence(ctx, l.Holder, l.Epoch, 0); ferr != nil {
				return TickResult{Outcome: OutcomeFailed, Lease: l, Err: ferr}
			}
			why := fmt.Errorf("the standby's heartbeat is %s old, beyond RPO_MAX %s", age.Round(time.Millisecond), r.RPOMax)
			if err != nil || beat.IsZero() {
				why = fmt.Errorf("the standby's heartbeat is unknown (%v): RPO_MAX %s cannot be held", err, r.RPOMax)
			}
			return TickResult{Outcome: OutcomeRPOExceeded, Lease: l, Err: why}
		}
	}
	if err := r.DB.Fence(ctx, l.Holder, l.Epoch, d); err != nil {
		return TickResult{Outcome: OutcomeFailed, Lease: l, Err: err}
	}
	return TickResult{Outcome: o, Lease: l}
}

// Run ticks every renew interval until ctx ends or until, whichever is first, calling report
// after each tick. A scheduled invocation runs it for most of two schedule periods, so that the
// invocations overlap and one that never starts costs no renewal.
func (r *Renewer) Run(ctx context.Context, until time.Time, report func(TickResult)) {
	for {
		start := time.Now()
		res := r.Tick(ctx)
		if report != nil {
			report(res)
		}
		next := start.Add(r.Quorum.Timings.RenewInterval)
		if !next.Before(until) {
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}
