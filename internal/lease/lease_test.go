package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// memGrantor is a grantor with the conditional semantics the adapters implement, whose links can
// be cut per caller.
type memGrantor struct {
	name string
	mu   sync.Mutex
	g    Grant
	down bool
}

var errUnreachable = errors.New("unreachable")

func (m *memGrantor) Name() string { return m.name }

func (m *memGrantor) do(f func() error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errUnreachable
	}
	return f()
}

func (m *memGrantor) Read(context.Context) (Grant, error) {
	var g Grant
	err := m.do(func() error { g = m.g; return nil })
	return g, err
}

func (m *memGrantor) Renew(_ context.Context, holder string, epoch uint64, expires time.Time) error {
	return m.do(func() error {
		if m.g.Holder != holder || m.g.Epoch != epoch || m.g.Released {
			return fmt.Errorf("%s: %w", m.name, ErrConflict)
		}
		m.g.Expires = expires
		return nil
	})
}

func (m *memGrantor) Release(_ context.Context, holder string, epoch uint64, at time.Time) error {
	return m.do(func() error {
		if m.g.Holder != holder || m.g.Epoch != epoch {
			return fmt.Errorf("%s: %w", m.name, ErrConflict)
		}
		m.g.Released, m.g.Expires = true, at
		return nil
	})
}

func (m *memGrantor) Take(_ context.Context, next Grant, expiredBefore time.Time) error {
	return m.do(func() error {
		if m.g.Holder != "" && (m.g.Epoch >= next.Epoch || (!m.g.Released && !m.g.Expires.Before(expiredBefore))) {
			return fmt.Errorf("%s: %w", m.name, ErrConflict)
		}
		m.g = next
		return nil
	})
}

// world is three grantors and a manual clock.
type world struct {
	a, b, w *memGrantor
	now     time.Time
}

func newWorld() *world {
	return &world{a: &memGrantor{name: "region-a"}, b: &memGrantor{name: "region-b"}, w: &memGrantor{name: "witness"},
		now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
}

func (w *world) quorum() *Quorum {
	return &Quorum{Grantors: []Grantor{w.a, w.b, w.w}, Timings: DefaultTimings(), Now: func() time.Time { return w.now }}
}

func TestTimingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Timings
		ok   bool
	}{
		{"defaults", DefaultTimings(), true},
		{"renewal too slow for the TTL", Timings{RenewInterval: 5 * time.Second, TTL: 10 * time.Second, CallTimeout: 2 * time.Second, Margin: 2 * time.Second}, false},
		{"zero margin", Timings{RenewInterval: time.Second, TTL: 10 * time.Second, CallTimeout: time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.t.Validate(); (err == nil) != tc.ok {
				t.Errorf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestRenewNeedsAMajority(t *testing.T) {
	w := newWorld()
	q := w.quorum()
	ctx := context.Background()
	l, err := q.Take(ctx, "region-a")
	if err != nil || l.Epoch != 1 {
		t.Fatalf("Take = %+v, %v; want epoch 1", l, err)
	}
	w.w.down = true
	w.now = w.now.Add(2 * time.Second)
	if l, err = q.Renew(ctx, "region-a", 1); err != nil || !l.Expires.Equal(w.now.Add(10*time.Second)) {
		t.Fatalf("renew with the witness down = %+v, %v; want a renewal by a and b", l, err)
	}
	w.b.down = true
	_, err = q.Renew(ctx, "region-a", 1)
	var nm *NoMajorityError
	if !errors.As(err, &nm) || nm.Got != 1 || nm.Conflict {
		t.Fatalf("renew with one grantor = %v; want NoMajorityError with 1 grant and no conflict", err)
	}
}

func TestTakeWaitsForExpiryPlusMargin(t *testing.T) {
	w := newWorld()
	q := w.quorum()
	ctx := context.Background()
	if _, err := q.Take(ctx, "region-a"); err != nil {
		t.Fatal(err)
	}
	expires := w.now.Add(10 * time.Second)
	for _, at := range []time.Duration{0, 10 * time.Second, 11 * time.Second, 12 * time.Second} {
		w.now = expires.Add(-10 * time.Second).Add(at)
		_, err := q.Take(ctx, "region-b")
		var held *HeldError
		if !errors.As(err, &held) || held.Lease.Holder != "region-a" {
			t.Fatalf("take at +%s = %v; want HeldError by region-a", at, err)
		}
	}
	w.now = expires.Add(2*time.Second + time.Millisecond)
	l, err := q.Take(ctx, "region-b")
	if err != nil || l.Holder != "region-b" || l.Epoch != 2 {
		t.Fatalf("take after expiry+margin = %+v, %v; want region-b at epoch 2", l, err)
	}
	if _, err := q.Renew(ctx, "region-a", 1); err == nil {
		t.Fatal("the old holder renewed after a takeover")
	} else if nm := (*NoMajorityError)(nil); !errors.As(err, &nm) || !nm.Conflict {
		t.Fatalf("old holder's renewal = %v; want a NoMajorityError with Conflict", err)
	}
}

func TestReleasedLeaseIsTakenAtOnce(t *testing.T) {
	w := newWorld()
	q := w.quorum()
	ctx := context.Background()
	if _, err := q.Take(ctx, "region-a"); err != nil {
		t.Fatal(err)
	}
	if err := q.Release(ctx, "region-a", 1); err != nil {
		t.Fatal(err)
	}
	l, err := q.Take(ctx, "region-b")
	if err != nil || l.Epoch != 2 {
		t.Fatalf("take of a released lease = %+v, %v; want epoch 2 at once", l, err)
	}
}

func TestRacingTakersGetOneLease(t *testing.T) {
	for i := range 20 {
		w := newWorld()
		q := w.quorum()
		var wg sync.WaitGroup
		won := make([]bool, 2)
		for j, who := range []string{"region-a", "region-b"} {
			wg.Go(func() {
				_, err := q.Take(context.Background(), who)
				won[j] = err == nil
			})
		}
		wg.Wait()
		if won[0] && won[1] {
			t.Fatalf("round %d: both contenders took the lease", i)
		}
	}
}

func TestReadCountsUnansweredGrantorsAsLate(t *testing.T) {
	w := newWorld()
	q := w.quorum()
	ctx := context.Background()
	if _, err := q.Take(ctx, "region-a"); err != nil {
		t.Fatal(err)
	}
	w.now = w.now.Add(3 * time.Second)
	w.a.down = true
	if _, err := q.Renew(ctx, "region-a", 1); err != nil {
		t.Fatal(err)
	}
	// b and the witness carry the later expiry; with a unknown, a majority may hold until the later one.
	v, err := q.Read(ctx)
	if err != nil || v.Holder != "region-a" || !v.Expires.Equal(w.now.Add(10*time.Second)) {
		t.Fatalf("Read = %+v, %v", v, err)
	}
	w.b.down = true
	if _, err := q.Read(ctx); err == nil {
		t.Fatal("Read with one grantor answering gave a lease")
	}
}

// fakeDB is the renewer's database: writable or not, reachable or not, with the fence it was given.
type fakeDB struct {
	writable    bool
	err         error
	fencedUntil time.Time
	epoch       uint64
	unfenced    int
	beat        time.Time
	now         func() time.Time
}

func (d *fakeDB) Writable(context.Context) (bool, error) { return d.writable, d.err }
func (d *fakeDB) Fence(_ context.Context, _ string, epoch uint64, dur time.Duration) error {
	if epoch >= d.epoch {
		d.epoch, d.fencedUntil, d.beat = epoch, d.now().Add(dur), d.now()
	}
	return nil
}
func (d *fakeDB) Unfence(context.Context) error { d.fencedUntil = d.now(); d.unfenced++; return nil }
func (d *fakeDB) LastHeartbeat(context.Context) (Heartbeat, error) {
	return Heartbeat{Epoch: d.epoch, At: d.beat}, d.err
}

func TestRenewerPartition(t *testing.T) {
	w := newWorld()
	ctx := context.Background()
	now := func() time.Time { return w.now }
	dbA, dbB := &fakeDB{writable: true, now: now}, &fakeDB{now: now}
	ra := &Renewer{Region: "region-a", Quorum: w.quorum(), DB: dbA, PromotionGrace: time.Minute}
	if res := ra.Tick(ctx); res.Outcome != OutcomeTaken || res.Lease.Epoch != 1 {
		t.Fatalf("first tick = %+v", res)
	}
	if want := w.now.Add(8 * time.Second); !dbA.fencedUntil.Equal(want) {
		t.Fatalf("fence until %s, want %s (TTL − margin)", dbA.fencedUntil, want)
	}
	lastFence := dbA.fencedUntil
	// Region a is cut from region b's grantor and from the witness: its renewals fail and the
	// fence is not extended.
	qa := ra.Quorum
	qa.Grantors = []Grantor{w.a, &cut{w.b}, &cut{w.w}}
	for range 5 {
		w.now = w.now.Add(2 * time.Second)
		if res := ra.Tick(ctx); res.Outcome != OutcomeFailed {
			t.Fatalf("partitioned tick = %+v, want failed", res)
		}
	}
	if !dbA.fencedUntil.Equal(lastFence) {
		t.Fatalf("the fence moved to %s while region a had no majority", dbA.fencedUntil)
	}
	// Region b, promoted by a failover that took the lease (Promote does it), renews it.
	w.now = w.now.Add(3 * time.Second)
	qb := w.quorum()
	l, err := qb.Take(ctx, "region-b")
	if err != nil {
		t.Fatalf("region b's takeover: %v", err)
	}
	if !w.now.After(lastFence.Add(2 * 2 * time.Second)) {
		t.Fatalf("takeover at %s, less than 2 margins after a's fence %s", w.now, lastFence)
	}
	board := &fakeBoard{}
	dbB.beat = lastFence.Add(-7 * time.Second) // what replicated before the cut
	rb := &Renewer{Region: "region-b", Quorum: qb, DB: dbB, PromotionGrace: time.Minute, Board: board}
	if res := rb.Tick(ctx); res.Outcome != OutcomeKept || res.Lease.Epoch != l.Epoch {
		t.Fatalf("b's tick during promotion = %+v", res)
	}
	if !board.at.Equal(dbB.beat) || board.region != "region-b" {
		t.Fatalf("standby published %s %s, want region-b's replicated heartbeat %s", board.region, board.at, dbB.beat)
	}
	dbB.writable = true
	if res := rb.Tick(ctx); res.Outcome != OutcomeRenewed || dbB.epoch != 2 {
		t.Fatalf("b's tick once writable = %+v", res)
	}
	// The partition heals: a learns it lost and closes its fence at once.
	qa.Grantors = []Grantor{w.a, w.b, w.w}
	if res := ra.Tick(ctx); res.Outcome != OutcomeFailed {
		// a still believes it holds epoch 1 and renews: refused by all three with a conflict.
		if res.Outcome != OutcomeLost {
			t.Fatalf("a's tick after healing = %+v, want lost", res)
		}
	}
	if dbA.unfenced != 1 {
		t.Fatalf("a's fence closed %d times, want 1", dbA.unfenced)
	}
	if res := ra.Tick(ctx); res.Outcome != OutcomeHeldElsewhere {
		t.Fatalf("a's next tick = %+v, want held elsewhere", res)
	}
}

type cut struct{ Grantor }

func (c *cut) Read(context.Context) (Grant, error) { return Grant{}, errUnreachable }
func (c *cut) Renew(context.Context, string, uint64, time.Time) error {
	return errUnreachable
}
func (c *cut) Release(context.Context, string, uint64, time.Time) error { return errUnreachable }
func (c *cut) Take(context.Context, Grant, time.Time) error             { return errUnreachable }

func TestRenewerDatabaseDownLetsTheLeaseRunOut(t *testing.T) {
	w := newWorld()
	ctx := context.Background()
	db := &fakeDB{writable: true, now: func() time.Time { return w.now }}
	r := &Renewer{Region: "region-a", Quorum: w.quorum(), DB: db}
	if res := r.Tick(ctx); res.Outcome != OutcomeTaken {
		t.Fatalf("tick = %+v", res)
	}
	db.err = errors.New("connection refused")
	w.now = w.now.Add(2 * time.Second)
	if res := r.Tick(ctx); res.Outcome != OutcomeFailed {
		t.Fatalf("tick with the database down = %+v, want failed", res)
	}
	if g, _ := w.w.Read(ctx); !g.Expires.Equal(w.now.Add(8 * time.Second)) {
		t.Fatalf("the lease was renewed while the database was down: expires %s", g.Expires)
	}
}

func TestRenewerReleasesWhenDemoted(t *testing.T) {
	w := newWorld()
	ctx := context.Background()
	db := &fakeDB{writable: true, now: func() time.Time { return w.now }}
	r := &Renewer{Region: "region-a", Quorum: w.quorum(), DB: db, PromotionGrace: 30 * time.Second}
	if res := r.Tick(ctx); res.Outcome != OutcomeTaken {
		t.Fatalf("tick = %+v", res)
	}
	db.writable = false // a switchover made region a's database read-only
	// Well within the promotion grace: the database wrote under this epoch, so it was demoted.
	w.now = w.now.Add(time.Second)
	if res := r.Tick(ctx); res.Outcome != OutcomeReleased {
		t.Fatalf("tick after demotion = %+v, want released", res)
	}
	rb := &Renewer{Region: "region-b", Quorum: w.quorum(), DB: &fakeDB{writable: true, now: db.now}}
	if res := rb.Tick(ctx); res.Outcome != OutcomeTaken || res.Lease.Epoch != 2 {
		t.Fatalf("b's tick after the handover = %+v, want taken at epoch 2", res)
	}
}

type fakeBoard struct {
	region string
	at     time.Time
}

func (b *fakeBoard) PublishStandbyHeartbeat(_ context.Context, region string, at time.Time) error {
	b.region, b.at = region, at
	return nil
}

type standbyAt struct{ at *time.Time }

func (s standbyAt) StandbyHeartbeat(context.Context) (time.Time, error) { return *s.at, nil }

func TestRenewerHoldsRPOMax(t *testing.T) {
	w := newWorld()
	ctx := context.Background()
	db := &fakeDB{writable: true, now: func() time.Time { return w.now }}
	beat := w.now
	r := &Renewer{Region: "region-a", Quorum: w.quorum(), DB: db, RPOMax: 5 * time.Second, Standby: standbyAt{&beat}}
	if res := r.Tick(ctx); res.Outcome != OutcomeTaken || !db.fencedUntil.After(w.now) {
		t.Fatalf("tick with a fresh standby = %+v, fence until %s", res, db.fencedUntil)
	}
	w.now = w.now.Add(6 * time.Second) // the standby stopped publishing
	if res := r.Tick(ctx); res.Outcome != OutcomeRPOExceeded || res.Err == nil {
		t.Fatalf("tick with a stale standby = %+v, want rpo exceeded", res)
	}
	if db.fencedUntil.After(w.now) || !db.beat.Equal(w.now) {
		t.Fatalf("fence until %s, heartbeat %s; want closed at %s and the heartbeat still stamped", db.fencedUntil, db.beat, w.now)
	}
	beat = w.now.Add(-time.Second)
	if res := r.Tick(ctx); res.Outcome != OutcomeRenewed || !db.fencedUntil.After(w.now) {
		t.Fatalf("tick after the standby caught up = %+v", res)
	}
}

func TestRenewerReportsAMissingGrantor(t *testing.T) {
	w := newWorld()
	ctx := context.Background()
	r := &Renewer{Region: "region-a", Quorum: w.quorum(), DB: &fakeDB{writable: true, now: func() time.Time { return w.now }}}
	if res := r.Tick(ctx); res.Outcome != OutcomeTaken {
		t.Fatalf("tick = %+v", res)
	}
	w.w.down = true
	res := r.Tick(ctx)
	if res.Outcome != OutcomeRenewed || len(res.Missing) != 1 || res.Missing[0].Grantor != "witness" {
		t.Fatalf("tick with the witness down = %+v; want renewed, with the witness missing", res)
	}
}
