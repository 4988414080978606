package failover

import (
	"context"
	"time"
)

// Topology is the global database as DescribeGlobalClusters reports it.
type Topology struct {
	GlobalClusterID string
	Members         []Member
	// Failover is nil when no switchover or failover runs.
	Failover *FailoverInProgress
}

// Member is one regional cluster of the global database.
type Member struct {
	ClusterARN string
	IsWriter   bool
	// Synchronization is the member's SynchronizationStatus (connected, pending-resync), empty for the writer.
	Synchronization string
}

// FailoverInProgress is the global cluster's FailoverState while a switchover or failover runs.
type FailoverInProgress struct {
	Status          string
	From            string
	To              string
	DataLossAllowed bool
}

// Member returns the member with clusterARN.
func (t Topology) Member(clusterARN string) (Member, bool) {
	for _, m := range t.Members {
		if m.ClusterARN == clusterARN {
			return m, true
		}
	}
	return Member{}, false
}

// Writer returns the writer member's ARN, or "" when the topology has none.
func (t Topology) Writer() string {
	for _, m := range t.Members {
		if m.IsWriter {
			return m.ClusterARN
		}
	}
	return ""
}

// GlobalDatabase is the Aurora global database, reached through this region's endpoints only.
type GlobalDatabase interface {
	Describe(ctx context.Context) (Topology, error)
	// ClusterStatus is the regional cluster's Status ("available", "modifying", ...).
	ClusterStatus(ctx context.Context, clusterARN string) (string, error)
	// Switchover makes target the writer with no data loss; it needs a healthy writer.
	Switchover(ctx context.Context, target string) error
	// Failover makes target the writer while the writer may be down, losing the writes not yet
	// replicated (AllowDataLoss=true).
	Failover(ctx context.Context, target string) error
	// ReplicationLag is the secondary cluster's latest replication lag; ok is false when no datapoint
	// exists in the lookback window.
	ReplicationLag(ctx context.Context, clusterARN string) (lag time.Duration, ok bool, err error)
}

// TrafficState is where the public endpoint points and the fencing epoch of the change that put it
// there (0 when no change carried one).
type TrafficState struct {
	Target string
	Epoch  uint64
}

// TrafficSwitch points the public endpoint at a region. Targets are opaque to the domain: a
// CloudFront origin ID or a DNS record value. Every change carries the writer lease's epoch, and the
// switch compares and sets atomically (an ETag, a DNS change batch), so a delayed or racing
// activation holding an older lease can never overwrite where a newer one pointed traffic.
type TrafficSwitch interface {
	Current(ctx context.Context) (TrafficState, error)
	// SwitchTo points traffic at target, stamped with epoch. It changes nothing and returns
	// *StaleEpochError when the current state carries a newer epoch, or the same epoch for another
	// target; repeating the current target and epoch succeeds without a change.
	SwitchTo(ctx context.Context, target string, epoch uint64) error
}

// Supersedes reports whether a change to target stamped with epoch may replace s.
func (s TrafficState) Supersedes(target string, epoch uint64) bool {
	return epoch > s.Epoch || (epoch == s.Epoch && target == s.Target)
}

// Notifier delivers a notification to the operators.
type Notifier interface {
	Notify(ctx context.Context, subject, message string) error
}

// Health is a region's answer to GET /health.
type Health struct {
	Status  int
	Region  string
	Role    string
	Latency time.Duration
}

// Canary is the outcome of a canary write, read and delete through a ToDo API base URL.
type Canary struct {
	// WriteStatus is the HTTP status of the write; WriteRegion its serving region header.
	WriteStatus int
	WriteRegion string
	// NotWriter says the write was refused because the serving region does not write.
	NotWriter bool
	// ReadBack says the written item was read back with the same content.
	ReadBack   bool
	ReadRegion string
	// Detail describes what went wrong, for the notification.
	Detail string
}

// Prober speaks HTTP to a region's API. Errors are transport failures (refused, timed out).
type Prober interface {
	Health(ctx context.Context, baseURL string) (Health, error)
	Canary(ctx context.Context, baseURL, key string) (Canary, error)
}

// Sample is one probe of the peer or the public endpoint.
type Sample struct {
	At      time.Time
	Healthy bool
	Latency time.Duration
}

// Metrics publishes the prober's samples in this region: the peer's and the public endpoint's
// health, and the watchdog's consistency samples (taken only while this region writes).
type Metrics interface {
	PublishProbes(ctx context.Context, peer, public, consistency []Sample) error
}

// ExecutionSummary is one state machine execution.
type ExecutionSummary struct {
	Name      string
	ARN       string
	Status    string
	StartedAt time.Time
}

// Executions starts and lists this region's state machine executions.
type Executions interface {
	// Start starts an execution; a running execution with the same name and input is returned as
	// started (Standard workflows are idempotent there), a closed one gives *ExecutionExistsError.
	Start(ctx context.Context, name string, input []byte) (arn string, err error)
	// StartedSince lists the executions started at or after since, newest first.
	StartedSince(ctx context.Context, since time.Time) ([]ExecutionSummary, error)
	// Running lists the executions still running, however long ago they started.
	Running(ctx context.Context) ([]ExecutionSummary, error)
}
