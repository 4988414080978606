package lease

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Grant is one grantor's record of the lease. The zero Grant means the grantor never granted one.
type Grant struct {
	Holder  string
	Epoch   uint64
	Expires time.Time
	// Since is when Epoch was taken: a renewer tells a lease taken for a promotion still under way
	// from one its demoted database should give back.
	Since time.Time
	// Released says the holder gave the lease back (its database stopped writing): it may be taken
	// at once, without waiting for the expiry.
	Released bool
}

// ErrConflict is a grantor refusing a conditional write: its record is no longer what the caller
// assumed (another holder, a newer epoch, or a lease not yet expired).
var ErrConflict = errors.New("the grantor's record changed")

// Grantor is one of the three stores that grant the lease. Every write is conditional and
// strongly consistent; a refused condition is ErrConflict (wrapped), anything else is a failure to
// reach the grantor.
type Grantor interface {
	Name() string
	// Read returns the grantor's record by a strongly consistent read.
	Read(ctx context.Context) (Grant, error)
	// Renew sets Expires of the record held by holder under epoch.
	Renew(ctx context.Context, holder string, epoch uint64, expires time.Time) error
	// Release marks the record held by holder under epoch released, expiring at.
	Release(ctx context.Context, holder string, epoch uint64, at time.Time) error
	// Take replaces a record that is absent, or has an epoch below next.Epoch and was released or
	// expired before expiredBefore.
	Take(ctx context.Context, next Grant, expiredBefore time.Time) error
}

// Timings are the lease's clock. Validate states the rules they obey.
type Timings struct {
	// RenewInterval is the time between renewals by the writer region.
	RenewInterval time.Duration
	// TTL is how long a renewal keeps the lease.
	TTL time.Duration
	// CallTimeout bounds each call to a grantor.
	CallTimeout time.Duration
	// Margin is the largest clock skew allowed between any two parties. The writer's database
	// fence ends Margin before the lease expires, and a takeover waits until Margin after it, so
	// writes stop at least 2×Margin of real time before a new writer can exist. It must also cover
	// the longest write transaction (the API's database timeout), which is checked at its start.
	Margin time.Duration
}

// DefaultTimings are the deployed timings: a renewal every 2 s, each call bounded by 1 s, a 10 s
// lease and a 2 s margin.
func DefaultTimings() Timings {
	return Timings{RenewInterval: 2 * time.Second, TTL: 10 * time.Second, CallTimeout: time.Second, Margin: 2 * time.Second}
}

// Validate checks the rule that keeps a healthy writer's lease alive through one slow renewal and
// one lost one (Patroni's loop_wait + 2×retry_timeout ≤ ttl, with the fence's margin taken off).
func (t Timings) Validate() error {
	switch {
	case t.RenewInterval <= 0 || t.TTL <= 0 || t.CallTimeout <= 0 || t.Margin <= 0:
		return errors.New("lease timings: renew interval, TTL, call timeout and margin must all be positive")
	case t.RenewInterval+2*t.CallTimeout > t.TTL-t.Margin:
		return fmt.Errorf("lease timings: renew interval %s + 2 × call timeout %s must not exceed TTL %s − margin %s: "+
			"one slow renewal followed by a lost one would fence a healthy writer", t.RenewInterval, t.CallTimeout, t.TTL, t.Margin)
	}
	return nil
}

// Quorum is the lease as a majority of grantors holds it.
type Quorum struct {
	Grantors []Grantor
	Timings  Timings
	Now      func() time.Time
}

var _ failover.LeaseReader = (*Quorum)(nil)

func (q *Quorum) now() time.Time {
	if q.Now != nil {
		return q.Now()
	}
	return time.Now()
}

// majority is how many grantors make a lease.
func (q *Quorum) majority() int { return len(q.Grantors)/2 + 1 }

// GrantorError is one grantor's failure within a quorum operation.
type GrantorError struct {
	Grantor string
	Err     error
}

// NoMajorityError says a quorum operation got fewer grants (or answers) than a majority.
type NoMajorityError struct {
	Op      string
	Got     int
	Need    int
	Reasons []GrantorError
	// Conflict says at least one grantor refused the condition: another holder or a newer epoch
	// has the record, so the caller has lost the lease rather than merely failed to reach it.
	Conflict bool
}

func (e *NoMajorityError) Error() string {
	var parts []string
	for _, r := range e.Reasons {
		parts = append(parts, r.Grantor+": "+r.Err.Error())
	}
	return fmt.Sprintf("%s: %d of %d grantors needed agreed (%s)", e.Op, e.Got, e.Need, strings.Join(parts, "; "))
}

// each calls f on every grantor at once, each call bounded by the call timeout.
func (q *Quorum) each(ctx context.Context, f func(ctx context.Context, i int, g Grantor) error) []error {
	errs := make([]error, len(q.Grantors))
	var wg sync.WaitGroup
	for i, g := range q.Grantors {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, q.Timings.CallTimeout)
			defer cancel()
			errs[i] = f(cctx, i, g)
		})
	}
	wg.Wait()
	return errs
}

func (q *Quorum) tally(op string, errs []error) error {
	_, err := q.tallyMissing(op, errs)
	return err
}

// tallyMissing is tally that also returns the grantors that failed when a majority agreed.
func (q *Quorum) tallyMissing(op string, errs []error) ([]GrantorError, error) {
	e := &NoMajorityError{Op: op, Need: q.majority()}
	for i, err := range errs {
		if err == nil {
			e.Got++
			continue
		}
		e.Conflict = e.Conflict || errors.Is(err, ErrConflict)
		e.Reasons = append(e.Reasons, GrantorError{Grantor: q.Grantors[i].Name(), Err: err})
	}
	if e.Got >= e.Need {
		return e.Reasons, nil
	}
	return nil, e
}

// readAll reads every grantor; answered[i] says whether grants[i] is known.
func (q *Quorum) readAll(ctx context.Context) (grants []Grant, answered []bool, err error) {
	grants = make([]Grant, len(q.Grantors))
	answered = make([]bool, len(q.Grantors))
	errs := q.each(ctx, func(ctx context.Context, i int, g Grantor) error {
		gr, err := g.Read(ctx)
		grants[i], answered[i] = gr, err == nil
		return err
	})
	return grants, answered, q.tally("read the lease", errs)
}

// View is the lease as a majority of grantors sees it, with what a challenger needs to know.
type View struct {
	failover.Lease
	// Released says the holder gave the lease back.
	Released bool
	// MaxEpoch is the highest epoch any grantor that answered has seen.
	MaxEpoch uint64
}

// Read returns the lease a majority agrees on. When no (holder, epoch) has a majority, Holder is
// empty. Expires is the latest instant at which a majority could still hold it: grantors that did
// not answer count as granting for ever, so a challenger reading it never acts early.
func (q *Quorum) Read(ctx context.Context) (View, error) {
	grants, answered, err := q.readAll(ctx)
	if err != nil {
		return View{}, err
	}
	var v View
	unknown := 0
	for i, g := range grants {
		if !answered[i] {
			unknown++
			continue
		}
		v.MaxEpoch = max(v.MaxEpoch, g.Epoch)
	}
	for _, g := range grants {
		if g.Holder == "" {
			continue
		}
		var expiries []time.Time
		for i, o := range grants {
			if answered[i] && o.Holder == g.Holder && o.Epoch == g.Epoch {
				expiries = append(expiries, o.Expires)
			}
		}
		if len(expiries)+unknown < q.majority() || (v.Holder != "" && v.Epoch >= g.Epoch) {
			continue
		}
		// The majority-th latest expiry, with unknown grantors counted as the latest of all.
		slices.SortFunc(expiries, func(a, b time.Time) int { return b.Compare(a) })
		k := q.majority() - unknown
		expires := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		if k > 0 {
			expires = expiries[k-1]
		}
		v.Lease = failover.Lease{Holder: g.Holder, Epoch: g.Epoch, Expires: expires, Since: g.Since}
		v.Released = g.Released
	}
	return v, nil
}

// CurrentLease implements failover.LeaseReader. A released lease has expired.
func (q *Quorum) CurrentLease(ctx context.Context) (failover.Lease, error) {
	v, err := q.Read(ctx)
	return v.Lease, err
}

// Renew extends holder's lease under epoch by the TTL, measured from before the first call so
// that the holder never believes in a lease longer than the grantors give it.
func (q *Quorum) Renew(ctx context.Context, holder string, epoch uint64) (failover.Lease, error) {
	l, _, err := q.renew(ctx, holder, epoch)
	return l, err
}

// renew is Renew that also says which grantors failed a renewal that a majority granted: one more
// failure would cost the lease, which the renewer reports.
func (q *Quorum) renew(ctx context.Context, holder string, epoch uint64) (failover.Lease, []GrantorError, error) {
	expires := q.now().Add(q.Timings.TTL)
	errs := q.each(ctx, func(ctx context.Context, _ int, g Grantor) error { return g.Renew(ctx, holder, epoch, expires) })
	missing, err := q.tallyMissing("renew "+holder+"'s lease", errs)
	if err != nil {
		return failover.Lease{}, nil, err
	}
	return failover.Lease{Holder: holder, Epoch: epoch, Expires: expires}, missing, nil
}

// Release gives holder's lease back, so that a successor need not wait for it to expire. Call it
// only once holder's database refuses writes.
func (q *Quorum) Release(ctx context.Context, holder string, epoch uint64) error {
	at := q.now()
	errs := q.each(ctx, func(ctx context.Context, _ int, g Grantor) error { return g.Release(ctx, holder, epoch, at) })
	return q.tally("release "+holder+"'s lease", errs)
}

// HeldError says a takeover found the lease still held: valid, or expired less than the margin ago.
type HeldError struct {
	Lease failover.Lease
	// Until is when a takeover may succeed: the expiry plus the margin.
	Until time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("the writer lease is held by %s (epoch %d) until %s; a takeover needs it expired plus the clock-skew margin, at %s",
		e.Lease.Holder, e.Lease.Epoch, e.Lease.Expires.UTC().Format(time.RFC3339Nano), e.Until.UTC().Format(time.RFC3339Nano))
}

// Take gives the lease to holder under a new epoch, higher than any a grantor has seen, once the
// current one was released or expired more than the margin ago. A holder that already has the
// lease renews it instead. The grantors' conditions make this safe against a racing contender and
// against a stale read: Take's own check only gives a clearer refusal.
func (q *Quorum) Take(ctx context.Context, holder string) (failover.Lease, error) {
	v, err := q.Read(ctx)
	if err != nil {
		return failover.Lease{}, err
	}
	now := q.now()
	if v.Holder == holder && !v.Released && v.Valid(now) {
		return q.Renew(ctx, holder, v.Epoch)
	}
	if v.Holder != "" && !v.Released && !now.After(v.Expires.Add(q.Timings.Margin)) {
		return failover.Lease{}, &HeldError{Lease: v.Lease, Until: v.Expires.Add(q.Timings.Margin)}
	}
	next := Grant{Holder: holder, Epoch: v.MaxEpoch + 1, Expires: now.Add(q.Timings.TTL), Since: now}
	cutoff := now.Add(-q.Timings.Margin)
	errs := q.each(ctx, func(ctx context.Context, _ int, g Grantor) error { return g.Take(ctx, next, cutoff) })
	if err := q.tally(fmt.Sprintf("take the lease for %s at epoch %d", holder, next.Epoch), errs); err != nil {
		return failover.Lease{}, err
	}
	return failover.Lease{Holder: holder, Epoch: next.Epoch, Expires: next.Expires, Since: next.Since}, nil
}

// TakeLease implements failover.LeaseTaker. Failing to reach a majority (rather than being
// refused by one) is *failover.LeaseUnavailableError, which the state machine retries.
func (q *Quorum) TakeLease(ctx context.Context, holder string) (failover.Lease, error) {
	l, err := q.Take(ctx, holder)
	var nm *NoMajorityError
	if errors.As(err, &nm) && !nm.Conflict {
		return l, &failover.LeaseUnavailableError{Reason: err.Error()}
	}
	return l, err
}

var _ failover.LeaseTaker = (*Quorum)(nil)
