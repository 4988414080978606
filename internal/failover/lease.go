package failover

import (
	"context"
	"strings"
	"time"
)

// Lease is the writer lease: the region that may accept writes, its fencing epoch, and until when.
// Epochs only grow: every change of holder takes a higher one, so a side effect stamped with an
// epoch (a traffic change, a promotion) can refuse to overwrite one stamped with a newer epoch.
type Lease struct {
	Holder  string // the region holding it; "" when nobody ever did
	Epoch   uint64
	Expires time.Time
	// Since is when Holder took Epoch; zero when the reader cannot tell.
	Since time.Time
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

// ObservedWriterLease is the LeaseReader of a deployment without the writer lease (LEASE_GRANTORS
// unset: local runs of the orchestrator alone): it derives the lease from what exists. The holder is the region whose cluster DescribeGlobalClusters
// reports as the writer with no switchover or failover running; the epoch is the time of that
// observation in milliseconds, so an activation that saw its region writing later carries a higher
// epoch than one that saw it earlier, and a delayed traffic change from an older observation is
// refused. It trusts the regions' clocks to agree within milliseconds (NTP on Lambda), which the
// quorum lease's counter does not need. Its epochs (milliseconds) are far above the quorum lease's
// counter, so a deployment that turns the quorum lease on starts its traffic epochs afresh (a new
// distribution or record), or every change is refused as stale. Only the local region can be observed as holder; another
// writer is reported with epoch 0 and already expired, which no step accepts.
type ObservedWriterLease struct {
	DB              GlobalDatabase
	Region          string
	LocalClusterARN string
	// TTL is how long an observation counts as a lease; 30 seconds when zero.
	TTL time.Duration
	Now func() time.Time
}

var _ LeaseReader = (*ObservedWriterLease)(nil)

// CurrentLease observes the global database.
func (o *ObservedWriterLease) CurrentLease(ctx context.Context) (Lease, error) {
	now := clock(o.Now)
	topo, err := o.DB.Describe(ctx)
	if err != nil {
		return Lease{}, err
	}
	local, _ := topo.Member(o.LocalClusterARN)
	if topo.Failover != nil || !local.IsWriter {
		return Lease{Holder: regionOf(topo.Writer()), Expires: now}, nil
	}
	ttl := o.TTL
	if ttl == 0 {
		ttl = 30 * time.Second
	}
	return Lease{Holder: o.Region, Epoch: uint64(now.UnixMilli()), Expires: now.Add(ttl)}, nil
}

// regionOf returns the region field of an ARN (arn:partition:service:region:...), "" when absent.
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 5)
	if len(parts) < 5 {
		return ""
	}
	return parts[3]
}
