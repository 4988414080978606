package awsadapter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// RDSAPI is the part of the RDS client the global database adapter calls.
type RDSAPI interface {
	DescribeGlobalClusters(ctx context.Context, in *rds.DescribeGlobalClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeGlobalClustersOutput, error)
	DescribeDBClusters(ctx context.Context, in *rds.DescribeDBClustersInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClustersOutput, error)
	SwitchoverGlobalCluster(ctx context.Context, in *rds.SwitchoverGlobalClusterInput, optFns ...func(*rds.Options)) (*rds.SwitchoverGlobalClusterOutput, error)
	FailoverGlobalCluster(ctx context.Context, in *rds.FailoverGlobalClusterInput, optFns ...func(*rds.Options)) (*rds.FailoverGlobalClusterOutput, error)
}

// MetricReader is the part of the CloudWatch client that reads the replication lag.
type MetricReader interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var (
	_ RDSAPI       = (*rds.Client)(nil)
	_ MetricReader = (*cloudwatch.Client)(nil)
)

// DefaultLagMetric is Aurora MySQL's recovery point lag of a secondary cluster, in milliseconds.
const DefaultLagMetric = "AuroraGlobalDBRPOLag"

// GlobalDatabase is the Aurora global database through this region's RDS and CloudWatch endpoints.
type GlobalDatabase struct {
	RDS             RDSAPI
	CloudWatch      MetricReader
	GlobalClusterID string
	// LagMetric is AuroraGlobalDBRPOLag (MySQL 3.04+) or AuroraGlobalDBReplicationLag.
	LagMetric string
	// LagWindow is how far back a lag datapoint counts; 5 minutes when zero.
	LagWindow time.Duration
	Now       func() time.Time
}

var _ failover.GlobalDatabase = (*GlobalDatabase)(nil)

// Describe reads the global cluster's members and FailoverState.
func (g *GlobalDatabase) Describe(ctx context.Context) (failover.Topology, error) {
	out, err := g.RDS.DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(g.GlobalClusterID)})
	if err != nil {
		return failover.Topology{}, classify("rds DescribeGlobalClusters "+g.GlobalClusterID, err)
	}
	if len(out.GlobalClusters) != 1 {
		return failover.Topology{}, fmt.Errorf("rds DescribeGlobalClusters %s: %d global clusters returned, want 1", g.GlobalClusterID, len(out.GlobalClusters))
	}
	gc := out.GlobalClusters[0]
	t := failover.Topology{GlobalClusterID: aws.ToString(gc.GlobalClusterIdentifier)}
	for _, m := range gc.GlobalClusterMembers {
		t.Members = append(t.Members, failover.Member{
			ClusterARN: aws.ToString(m.DBClusterArn), IsWriter: aws.ToBool(m.IsWriter),
			Synchronization: string(m.SynchronizationStatus),
		})
	}
	if fs := gc.FailoverState; fs != nil && fs.Status != "" {
		t.Failover = &failover.FailoverInProgress{
			Status: string(fs.Status), From: aws.ToString(fs.FromDbClusterArn), To: aws.ToString(fs.ToDbClusterArn),
			DataLossAllowed: aws.ToBool(fs.IsDataLossAllowed),
		}
	}
	return t, nil
}

// ClusterStatus reads the regional cluster's status.
func (g *GlobalDatabase) ClusterStatus(ctx context.Context, clusterARN string) (string, error) {
	out, err := g.RDS.DescribeDBClusters(ctx, &rds.DescribeDBClustersInput{DBClusterIdentifier: aws.String(clusterARN)})
	if err != nil {
		return "", classify("rds DescribeDBClusters "+clusterARN, err)
	}
	if len(out.DBClusters) != 1 {
		return "", fmt.Errorf("rds DescribeDBClusters %s: %d clusters returned, want 1", clusterARN, len(out.DBClusters))
	}
	return aws.ToString(out.DBClusters[0].Status), nil
}

// Switchover is the planned, lossless promotion of target.
func (g *GlobalDatabase) Switchover(ctx context.Context, target string) error {
	_, err := g.RDS.SwitchoverGlobalCluster(ctx, &rds.SwitchoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(g.GlobalClusterID), TargetDbClusterIdentifier: aws.String(target),
	})
	return classify("rds SwitchoverGlobalCluster "+g.GlobalClusterID, err)
}

// Failover promotes target with AllowDataLoss=true: without it FailoverGlobalCluster is a switchover,
// which needs the writer that an outage has taken away.
func (g *GlobalDatabase) Failover(ctx context.Context, target string) error {
	_, err := g.RDS.FailoverGlobalCluster(ctx, &rds.FailoverGlobalClusterInput{
		GlobalClusterIdentifier: aws.String(g.GlobalClusterID), TargetDbClusterIdentifier: aws.String(target),
		AllowDataLoss: aws.Bool(true),
	})
	return classify("rds FailoverGlobalCluster "+g.GlobalClusterID, err)
}

// ReplicationLag reads the newest lag datapoint of the cluster in the lookback window. The metric's
// dimension is the cluster's identifier, the last part of its ARN.
func (g *GlobalDatabase) ReplicationLag(ctx context.Context, clusterARN string) (time.Duration, bool, error) {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	window := g.LagWindow
	if window == 0 {
		window = 5 * time.Minute
	}
	metric := g.LagMetric
	if metric == "" {
		metric = DefaultLagMetric
	}
	id := clusterARN[strings.LastIndex(clusterARN, ":")+1:]
	// The end lies a minute ahead so that the bucket holding the newest datapoint is complete.
	out, err := g.CloudWatch.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-window)), EndTime: aws.Time(now.Add(time.Minute)), ScanBy: cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{{
			Id: aws.String("lag"),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String("AWS/RDS"), MetricName: aws.String(metric),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("DBClusterIdentifier"), Value: aws.String(id)}}},
				Period: aws.Int32(60), Stat: aws.String("Maximum"),
			},
		}},
	})
	if err != nil {
		return 0, false, classify("cloudwatch GetMetricData "+metric+" "+id, err)
	}
	for _, r := range out.MetricDataResults {
		if len(r.Values) > 0 {
			return time.Duration(r.Values[0] * float64(time.Millisecond)), true, nil
		}
	}
	return 0, false, nil
}
