package localcloud_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// BenchmarkDescribeGlobalClusters measures one poll of the orchestrator's wait loop, real SDK
// client included, over loopback HTTP.
func BenchmarkDescribeGlobalClusters(b *testing.B) {
	s, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.AddGlobalCluster(globalID, localcloud.NewMemoryGlobalDatabase(eastARN, westARN))
	c := rds.NewFromConfig(s.Config(west))
	in := &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String(globalID)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.DescribeGlobalClusters(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutMetricData measures the prober's publish: CBOR, gzip and the metric store.
func BenchmarkPutMetricData(b *testing.B) {
	s, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := cloudwatch.NewFromConfig(s.Config(east))
	in := &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Switchyard/Prober"),
		MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("PeerHealthy"), Dimensions: peerDims, Value: aws.Float64(1), Unit: cwtypes.StandardUnitCount},
			{MetricName: aws.String("PeerLatency"), Dimensions: peerDims, Value: aws.Float64(12.5), Unit: cwtypes.StandardUnitMilliseconds},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.PutMetricData(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
}
