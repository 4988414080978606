package awsadapter

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// MetricWriter is the part of the CloudWatch client the prober's metrics call.
type MetricWriter interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

var _ MetricWriter = (*cloudwatch.Client)(nil)

// Metric names the prober publishes, without dimensions. The alarm the trigger acts on watches
// PeerWriterHealthy (Average over 10 s below 0.5 for N of M periods).
const (
	MetricPeerWriterHealthy     = "PeerWriterHealthy"
	MetricPeerLatency           = "PeerHealthLatency"
	MetricPublicEndpointHealthy = "PublicEndpointHealthy"
	MetricPublicLatency         = "PublicEndpointLatency"
	// MetricWriterConsistent is the watchdog's: 1 when this region writes, the public endpoint is
	// served by it and the peer does not also accept writes, 0 otherwise; published only by the
	// region that writes. Its alarm starts a reconcile run.
	MetricWriterConsistent = "WriterConsistent"
	MetricConsistencyProbe = "ConsistencyProbeLatency"
)

// ProbeMetrics publishes probe samples, each with its own timestamp.
type ProbeMetrics struct {
	CloudWatch MetricWriter
	// Namespace is Switchyard when empty.
	Namespace string
}

var _ failover.Metrics = (*ProbeMetrics)(nil)

// PublishProbes publishes every sample in one call (CloudWatch takes up to 1000 datums).
func (m *ProbeMetrics) PublishProbes(ctx context.Context, peer, public, consistency []failover.Sample) error {
	ns := m.Namespace
	if ns == "" {
		ns = "Switchyard"
	}
	var data []cwtypes.MetricDatum
	add := func(samples []failover.Sample, healthy, latency string) {
		for _, s := range samples {
			v := 0.0
			if s.Healthy {
				v = 1
			}
			data = append(data,
				// High resolution: the alarm has 10-second periods, which see only samples stored at 1 s resolution.
				cwtypes.MetricDatum{MetricName: aws.String(healthy), Timestamp: aws.Time(s.At), Value: aws.Float64(v), Unit: cwtypes.StandardUnitNone, StorageResolution: aws.Int32(1)},
				cwtypes.MetricDatum{MetricName: aws.String(latency), Timestamp: aws.Time(s.At), Value: aws.Float64(float64(s.Latency.Microseconds()) / 1000), Unit: cwtypes.StandardUnitMilliseconds})
		}
	}
	add(peer, MetricPeerWriterHealthy, MetricPeerLatency)
	add(public, MetricPublicEndpointHealthy, MetricPublicLatency)
	add(consistency, MetricWriterConsistent, MetricConsistencyProbe)
	if len(data) == 0 {
		return nil
	}
	_, err := m.CloudWatch.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String(ns), MetricData: data})
	return classify("cloudwatch PutMetricData "+ns, err)
}
