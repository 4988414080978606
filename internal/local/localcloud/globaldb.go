package localcloud

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Cluster statuses the emulator gives meaning to; backends may report any RDS DBCluster status.
const (
	ClusterAvailable    = "available"
	ClusterInaccessible = "inaccessible"
)

// ClusterMember is one regional cluster of a global database as its backend sees it now.
type ClusterMember struct {
	// ARN is arn:aws:rds:<region>:<account>:cluster:<id>; the emulator takes the cluster's
	// region and identifier from it.
	ARN    string
	Writer bool
	// Status is the DBCluster status: "available" when healthy; anything else makes the
	// cluster unfit for a switchover.
	Status string
	// Synchronized is false while a secondary is not replicating ("pending-resync").
	Synchronized bool
	// Endpoint and Port are the cluster endpoint DescribeDBClusters reports; optional.
	Endpoint string
	Port     int32
}

// GlobalClusterState is what DescribeGlobalClusters reports about a global database apart from
// FailoverState, which the emulator keeps.
type GlobalClusterState struct {
	Engine        string
	EngineVersion string
	Members       []ClusterMember
}

// GlobalDatabase does the work behind an Aurora global cluster. The emulator checks AWS's
// preconditions and keeps the FailoverState timeline; the backend reports the topology and
// performs the promotion, returning when it is done or when ctx ends (the emulator is closing).
// An *APIError returned from any method reaches the caller as that AWS error.
type GlobalDatabase interface {
	// Describe reports the members as they are now.
	Describe(ctx context.Context) (GlobalClusterState, error)
	// Switchover makes target the writer with no data loss: the old writer is demoted and
	// the target catches up before it is promoted; the old writer then replicates from it.
	Switchover(ctx context.Context, targetARN string) error
	// Failover promotes target at once, whatever the old writer's state (AllowDataLoss);
	// the old writer is fenced where it can be reached and must be resynchronised later.
	Failover(ctx context.Context, targetARN string) error
	// ReplicationLag is how far the secondary cluster trails the writer.
	ReplicationLag(ctx context.Context, clusterARN string) (time.Duration, error)
}

// MemoryGlobalDatabase is a GlobalDatabase held in memory whose health, synchronisation and lag
// tests set directly.
type MemoryGlobalDatabase struct {
	mu      sync.Mutex
	engine  string
	version string
	members []ClusterMember
	lag     map[string]time.Duration
}

var _ GlobalDatabase = (*MemoryGlobalDatabase)(nil)

// NewMemoryGlobalDatabase returns an aurora-mysql global database whose writer is writerARN and
// whose secondaries are secondaryARNs, all available and synchronised.
func NewMemoryGlobalDatabase(writerARN string, secondaryARNs ...string) *MemoryGlobalDatabase {
	m := &MemoryGlobalDatabase{engine: "aurora-mysql", version: "8.0.mysql_aurora.3.08.0", lag: map[string]time.Duration{}}
	m.members = append(m.members, ClusterMember{ARN: writerARN, Writer: true, Status: ClusterAvailable, Synchronized: true})
	for _, a := range secondaryARNs {
		m.members = append(m.members, ClusterMember{ARN: a, Status: ClusterAvailable, Synchronized: true})
	}
	return m
}

func (m *MemoryGlobalDatabase) member(arn string) (*ClusterMember, error) {
	for i := range m.members {
		if m.members[i].ARN == arn {
			return &m.members[i], nil
		}
	}
	return nil, errorf(http.StatusNotFound, "DBClusterNotFoundFault", "DBCluster %s not found.", arn)
}

func (m *MemoryGlobalDatabase) set(arn string, f func(*ClusterMember)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := m.member(arn)
	if err != nil {
		panic(fmt.Sprintf("localcloud: MemoryGlobalDatabase has no member %s", arn))
	}
	f(c)
}

// SetClusterStatus sets a member's DBCluster status ("available", "inaccessible", ...).
// It panics if arn is not a member: that is a mistake in the test.
func (m *MemoryGlobalDatabase) SetClusterStatus(arn, status string) {
	m.set(arn, func(c *ClusterMember) { c.Status = status })
}

// SetSynchronized marks a secondary as replicating (true) or needing a resync (false).
func (m *MemoryGlobalDatabase) SetSynchronized(arn string, ok bool) {
	m.set(arn, func(c *ClusterMember) { c.Synchronized = ok })
}

// SetReplicationLag sets the lag ReplicationLag reports for a secondary.
func (m *MemoryGlobalDatabase) SetReplicationLag(arn string, lag time.Duration) {
	m.set(arn, func(*ClusterMember) { m.lag[arn] = lag })
}

// Describe implements GlobalDatabase.
func (m *MemoryGlobalDatabase) Describe(context.Context) (GlobalClusterState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return GlobalClusterState{Engine: m.engine, EngineVersion: m.version, Members: append([]ClusterMember(nil), m.members...)}, nil
}

func (m *MemoryGlobalDatabase) promote(targetARN string, resync bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.member(targetARN); err != nil {
		return err
	}
	for i := range m.members {
		c := &m.members[i]
		switch {
		case c.ARN == targetARN:
			c.Writer, c.Synchronized = true, true
			m.lag[c.ARN] = 0
		case c.Writer:
			c.Writer = false
			c.Synchronized = !resync
		}
	}
	return nil
}

// Switchover implements GlobalDatabase.
func (m *MemoryGlobalDatabase) Switchover(_ context.Context, targetARN string) error {
	return m.promote(targetARN, false)
}

// Failover implements GlobalDatabase: the old writer is left needing a resync.
func (m *MemoryGlobalDatabase) Failover(_ context.Context, targetARN string) error {
	return m.promote(targetARN, true)
}

// ReplicationLag implements GlobalDatabase.
func (m *MemoryGlobalDatabase) ReplicationLag(_ context.Context, clusterARN string) (time.Duration, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.member(clusterARN); err != nil {
		return 0, err
	}
	return m.lag[clusterARN], nil
}

// clusterARN is a parsed arn:aws:rds:<region>:<account>:cluster:<id>.
type clusterARN struct {
	region, id string
}

func parseClusterARN(arn string) (clusterARN, bool) {
	p := strings.Split(arn, ":")
	if len(p) != 7 || p[0] != "arn" || p[2] != "rds" || p[5] != "cluster" || p[3] == "" || p[6] == "" {
		return clusterARN{}, false
	}
	return clusterARN{region: p[3], id: p[6]}, true
}

// ClusterARN builds the ARN of a regional cluster, for tests and the drill.
func ClusterARN(region, account, id string) string {
	return fmt.Sprintf("arn:aws:rds:%s:%s:cluster:%s", region, account, id)
}
