package failover

import (
	"context"
	"time"
)

// Lease is the writer lease: the region that may accept writes, its fencing epoch, and until when.
// Epochs only grow: every change of holder takes a higher one, so a side effect stamped with an
// epoch (a traffic change, a promotion) can refuse to overwrite one stamped with a newer epoch.
type Lease struct {
	Holder  string // the region holding it; "" when nobody ever did
	Epoch   uint64
	Expires time.Time
}

// Valid reports whether l still lets its holder write at now.
func (l Lease) Valid(now time.Time) bool { return l.Holder != "" && now.Before(l.Expires) }

// LeaseReader reads the current writer lease as a majority of its grantors (the two regions and the
// witness) sees it.
type LeaseReader interface {
	CurrentLease(ctx context.Context) (Lease, error)
}

// LeaseTaker takes the writer lease for a promotion with data loss: under a new, higher epoch,
// once the current holder's lease was released or expired more than the clock-skew margin ago,
// with a majority of grantors agreeing. Without that majority there is no promotion.
type LeaseTaker interface {
	TakeLease(ctx context.Context, holder string) (Lease, error)
}

// StandbyHeartbeat reads the newest writer heartbeat this (standby) region's database has
// replicated, as its lease renewer last published it; zero when none was. Writes acknowledged
// after it may be lost by a failover.
type StandbyHeartbeat interface {
	StandbyHeartbeat(ctx context.Context) (time.Time, error)
}
