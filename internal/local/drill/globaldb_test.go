//go:build !mutation

// Runs real processes for seconds to minutes: `make mutation` (build tag mutation) mutates the
// drill's invariant checks against the fast tests only.

package drill

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/local/replication"
)

// TestGlobalDatabaseThroughRDSAPI drives the MariaDB-backed global cluster with the real SDK
// client through localcloud: what DescribeGlobalClusters reports is what the servers say, and
// switchover and failover change the servers' roles.
func TestGlobalDatabaseThroughRDSAPI(t *testing.T) {
	a := mariadbtest.Start(t, mariadb.Options{Name: "region-a", ServerID: 1})
	b := mariadbtest.Start(t, mariadb.Options{Name: "region-b", ServerID: 2})
	ctx := context.Background()
	pair, err := replication.Setup(ctx, a, b, replication.Options{User: "repl", Password: "pw", Databases: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pair.Close)
	arnA := localcloud.ClusterARN("us-east-1", localcloud.DefaultAccount, "a")
	arnB := localcloud.ClusterARN("us-west-2", localcloud.DefaultAccount, "b")
	gdb := NewGlobalDatabase(pair, map[string]*mariadb.Server{arnA: a, arnB: b})
	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	cloud.AddGlobalCluster("global", gdb)
	clientA := rds.NewFromConfig(cloud.Config("us-east-1"))
	clientB := rds.NewFromConfig(cloud.Config("us-west-2"))

	type member struct {
		writer bool
		sync   string
	}
	describe := func() (map[string]member, bool) {
		t.Helper()
		out, err := clientB.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String("global")})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]member{}
		for _, x := range out.GlobalClusters[0].GlobalClusterMembers {
			m[aws.ToString(x.DBClusterArn)] = member{aws.ToBool(x.IsWriter), string(x.SynchronizationStatus)}
		}
		return m, out.GlobalClusters[0].FailoverState != nil
	}
	waitWriter := func(arn string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			m, running := describe()
			if !running && m[arn].writer {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("writer never became %s: members %+v, failover running %v", arn, m, running)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// The replica reports synchronised once both replication threads run, shortly after Setup.
	deadline := time.Now().Add(10 * time.Second)
	m, _ := describe()
	for m[arnB].sync != "connected" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		m, _ = describe()
	}
	if !m[arnA].writer || m[arnB].writer || m[arnB].sync != "connected" {
		t.Fatalf("initial members %+v, want region-a the only writer and region-b connected", m)
	}
	if _, err := clientA.SwitchoverGlobalCluster(ctx, &rds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String("global"), TargetDbClusterIdentifier: aws.String(arnB),
	}); err != nil {
		t.Fatal(err)
	}
	waitWriter(arnB)
	if w, _ := pair.Roles(); w != b {
		t.Errorf("pair writer after SwitchoverGlobalCluster = %s, want region-b", w.Name)
	}
	if rc := gdb.RoleChanges(); len(rc) != 1 || rc[0].Kind != "switchover" || rc[0].Err != nil {
		t.Errorf("role changes = %+v, want one successful switchover", rc)
	}

	// Region-b's database dies: a switchover is refused, a failover with data loss is not.
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := clientA.SwitchoverGlobalCluster(ctx, &rds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String("global"), TargetDbClusterIdentifier: aws.String(arnA),
	}); err == nil {
		t.Error("SwitchoverGlobalCluster with the writer dead succeeded; want it refused")
	}
	if _, err := clientA.FailoverGlobalCluster(ctx, &rds.FailoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String("global"), TargetDbClusterIdentifier: aws.String(arnA), AllowDataLoss: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	waitWriter(arnA)
	m, _ = describe()
	if m[arnB].writer {
		t.Errorf("dead region-b still reported as writer: %+v", m)
	}
}
