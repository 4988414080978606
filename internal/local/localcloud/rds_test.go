package localcloud_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

var (
	eastARN = localcloud.ClusterARN(east, localcloud.DefaultAccount, "todo-east")
	westARN = localcloud.ClusterARN(west, localcloud.DefaultAccount, "todo-west")
)

const globalID = "todo-global"

// slowFailover gives each FailoverState status long enough for a poll to see it on a busy machine.
var slowFailover = localcloud.Timing{FailoverPending: 250 * time.Millisecond, FailoverPromote: 250 * time.Millisecond}

func rdsSetup(t *testing.T, timing localcloud.Timing) (*localcloud.Server, *localcloud.MemoryGlobalDatabase) {
	s := start(t, localcloud.Options{Timing: timing})
	db := localcloud.NewMemoryGlobalDatabase(eastARN, westARN)
	s.AddGlobalCluster(globalID, db)
	return s, db
}

func rdsClient(s *localcloud.Server, region string) *rds.Client {
	return rds.NewFromConfig(s.Config(region), func(o *rds.Options) { o.RetryMaxAttempts = 1 })
}

func describeGlobal(t *testing.T, c *rds.Client) rdstypes.GlobalCluster {
	t.Helper()
	out, err := c.DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(globalID)})
	if err != nil {
		t.Fatalf("DescribeGlobalClusters: %v", err)
	}
	if len(out.GlobalClusters) != 1 {
		t.Fatalf("DescribeGlobalClusters returned %d clusters, want 1", len(out.GlobalClusters))
	}
	return out.GlobalClusters[0]
}

func writerOf(gc rdstypes.GlobalCluster) string {
	for _, m := range gc.GlobalClusterMembers {
		if aws.ToBool(m.IsWriter) {
			return aws.ToString(m.DBClusterArn)
		}
	}
	return ""
}

func TestDescribeGlobalClusters(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{})
	gc := describeGlobal(t, rdsClient(s, west))
	if got := aws.ToString(gc.GlobalClusterIdentifier); got != globalID {
		t.Errorf("GlobalClusterIdentifier = %q, want %q", got, globalID)
	}
	if got := aws.ToString(gc.Engine); got != "aurora-mysql" {
		t.Errorf("Engine = %q, want aurora-mysql", got)
	}
	if got := aws.ToString(gc.Status); got != "available" {
		t.Errorf("Status = %q, want available", got)
	}
	if gc.FailoverState != nil {
		t.Errorf("FailoverState = %+v, want absent while nothing runs", gc.FailoverState)
	}
	if got := writerOf(gc); got != eastARN {
		t.Errorf("writer = %q, want %q", got, eastARN)
	}
	if len(gc.GlobalClusterMembers) != 2 {
		t.Fatalf("members = %d, want 2", len(gc.GlobalClusterMembers))
	}
	w := gc.GlobalClusterMembers[0]
	if len(w.Readers) != 1 || w.Readers[0] != westARN {
		t.Errorf("writer Readers = %v, want [%s]", w.Readers, westARN)
	}
	for _, m := range gc.GlobalClusterMembers {
		if m.SynchronizationStatus != rdstypes.GlobalClusterMemberSynchronizationStatusConnected {
			t.Errorf("%s SynchronizationStatus = %q, want connected", aws.ToString(m.DBClusterArn), m.SynchronizationStatus)
		}
	}

	all, err := rdsClient(s, east).DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{})
	if err != nil || len(all.GlobalClusters) != 1 {
		t.Errorf("DescribeGlobalClusters without identifier = %d clusters, %v; want 1, nil", len(all.GlobalClusters), err)
	}
}

func TestDescribeGlobalClustersNotFound(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{})
	_, err := rdsClient(s, east).DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String("nope")})
	var nf *rdstypes.GlobalClusterNotFoundFault
	if !errors.As(err, &nf) {
		t.Fatalf("error = %v (%T), want *GlobalClusterNotFoundFault", err, err)
	}
}

// TestSwitchoverTimeline follows FailoverState through pending → switching-over → absent and
// checks the target ends as writer with the old writer still synchronised. FailoverGlobalCluster
// without AllowDataLoss is a switchover too.
func TestSwitchoverTimeline(t *testing.T) {
	tests := []struct {
		name string
		call func(*rds.Client) (*rdstypes.GlobalCluster, error)
	}{
		{"SwitchoverGlobalCluster", func(c *rds.Client) (*rdstypes.GlobalCluster, error) {
			out, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{
				GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN),
			})
			if err != nil {
				return nil, err
			}
			return out.GlobalCluster, nil
		}},
		{"FailoverGlobalCluster without AllowDataLoss", func(c *rds.Client) (*rdstypes.GlobalCluster, error) {
			out, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{
				GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN),
			})
			if err != nil {
				return nil, err
			}
			return out.GlobalCluster, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := rdsSetup(t, slowFailover)
			c := rdsClient(s, east)
			gc, err := tt.call(c)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			fs := gc.FailoverState
			if fs == nil {
				t.Fatal("answered without FailoverState")
			}
			if got := string(fs.Status); got != "pending" {
				t.Errorf("Status right after the call = %q, want pending", got)
			}
			if aws.ToString(fs.FromDbClusterArn) != eastARN || aws.ToString(fs.ToDbClusterArn) != westARN || aws.ToBool(fs.IsDataLossAllowed) {
				t.Errorf("FailoverState = from %s to %s dataLoss %v, want from %s to %s dataLoss false",
					aws.ToString(fs.FromDbClusterArn), aws.ToString(fs.ToDbClusterArn), aws.ToBool(fs.IsDataLossAllowed), eastARN, westARN)
			}

			var seen []string
			eventually(t, 5*time.Second, "switchover completion", func() bool {
				gc := describeGlobal(t, c)
				if gc.FailoverState == nil {
					seen = append(seen, "absent")
					return writerOf(gc) == westARN
				}
				if st := string(gc.FailoverState.Status); len(seen) == 0 || seen[len(seen)-1] != st {
					seen = append(seen, st)
				}
				return false
			})
			want := []string{"pending", "switching-over", "absent"}
			if strings.Join(seen, ",") != strings.Join(want, ",") {
				t.Fatalf("statuses seen = %v, want %v", seen, want)
			}
			for _, m := range describeGlobal(t, c).GlobalClusterMembers {
				if m.SynchronizationStatus != rdstypes.GlobalClusterMemberSynchronizationStatusConnected {
					t.Errorf("after switchover %s is %q, want connected", aws.ToString(m.DBClusterArn), m.SynchronizationStatus)
				}
			}
		})
	}
}

func TestPromotionRefused(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(*localcloud.Server, *localcloud.MemoryGlobalDatabase)
		call     func(*rds.Client) error
		wantCode string
	}{
		{
			name: "switchover with the writer unhealthy",
			prepare: func(_ *localcloud.Server, db *localcloud.MemoryGlobalDatabase) {
				db.SetClusterStatus(eastARN, "inaccessible")
			},
			call: func(c *rds.Client) error {
				_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
				return err
			},
			wantCode: "InvalidDBClusterStateFault",
		},
		{
			name:    "switchover with the writer's region down",
			prepare: func(s *localcloud.Server, _ *localcloud.MemoryGlobalDatabase) { s.SetRegionDown(east, true) },
			call: func(c *rds.Client) error {
				_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
				return err
			},
			wantCode: "InvalidDBClusterStateFault",
		},
		{
			name: "failover without AllowDataLoss is a switchover and needs the writer",
			prepare: func(_ *localcloud.Server, db *localcloud.MemoryGlobalDatabase) {
				db.SetClusterStatus(eastARN, "inaccessible")
			},
			call: func(c *rds.Client) error {
				_, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
				return err
			},
			wantCode: "InvalidDBClusterStateFault",
		},
		{
			name:    "switchover with a member not synchronised",
			prepare: func(_ *localcloud.Server, db *localcloud.MemoryGlobalDatabase) { db.SetSynchronized(westARN, false) },
			call: func(c *rds.Client) error {
				_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
				return err
			},
			wantCode: "InvalidGlobalClusterStateFault",
		},
		{
			name: "target already the writer",
			call: func(c *rds.Client) error {
				_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(eastARN)})
				return err
			},
			wantCode: "InvalidGlobalClusterStateFault",
		},
		{
			name: "failover to an unavailable target",
			prepare: func(_ *localcloud.Server, db *localcloud.MemoryGlobalDatabase) {
				db.SetClusterStatus(westARN, "inaccessible")
			},
			call: func(c *rds.Client) error {
				_, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true)})
				return err
			},
			wantCode: "InvalidDBClusterStateFault",
		},
		{
			name: "target not a member",
			call: func(c *rds.Client) error {
				_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(localcloud.ClusterARN(west, localcloud.DefaultAccount, "other"))})
				return err
			},
			wantCode: "DBClusterNotFoundFault",
		},
		{
			name: "unknown global cluster",
			call: func(c *rds.Client) error {
				_, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String("nope"), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true)})
				return err
			},
			wantCode: "GlobalClusterNotFoundFault",
		},
		{
			name: "AllowDataLoss with Switchover",
			call: func(c *rds.Client) error {
				_, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true), Switchover: aws.Bool(true)})
				return err
			},
			wantCode: "InvalidParameterCombination",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db := rdsSetup(t, localcloud.Timing{})
			if tt.prepare != nil {
				tt.prepare(s, db)
			}
			err := tt.call(rdsClient(s, west))
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("error = %v, want code %s", err, tt.wantCode)
			}
			if gc := describeGlobal(t, rdsClient(s, west)); gc.FailoverState != nil || writerOf(gc) != eastARN {
				t.Errorf("after a refused call: FailoverState %+v, writer %s; want absent, %s", gc.FailoverState, writerOf(gc), eastARN)
			}
		})
	}
}

// The typed faults are what callers match on, so check the SDK maps each one.
func TestPromotionFaultTypes(t *testing.T) {
	s, db := rdsSetup(t, localcloud.Timing{})
	c := rdsClient(s, west)
	db.SetClusterStatus(eastARN, "inaccessible")
	_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
	var stateFault *rdstypes.InvalidDBClusterStateFault
	if !errors.As(err, &stateFault) {
		t.Errorf("writer down: error %T %v, want *InvalidDBClusterStateFault", err, err)
	}
	db.SetClusterStatus(eastARN, "available")
	_, err = c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(eastARN)})
	var globalFault *rdstypes.InvalidGlobalClusterStateFault
	if !errors.As(err, &globalFault) {
		t.Errorf("target is writer: error %T %v, want *InvalidGlobalClusterStateFault", err, err)
	}
	_, err = c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String("arn:aws:rds:us-west-2:123456789012:cluster:ghost")})
	var nf *rdstypes.DBClusterNotFoundFault
	if !errors.As(err, &nf) {
		t.Errorf("unknown target: error %T %v, want *DBClusterNotFoundFault", err, err)
	}
}

func TestSecondPromotionWhileOneRuns(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{FailoverPending: time.Second})
	c := rdsClient(s, west)
	in := &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)}
	if _, err := c.SwitchoverGlobalCluster(ctx(t), in); err != nil {
		t.Fatalf("first SwitchoverGlobalCluster: %v", err)
	}
	_, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true)})
	var fault *rdstypes.InvalidGlobalClusterStateFault
	if !errors.As(err, &fault) {
		t.Fatalf("second call while the first runs: error %v, want *InvalidGlobalClusterStateFault", err)
	}
}

// TestUnplannedFailover is the outage scenario: the writer's region does not answer, a failover
// with AllowDataLoss called in the surviving region promotes its cluster.
func TestUnplannedFailover(t *testing.T) {
	s, db := rdsSetup(t, slowFailover)
	s.SetRegionDown(east, true)
	db.SetClusterStatus(eastARN, "inaccessible")

	if _, err := rdsClient(s, east).DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{}); err == nil {
		t.Fatal("DescribeGlobalClusters through the down region's endpoint succeeded, want a transport error")
	} else {
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) {
			t.Fatalf("down region answered with API error %v, want no answer", err)
		}
	}

	c := rdsClient(s, west)
	out, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("FailoverGlobalCluster with AllowDataLoss: %v", err)
	}
	if fs := out.GlobalCluster.FailoverState; fs == nil || !aws.ToBool(fs.IsDataLossAllowed) {
		t.Fatalf("FailoverState = %+v, want IsDataLossAllowed true", fs)
	}
	sawFailingOver := false
	eventually(t, 5*time.Second, "failover completion", func() bool {
		gc := describeGlobal(t, c)
		if gc.FailoverState != nil {
			sawFailingOver = sawFailingOver || string(gc.FailoverState.Status) == "failing-over"
			return false
		}
		return writerOf(gc) == westARN
	})
	if !sawFailingOver {
		t.Error("never saw FailoverState failing-over")
	}
	for _, m := range describeGlobal(t, c).GlobalClusterMembers {
		if aws.ToString(m.DBClusterArn) == eastARN && m.SynchronizationStatus != rdstypes.GlobalClusterMemberSynchronizationStatusPendingResync {
			t.Errorf("old writer SynchronizationStatus = %q, want pending-resync", m.SynchronizationStatus)
		}
	}
}

// failingBackend refuses promotions, as a real backend might when the replica cannot catch up.
type failingBackend struct {
	*localcloud.MemoryGlobalDatabase
}

func (failingBackend) Switchover(context.Context, string) error {
	return errors.New("replica did not catch up")
}

func TestBackendFailureCancels(t *testing.T) {
	s := start(t, localcloud.Options{Timing: slowFailover})
	s.AddGlobalCluster(globalID, failingBackend{localcloud.NewMemoryGlobalDatabase(eastARN, westARN)})
	c := rdsClient(s, west)
	if _, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)}); err != nil {
		t.Fatalf("SwitchoverGlobalCluster: %v", err)
	}
	sawCancelling := false
	eventually(t, 5*time.Second, "cancelled switchover to clear", func() bool {
		gc := describeGlobal(t, c)
		if gc.FailoverState != nil {
			sawCancelling = sawCancelling || string(gc.FailoverState.Status) == "cancelling"
			return false
		}
		return true
	})
	if !sawCancelling {
		t.Error("never saw FailoverState cancelling")
	}
	if w := writerOf(describeGlobal(t, c)); w != eastARN {
		t.Errorf("writer after a failed switchover = %s, want %s", w, eastARN)
	}
}

func TestDescribeDBClusters(t *testing.T) {
	s, db := rdsSetup(t, localcloud.Timing{})
	db.SetClusterStatus(westARN, "backing-up")
	tests := []struct {
		name, region, id string
		wantStatus       string
		wantCode         string
	}{
		{name: "by ARN", region: west, id: westARN, wantStatus: "backing-up"},
		{name: "by identifier", region: east, id: "todo-east", wantStatus: "available"},
		{name: "other region's cluster", region: east, id: westARN, wantCode: "DBClusterNotFoundFault"},
		{name: "unknown", region: east, id: "ghost", wantCode: "DBClusterNotFoundFault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := rdsClient(s, tt.region).DescribeDBClusters(ctx(t), &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(tt.id)})
			if tt.wantCode != "" {
				var nf *rdstypes.DBClusterNotFoundFault
				if !errors.As(err, &nf) {
					t.Fatalf("error = %v, want *DBClusterNotFoundFault", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DescribeDBClusters: %v", err)
			}
			if len(out.DBClusters) != 1 {
				t.Fatalf("got %d clusters, want 1", len(out.DBClusters))
			}
			if got := aws.ToString(out.DBClusters[0].Status); got != tt.wantStatus {
				t.Errorf("Status = %q, want %q", got, tt.wantStatus)
			}
			if got := aws.ToString(out.DBClusters[0].GlobalClusterIdentifier); got != globalID {
				t.Errorf("GlobalClusterIdentifier = %q, want %q", got, globalID)
			}
		})
	}
}

// TestThrottledCallIsRetried checks the throttling error has the shape the SDK's default retryer
// retries: two throttled attempts, then success on the third.
func TestThrottledCallIsRetried(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{})
	s.ThrottleNext("rds:DescribeGlobalClusters", 2)
	c := rds.NewFromConfig(s.Config(east)) // default retryer: 3 attempts
	if _, err := c.DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{}); err != nil {
		t.Fatalf("DescribeGlobalClusters after 2 throttles: %v", err)
	}
	if got := s.Calls("rds:DescribeGlobalClusters"); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}

	s.ThrottleNext("rds:DescribeGlobalClusters", 1)
	_, err := rdsClient(s, east).DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
		t.Fatalf("without retries: error = %v, want Throttling", err)
	}
}

func TestInjectedFailureAndDelay(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{})
	c := rdsClient(s, west)
	s.FailNext("rds:SwitchoverGlobalCluster", http.StatusBadRequest, "InvalidGlobalClusterStateFault", "injected")
	_, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)})
	var fault *rdstypes.InvalidGlobalClusterStateFault
	if !errors.As(err, &fault) || aws.ToString(fault.Message) != "injected" {
		t.Fatalf("injected failure: error = %v, want *InvalidGlobalClusterStateFault \"injected\"", err)
	}

	const delay = 200 * time.Millisecond
	s.DelayCalls("rds:DescribeGlobalClusters", delay)
	began := time.Now()
	describeGlobal(t, c)
	if took := time.Since(began); took < delay {
		t.Errorf("delayed call took %v, want at least %v", took, delay)
	}
	s.ClearFaults()
	if _, err := c.SwitchoverGlobalCluster(ctx(t), &rds.SwitchoverGlobalClusterInput{GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN)}); err != nil {
		t.Errorf("after ClearFaults: %v", err)
	}
}

// unreachableWriter reports no writer for a hidden member, as a backend over real servers does
// when the primary region's database cannot be reached.
type unreachableWriter struct {
	*localcloud.MemoryGlobalDatabase
	mu     sync.Mutex
	hidden string
}

func (u *unreachableWriter) hide(arn string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.hidden = arn
}

func (u *unreachableWriter) Describe(ctx context.Context) (localcloud.GlobalClusterState, error) {
	st, err := u.MemoryGlobalDatabase.Describe(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := range st.Members {
		if st.Members[i].ARN == u.hidden {
			st.Members[i].Writer = false
		}
	}
	return st, err
}

func TestWriterRememberedWhenUnreachable(t *testing.T) {
	s := start(t, localcloud.Options{})
	db := localcloud.NewMemoryGlobalDatabase(eastARN, westARN)
	backend := &unreachableWriter{MemoryGlobalDatabase: db}
	s.AddGlobalCluster(globalID, backend)
	c := rdsClient(s, west)
	describeGlobal(t, c)

	db.SetClusterStatus(eastARN, localcloud.ClusterInaccessible)
	backend.hide(eastARN)
	if w := writerOf(describeGlobal(t, c)); w != eastARN {
		t.Fatalf("writer while the backend cannot see it = %q, want the remembered %s", w, eastARN)
	}
	out, err := c.FailoverGlobalCluster(ctx(t), &rds.FailoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(globalID), TargetDbClusterIdentifier: aws.String(westARN), AllowDataLoss: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("FailoverGlobalCluster: %v", err)
	}
	if from := aws.ToString(out.GlobalCluster.FailoverState.FromDbClusterArn); from != eastARN {
		t.Errorf("FromDbClusterArn = %q, want %s", from, eastARN)
	}
	eventually(t, 5*time.Second, "failover completion", func() bool {
		gc := describeGlobal(t, c)
		return gc.FailoverState == nil && writerOf(gc) == westARN
	})
}
