package localcloud_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func cloudwatchClient(s *localcloud.Server, region string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(s.Config(region), func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
}

var peerDims = []cwtypes.Dimension{{Name: aws.String("Peer"), Value: aws.String(west)}}

func TestPutAndGetMetricData(t *testing.T) {
	s := start(t, localcloud.Options{})
	c := cloudwatchClient(s, east)
	now := time.Now().UTC().Truncate(time.Minute)
	_, err := c.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Switchyard/Prober"),
		MetricData: []cwtypes.MetricDatum{
			{MetricName: aws.String("PeerHealthy"), Dimensions: peerDims, Timestamp: aws.Time(now.Add(-2 * time.Minute)), Value: aws.Float64(1), Unit: cwtypes.StandardUnitCount},
			{MetricName: aws.String("PeerHealthy"), Dimensions: peerDims, Timestamp: aws.Time(now.Add(-90 * time.Second)), Value: aws.Float64(0), Unit: cwtypes.StandardUnitCount},
			{MetricName: aws.String("PeerHealthy"), Dimensions: peerDims, Timestamp: aws.Time(now.Add(-30 * time.Second)), Values: []float64{0, 1}, Counts: []float64{3, 1}, Unit: cwtypes.StandardUnitCount},
		},
	})
	if err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
	if got := s.MetricData(east, "Switchyard/Prober", "PeerHealthy", map[string]string{"Peer": west}); len(got) != 4 {
		t.Fatalf("stored datapoints = %d, want 4 (one per Value, one per Values entry)", len(got))
	}

	metric := &cwtypes.Metric{Namespace: aws.String("Switchyard/Prober"), MetricName: aws.String("PeerHealthy"), Dimensions: peerDims}
	out, err := c.GetMetricData(ctx(t), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-3 * time.Minute)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			{Id: aws.String("avg"), MetricStat: &cwtypes.MetricStat{Metric: metric, Period: aws.Int32(60), Stat: aws.String("Average")}},
			{Id: aws.String("n"), MetricStat: &cwtypes.MetricStat{Metric: metric, Period: aws.Int32(60), Stat: aws.String("SampleCount")}},
		},
		ScanBy: cwtypes.ScanByTimestampAscending,
	})
	if err != nil {
		t.Fatalf("GetMetricData: %v", err)
	}
	if len(out.MetricDataResults) != 2 {
		t.Fatalf("results = %d, want 2", len(out.MetricDataResults))
	}
	avg := out.MetricDataResults[0]
	wantTimes := []time.Time{now.Add(-2 * time.Minute), now.Add(-time.Minute)}
	// Minute -2 holds the samples at -120s (1) and -90s (0); minute -1 holds 0 three times and 1 once.
	wantAvg := []float64{0.5, 0.25}
	if aws.ToString(avg.Id) != "avg" || avg.StatusCode != cwtypes.StatusCodeComplete || len(avg.Timestamps) != 2 {
		t.Fatalf("avg result = id %s status %s %d points, want avg Complete 2 points", aws.ToString(avg.Id), avg.StatusCode, len(avg.Timestamps))
	}
	for i := range wantTimes {
		if !avg.Timestamps[i].Equal(wantTimes[i]) || avg.Values[i] != wantAvg[i] {
			t.Errorf("avg point %d = %v %v, want %v %v", i, avg.Timestamps[i], avg.Values[i], wantTimes[i], wantAvg[i])
		}
	}
	if n := out.MetricDataResults[1].Values; len(n) != 2 || n[0] != 2 || n[1] != 4 {
		t.Errorf("SampleCount values = %v, want [2 4]", n)
	}

	stats, err := c.GetMetricStatistics(ctx(t), &cloudwatch.GetMetricStatisticsInput{
		Namespace: aws.String("Switchyard/Prober"), MetricName: aws.String("PeerHealthy"), Dimensions: peerDims,
		StartTime: aws.Time(now.Add(-3 * time.Minute)), EndTime: aws.Time(now), Period: aws.Int32(180),
		Statistics: []cwtypes.Statistic{cwtypes.StatisticMinimum, cwtypes.StatisticMaximum, cwtypes.StatisticSum},
	})
	if err != nil {
		t.Fatalf("GetMetricStatistics: %v", err)
	}
	if len(stats.Datapoints) != 1 {
		t.Fatalf("datapoints = %d, want 1", len(stats.Datapoints))
	}
	dp := stats.Datapoints[0]
	if aws.ToFloat64(dp.Minimum) != 0 || aws.ToFloat64(dp.Maximum) != 1 || aws.ToFloat64(dp.Sum) != 2 || dp.Unit != cwtypes.StandardUnitCount {
		t.Errorf("datapoint = min %v max %v sum %v unit %s, want 0 1 2 Count", aws.ToFloat64(dp.Minimum), aws.ToFloat64(dp.Maximum), aws.ToFloat64(dp.Sum), dp.Unit)
	}

	// Metrics are regional.
	other, err := cloudwatchClient(s, west).GetMetricData(ctx(t), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-3 * time.Minute)), EndTime: aws.Time(now),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("avg"), MetricStat: &cwtypes.MetricStat{Metric: metric, Period: aws.Int32(60), Stat: aws.String("Average")}}},
	})
	if err != nil || len(other.MetricDataResults) != 1 || len(other.MetricDataResults[0].Values) != 0 {
		t.Errorf("other region: %+v, %v; want one empty result", other, err)
	}
}

// TestLagMetricsFromBackend reads the Aurora lag metrics a secondary region publishes, fed by the
// global database backend.
func TestLagMetricsFromBackend(t *testing.T) {
	s, db := rdsSetup(t, localcloud.Timing{})
	db.SetReplicationLag(westARN, 1500*time.Millisecond)
	query := func(region, cluster string) *cloudwatch.GetMetricDataOutput {
		t.Helper()
		metric := func(name string) *cwtypes.MetricStat {
			return &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"), Metric: &cwtypes.Metric{
				Namespace: aws.String("AWS/RDS"), MetricName: aws.String(name),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("DBClusterIdentifier"), Value: aws.String(cluster)}},
			}}
		}
		out, err := cloudwatchClient(s, region).GetMetricData(ctx(t), &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(time.Now().Add(-5 * time.Minute)), EndTime: aws.Time(time.Now().Add(time.Minute)),
			MetricDataQueries: []cwtypes.MetricDataQuery{
				{Id: aws.String("rpo"), MetricStat: metric("AuroraGlobalDBRPOLag")},
				{Id: aws.String("lag"), MetricStat: metric("AuroraGlobalDBReplicationLag")},
			},
		})
		if err != nil {
			t.Fatalf("GetMetricData: %v", err)
		}
		return out
	}
	out := query(west, "todo-west")
	for _, r := range out.MetricDataResults {
		if len(r.Values) != 1 || r.Values[0] != 1500 {
			t.Errorf("%s = %v, want [1500] ms", aws.ToString(r.Id), r.Values)
		}
	}
	out = query(east, "todo-east")
	for _, r := range out.MetricDataResults {
		if len(r.Values) != 0 {
			t.Errorf("writer's %s = %v, want no data (lag exists in secondary regions only)", aws.ToString(r.Id), r.Values)
		}
	}
}

func TestCloudWatchErrors(t *testing.T) {
	s := start(t, localcloud.Options{})
	c := cloudwatchClient(s, east)
	_, err := c.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
		Namespace:  aws.String("AWS/RDS"),
		MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}},
	})
	var invalid *cwtypes.InvalidParameterValueException
	if !errors.As(err, &invalid) || invalid.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("reserved namespace: %T %v, want *InvalidParameterValueException with code InvalidParameterValue", err, err)
	}
	_, err = c.GetMetricData(ctx(t), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(time.Now()), EndTime: aws.Time(time.Now().Add(-time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("SUM(METRICS())")}},
	})
	if !errors.As(err, &invalid) {
		t.Errorf("end before start: %T %v, want *InvalidParameterValueException", err, err)
	}

	s.ThrottleNext("cloudwatch:PutMetricData", 1)
	_, err = c.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Switchyard/Prober"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}},
	})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
		t.Errorf("throttled without retries: %v, want code Throttling", err)
	}
	s.ThrottleNext("cloudwatch:PutMetricData", 2)
	retrying := cloudwatch.NewFromConfig(s.Config(east), func(o *cloudwatch.Options) { o.Retryer = instantRetries() })
	if _, err := retrying.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
		Namespace: aws.String("Switchyard/Prober"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}},
	}); err != nil {
		t.Errorf("throttled twice with the default retryer: %v, want success", err)
	}
}
