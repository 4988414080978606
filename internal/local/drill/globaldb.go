package drill

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/replication"
)

// GlobalDatabase backs localcloud's Aurora global cluster with the real MariaDB pair: the
// topology it reports is what the servers say about themselves (the writer is the server that is
// not read-only), and promotions are real replication role changes.
type GlobalDatabase struct {
	pair    *replication.Pair
	servers map[string]*mariadb.Server // by cluster ARN
	arns    map[*mariadb.Server]string

	mu     sync.Mutex
	events []RoleChange
	// lastLag is the latest lag measured while both servers answered: what Aurora last
	// published before the primary region went silent.
	lastLag   time.Duration
	lagSeenAt time.Time
	// promotingTo is the cluster ARN a switchover or failover is promoting now, nil when none:
	// that region's RDS Proxy queues writes instead of refusing them.
	promotingTo atomic.Pointer[string]
}

// Promoting reports whether a switchover or failover is promoting clusterARN now.
func (g *GlobalDatabase) Promoting(clusterARN string) bool {
	p := g.promotingTo.Load()
	return p != nil && *p == clusterARN
}

var _ localcloud.GlobalDatabase = (*GlobalDatabase)(nil)

// RoleChange is one promotion the backend performed, for the drill's timeline.
type RoleChange struct {
	Kind       string // "switchover" or "failover"
	Start, End time.Time
	Switchover *replication.Switchover
	Failover   *replication.Failover
	Err        error
}

// NewGlobalDatabase maps each cluster ARN to its server in pair.
func NewGlobalDatabase(pair *replication.Pair, clusters map[string]*mariadb.Server) *GlobalDatabase {
	g := &GlobalDatabase{pair: pair, servers: clusters, arns: map[*mariadb.Server]string{}}
	for arn, s := range clusters {
		g.arns[s] = arn
	}
	return g
}

// RoleChanges lists the promotions performed so far.
func (g *GlobalDatabase) RoleChanges() []RoleChange {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]RoleChange(nil), g.events...)
}

func (g *GlobalDatabase) record(rc RoleChange) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.events = append(g.events, rc)
}

// Describe implements localcloud.GlobalDatabase.
func (g *GlobalDatabase) Describe(ctx context.Context) (localcloud.GlobalClusterState, error) {
	st := localcloud.GlobalClusterState{Engine: "aurora-mysql", EngineVersion: "8.0.mysql_aurora.3.08.0"}
	_, replica := g.pair.Roles()
	arns := make([]string, 0, len(g.servers))
	for arn := range g.servers {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		s := g.servers[arn]
		ms := g.pair.Status(ctx, s)
		m := localcloud.ClusterMember{ARN: arn, Endpoint: "127.0.0.1", Port: int32(s.Port), Status: localcloud.ClusterInaccessible}
		if ms.Reachable && !g.pair.ControlPlaneCut(s) {
			m.Status = localcloud.ClusterAvailable
			m.Writer = !ms.ReadOnly
			// A replica that does not replicate needs a resync, as a detached Aurora secondary does.
			m.Synchronized = m.Writer || (s == replica && ms.Replicating)
		}
		st.Members = append(st.Members, m)
	}
	return st, nil
}

func (g *GlobalDatabase) target(arn string) (*mariadb.Server, error) {
	s, ok := g.servers[arn]
	if !ok {
		return nil, &localcloud.APIError{Status: http.StatusNotFound, Code: "DBClusterNotFoundFault", Message: fmt.Sprintf("DBCluster %s not found.", arn)}
	}
	if _, replica := g.pair.Roles(); s != replica {
		return nil, &localcloud.APIError{Status: http.StatusBadRequest, Code: "InvalidGlobalClusterStateFault", Message: fmt.Sprintf("DBCluster %s is already the writer.", arn)}
	}
	return s, nil
}

// Switchover implements localcloud.GlobalDatabase.
func (g *GlobalDatabase) Switchover(ctx context.Context, targetARN string) error {
	if _, err := g.target(targetARN); err != nil {
		return err
	}
	g.promotingTo.Store(&targetARN)
	defer g.promotingTo.Store(nil)
	rc := RoleChange{Kind: "switchover", Start: time.Now()}
	sw, err := g.pair.Switchover(ctx)
	rc.End, rc.Switchover, rc.Err = time.Now(), &sw, err
	g.record(rc)
	return err
}

// Failover implements localcloud.GlobalDatabase.
func (g *GlobalDatabase) Failover(ctx context.Context, targetARN string) error {
	if _, err := g.target(targetARN); err != nil {
		return err
	}
	g.promotingTo.Store(&targetARN)
	defer g.promotingTo.Store(nil)
	rc := RoleChange{Kind: "failover", Start: time.Now()}
	fo, err := g.pair.Failover(ctx)
	rc.End, rc.Failover, rc.Err = time.Now(), &fo, err
	g.record(rc)
	return err
}

// ReplicationLag implements localcloud.GlobalDatabase: zero for the writer; for the replica,
// the time it took to apply what the writer had when asked. While the writer cannot be reached
// it is the last lag measured, as the last datapoint published before an outage is what a
// secondary region sees.
func (g *GlobalDatabase) ReplicationLag(ctx context.Context, clusterARN string) (time.Duration, error) {
	s, ok := g.servers[clusterARN]
	if !ok {
		return 0, &localcloud.APIError{Status: http.StatusNotFound, Code: "DBClusterNotFoundFault", Message: fmt.Sprintf("DBCluster %s not found.", clusterARN)}
	}
	if w, _ := g.pair.Roles(); s == w {
		return 0, nil
	}
	lag, err := g.pair.ReplicationLag(ctx)
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		if g.lagSeenAt.IsZero() {
			return 0, err
		}
		return g.lastLag, nil
	}
	g.lastLag, g.lagSeenAt = lag.CatchUp, time.Now()
	return lag.CatchUp, nil
}
