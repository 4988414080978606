package awsadapter_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

const (
	eastRegion = "us-east-1"
	westRegion = "us-west-2"
	globalID   = "todo-global"
)

var (
	east = localcloud.ClusterARN(eastRegion, localcloud.DefaultAccount, "todo-east")
	west = localcloud.ClusterARN(westRegion, localcloud.DefaultAccount, "todo-west")
)

// cloud is a running emulator with the global database east (writer) + west.
type cloud struct {
	*localcloud.Server
	db *localcloud.MemoryGlobalDatabase
}

func startCloud(t *testing.T, timing localcloud.Timing) cloud {
	t.Helper()
	s, err := localcloud.Start(localcloud.Options{Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	db := localcloud.NewMemoryGlobalDatabase(east, west)
	s.AddGlobalCluster(globalID, db)
	return cloud{Server: s, db: db}
}

// noRetry makes the SDK give up after one attempt, so the error mapping is what the test sees.
func (c cloud) config(region string, retry bool) aws.Config {
	cfg := c.Config(region)
	if !retry {
		cfg.RetryMaxAttempts = 1
	}
	return cfg
}

func (c cloud) globalDatabase(retry bool) *awsadapter.GlobalDatabase {
	cfg := c.config(westRegion, retry)
	return &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), GlobalClusterID: globalID}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// awaitWriter polls Describe until the promotion is done, and returns every FailoverState seen.
func awaitWriter(t *testing.T, g *awsadapter.GlobalDatabase, target string) []failover.FailoverInProgress {
	t.Helper()
	var seen []failover.FailoverInProgress
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		topo, err := g.Describe(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if topo.Failover != nil {
			seen = append(seen, *topo.Failover)
		}
		if m, _ := topo.Member(target); topo.Failover == nil && m.IsWriter {
			return seen
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s did not become the writer within 10s", target)
	return nil
}

func TestGlobalDatabase(t *testing.T) {
	c := startCloud(t, localcloud.Timing{FailoverPending: 20 * time.Millisecond, FailoverPromote: 50 * time.Millisecond})
	g := c.globalDatabase(true)

	topo, err := g.Describe(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if topo.Writer() != east || len(topo.Members) != 2 || topo.Failover != nil {
		t.Fatalf("topology: got %+v, want writer %s, 2 members, no failover", topo, east)
	}
	status, err := g.ClusterStatus(ctx(t), west)
	if err != nil || status != "available" {
		t.Fatalf("status: got %q, %v; want available", status, err)
	}
	c.db.SetReplicationLag(west, 1200*time.Millisecond)
	lag, ok, err := g.ReplicationLag(ctx(t), west)
	if err != nil || !ok || lag != 1200*time.Millisecond {
		t.Fatalf("lag: got %s, %t, %v; want 1.2s known", lag, ok, err)
	}

	if err := g.Switchover(ctx(t), west); err != nil {
		t.Fatal(err)
	}
	for _, fs := range awaitWriter(t, g, west) {
		if fs.DataLossAllowed || fs.To != west {
			t.Errorf("switchover FailoverState: got %+v, want to %s without data loss", fs, west)
		}
	}

	// Failback to east while west's region is down: only a failover with data loss can work, and
	// it is called through east's own endpoint.
	c.SetRegionDown(westRegion, true)
	ge := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(c.config(eastRegion, true)), GlobalClusterID: globalID}
	err = ge.Switchover(ctx(t), east)
	if err == nil {
		t.Fatal("switchover with the writer's region down: got success, want a refusal")
	}
	if err := ge.Failover(ctx(t), east); err != nil {
		t.Fatal(err)
	}
	seen := awaitWriter(t, ge, east)
	if len(seen) == 0 || !seen[0].DataLossAllowed {
		t.Errorf("failover FailoverState: got %+v, want IsDataLossAllowed true", seen)
	}
}

func TestThrottlingIsNamed(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	c.AddTopic(c.TopicARN(westRegion, "switchyard"))
	if err := addDistribution(c, "EDFDVBD6EXAMPLE", "distribution.xml"); err != nil {
		t.Fatal(err)
	}
	c.AddHostedZone("Z0123456789ABC", "example.com")
	smARN := c.StateMachineARN(westRegion, "failover")
	c.AddStateMachine(smARN, func(context.Context, string, string, string) (string, error) { return "{}", nil })

	g := c.globalDatabase(false)
	cfg := c.config(westRegion, false)
	cf := &awsadapter.CloudFrontSwitch{CloudFront: cloudfront.NewFromConfig(cfg), DistributionID: "EDFDVBD6EXAMPLE"}
	r53 := &awsadapter.Route53Switch{Route53: route53.NewFromConfig(cfg), HostedZoneID: "Z0123456789ABC", RecordName: "origin.example.com"}
	n := &awsadapter.Notifier{SNS: sns.NewFromConfig(cfg), TopicARN: c.TopicARN(westRegion, "switchyard")}
	m := &awsadapter.ProbeMetrics{CloudWatch: cloudwatch.NewFromConfig(cfg)}
	ex := &awsadapter.Executions{SFN: sfn.NewFromConfig(cfg), StateMachineARN: smARN}
	sample := []failover.Sample{{At: time.Now(), Healthy: true, Latency: time.Millisecond}}

	tests := []struct {
		op   string
		call func(context.Context) error
	}{
		{"rds:DescribeGlobalClusters", func(c context.Context) error { _, err := g.Describe(c); return err }},
		{"rds:DescribeDBClusters", func(c context.Context) error { _, err := g.ClusterStatus(c, west); return err }},
		{"rds:SwitchoverGlobalCluster", func(c context.Context) error { return g.Switchover(c, west) }},
		{"rds:FailoverGlobalCluster", func(c context.Context) error { return g.Failover(c, west) }},
		{"cloudwatch:GetMetricData", func(c context.Context) error { _, _, err := g.ReplicationLag(c, west); return err }},
		{"cloudwatch:PutMetricData", func(c context.Context) error { return m.PublishProbes(c, sample, nil, nil) }},
		{"cloudfront:GetDistributionConfig", func(c context.Context) error { _, err := cf.Current(c); return err }},
		{"cloudfront:UpdateDistribution", func(c context.Context) error { return cf.SwitchTo(c, "west-api", 1) }},
		{"route53:ListResourceRecordSets", func(c context.Context) error { _, err := r53.Current(c); return err }},
		{"route53:ChangeResourceRecordSets", func(c context.Context) error { return r53.SwitchTo(c, "west.example.com", 1) }},
		{"sns:Publish", func(c context.Context) error { return n.Notify(c, "s", "m") }},
		{"states:StartExecution", func(c context.Context) error { _, err := ex.Start(c, "x", []byte("{}")); return err }},
		{"states:ListExecutions", func(c context.Context) error { _, err := ex.StartedSince(c, time.Now()); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			c.ThrottleNext(tt.op, 1)
			err := tt.call(ctx(t))
			if got := errorType(err); err == nil || got != "ThrottledError" {
				t.Fatalf("got %v (%T), want a *failover.ThrottledError", err, err)
			}
			c.ClearFaults()
		})
	}

	t.Run("5xx is transient", func(t *testing.T) {
		c.FailNext("rds:DescribeGlobalClusters", 500, "InternalFailure", "try again")
		_, err := g.Describe(ctx(t))
		var transient *failover.TransientError
		if !errors.As(err, &transient) {
			t.Fatalf("got %v (%T), want *failover.TransientError", err, err)
		}
	})
	t.Run("the SDK retries a single throttle itself", func(t *testing.T) {
		gr := c.globalDatabase(true)
		before := c.Calls("rds:DescribeGlobalClusters")
		c.ThrottleNext("rds:DescribeGlobalClusters", 1)
		if _, err := gr.Describe(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if got := c.Calls("rds:DescribeGlobalClusters") - before; got != 2 {
			t.Errorf("calls: got %d, want 2 (throttled, then retried)", got)
		}
	})
}

func addDistribution(c cloud, id, file string) error {
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		return err
	}
	return c.AddDistribution(id, b)
}

// racingCloudFront lets another activation land its own change between the switch's read and its
// write, once, as a delayed activation would see it.
type racingCloudFront struct {
	awsadapter.CloudFrontAPI
	race func() error
}

func (r *racingCloudFront) UpdateDistribution(ctx context.Context, in *cloudfront.UpdateDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error) {
	if race := r.race; race != nil {
		r.race = nil
		if err := race(); err != nil {
			return nil, err
		}
	}
	return r.CloudFrontAPI.UpdateDistribution(ctx, in, optFns...)
}

func TestCloudFrontSwitch(t *testing.T) {
	c := startCloud(t, localcloud.Timing{CloudFrontPropagation: time.Millisecond})
	if err := addDistribution(c, "EPLAIN", "distribution.xml"); err != nil {
		t.Fatal(err)
	}
	client := cloudfront.NewFromConfig(c.config(westRegion, false))
	s := &awsadapter.CloudFrontSwitch{CloudFront: client, DistributionID: "EPLAIN"}
	current := func(t *testing.T) failover.TrafficState {
		t.Helper()
		st, err := s.Current(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if got := current(t); got != (failover.TrafficState{Target: "east-api"}) {
		t.Fatalf("current: got %+v, want east-api with no epoch", got)
	}
	t.Run("switch stamps the epoch on the distribution", func(t *testing.T) {
		if err := s.SwitchTo(ctx(t), "west-api", 5); err != nil {
			t.Fatal(err)
		}
		if got := current(t); got != (failover.TrafficState{Target: "west-api", Epoch: 5}) {
			t.Fatalf("after the switch: got %+v, want west-api at epoch 5", got)
		}
		out, err := client.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String("EPLAIN")})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.DistributionConfig.Origins.Items {
			found := false
			for _, h := range o.CustomHeaders.Items {
				found = found || (strings.EqualFold(aws.ToString(h.HeaderName), "x-switchyard-traffic-epoch") && aws.ToString(h.HeaderValue) == "5")
			}
			if !found {
				t.Errorf("origin %s: no epoch header 5 in %+v", aws.ToString(o.Id), o.CustomHeaders.Items)
			}
		}
	})
	t.Run("repeating the same target and epoch changes nothing", func(t *testing.T) {
		updates := c.Calls("cloudfront:UpdateDistribution")
		if err := s.SwitchTo(ctx(t), "west-api", 5); err != nil {
			t.Fatal(err)
		}
		if got := c.Calls("cloudfront:UpdateDistribution") - updates; got != 0 {
			t.Errorf("updates: got %d, want 0", got)
		}
	})
	t.Run("an older epoch is refused and changes nothing", func(t *testing.T) {
		updates := c.Calls("cloudfront:UpdateDistribution")
		for _, tc := range []struct {
			target string
			epoch  uint64
		}{{"east-api", 4}, {"east-api", 5}} {
			err := s.SwitchTo(ctx(t), tc.target, tc.epoch)
			var stale *failover.StaleEpochError
			if !errors.As(err, &stale) || stale.Current != (failover.TrafficState{Target: "west-api", Epoch: 5}) {
				t.Fatalf("%s at %d: got %v, want *failover.StaleEpochError naming west-api at 5", tc.target, tc.epoch, err)
			}
		}
		if got := c.Calls("cloudfront:UpdateDistribution") - updates; got != 0 {
			t.Errorf("updates: got %d, want 0", got)
		}
		if got := current(t); got != (failover.TrafficState{Target: "west-api", Epoch: 5}) {
			t.Errorf("current: got %+v, want west-api at epoch 5", got)
		}
	})
	t.Run("a newer activation racing in between read and write wins", func(t *testing.T) {
		newer := &awsadapter.CloudFrontSwitch{CloudFront: client, DistributionID: "EPLAIN"}
		delayed := &awsadapter.CloudFrontSwitch{DistributionID: "EPLAIN", CloudFront: &racingCloudFront{CloudFrontAPI: client,
			race: func() error { return newer.SwitchTo(context.Background(), "east-api", 9) }}}
		err := delayed.SwitchTo(ctx(t), "west-api", 6)
		var stale *failover.StaleEpochError
		if !errors.As(err, &stale) {
			t.Fatalf("got %v, want *failover.StaleEpochError after the ETag changed", err)
		}
		if got := current(t); got != (failover.TrafficState{Target: "east-api", Epoch: 9}) {
			t.Errorf("current: got %+v, want east-api at epoch 9 (the newer change)", got)
		}
	})
	t.Run("stale ETag is re-read and retried", func(t *testing.T) {
		gets, updates := c.Calls("cloudfront:GetDistributionConfig"), c.Calls("cloudfront:UpdateDistribution")
		c.FailNext("cloudfront:UpdateDistribution", 412, "PreconditionFailed", "The request failed because it didn't meet the preconditions")
		if err := s.SwitchTo(ctx(t), "west-api", 10); err != nil {
			t.Fatal(err)
		}
		if g, u := c.Calls("cloudfront:GetDistributionConfig")-gets, c.Calls("cloudfront:UpdateDistribution")-updates; g != 2 || u != 2 {
			t.Errorf("calls: got %d reads and %d updates, want 2 and 2 (a fresh ETag for the retry)", g, u)
		}
		if got := current(t); got != (failover.TrafficState{Target: "west-api", Epoch: 10}) {
			t.Errorf("current: got %+v, want west-api at 10", got)
		}
	})
	t.Run("stale ETag every time is bounded", func(t *testing.T) {
		s := &awsadapter.CloudFrontSwitch{CloudFront: client, DistributionID: "EPLAIN", Attempts: 3}
		for range 3 {
			c.FailNext("cloudfront:UpdateDistribution", 412, "PreconditionFailed", "stale")
		}
		err := s.SwitchTo(ctx(t), "east-api", 11)
		if got := errorType(err); got != "PreconditionError" {
			t.Fatalf("got %v (%s), want PreconditionError", err, got)
		}
	})
	t.Run("unknown origin", func(t *testing.T) {
		if err := s.SwitchTo(ctx(t), "nowhere", 12); err == nil || !strings.Contains(err.Error(), "LOCAL_ORIGIN_ID") {
			t.Fatalf("got %v, want an error naming LOCAL_ORIGIN_ID", err)
		}
	})
}

// racingRoute53 lets another activation land its own change between the switch's read and its
// write, once.
type racingRoute53 struct {
	awsadapter.Route53API
	race func() error
}

func (r *racingRoute53) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	if race := r.race; race != nil {
		r.race = nil
		if err := race(); err != nil {
			return nil, err
		}
	}
	return r.Route53API.ChangeResourceRecordSets(ctx, in, optFns...)
}

func TestRoute53Switch(t *testing.T) {
	c := startCloud(t, localcloud.Timing{Route53Propagation: time.Millisecond})
	c.AddHostedZone("Z0123456789ABC", "example.com")
	client := route53.NewFromConfig(c.config(westRegion, false))
	s := &awsadapter.Route53Switch{Route53: client, HostedZoneID: "Z0123456789ABC", RecordName: "origin.example.com"}
	current := func(t *testing.T) failover.TrafficState {
		t.Helper()
		st, err := s.Current(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if got := current(t); got != (failover.TrafficState{}) {
		t.Fatalf("current before any record: got %+v, want empty", got)
	}
	for i, v := range []string{"east.example.com", "west.example.com"} {
		epoch := uint64(i + 1)
		if err := s.SwitchTo(ctx(t), v, epoch); err != nil {
			t.Fatal(err)
		}
		if got := current(t); got != (failover.TrafficState{Target: v, Epoch: epoch}) {
			t.Fatalf("current: got %+v, want %s at %d", got, v, epoch)
		}
	}
	t.Run("repeating the same target and epoch changes nothing", func(t *testing.T) {
		changes := c.Calls("route53:ChangeResourceRecordSets")
		if err := s.SwitchTo(ctx(t), "west.example.com", 2); err != nil {
			t.Fatal(err)
		}
		if got := c.Calls("route53:ChangeResourceRecordSets") - changes; got != 0 {
			t.Errorf("changes: got %d, want 0", got)
		}
	})
	t.Run("an older epoch is refused and changes nothing", func(t *testing.T) {
		changes := c.Calls("route53:ChangeResourceRecordSets")
		err := s.SwitchTo(ctx(t), "east.example.com", 1)
		var stale *failover.StaleEpochError
		if !errors.As(err, &stale) {
			t.Fatalf("got %v, want *failover.StaleEpochError", err)
		}
		if got := c.Calls("route53:ChangeResourceRecordSets") - changes; got != 0 {
			t.Errorf("changes: got %d, want 0", got)
		}
	})
	t.Run("a newer activation racing in between read and write wins", func(t *testing.T) {
		newer := &awsadapter.Route53Switch{Route53: client, HostedZoneID: "Z0123456789ABC", RecordName: "origin.example.com"}
		delayed := &awsadapter.Route53Switch{HostedZoneID: "Z0123456789ABC", RecordName: "origin.example.com", Route53: &racingRoute53{Route53API: client,
			race: func() error { return newer.SwitchTo(context.Background(), "east.example.com", 9) }}}
		err := delayed.SwitchTo(ctx(t), "west.example.com", 3)
		var stale *failover.StaleEpochError
		if !errors.As(err, &stale) {
			t.Fatalf("got %v, want *failover.StaleEpochError after the epoch record changed", err)
		}
		if got := current(t); got != (failover.TrafficState{Target: "east.example.com", Epoch: 9}) {
			t.Errorf("current: got %+v, want east.example.com at epoch 9 (the newer change)", got)
		}
	})
}

func TestNotifierAndMetrics(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	topic := c.TopicARN(westRegion, "switchyard")
	c.AddTopic(topic)
	cfg := c.config(westRegion, false)
	n := &awsadapter.Notifier{SNS: sns.NewFromConfig(cfg), TopicARN: topic}
	if err := n.Notify(ctx(t), "Switchyard: us-west-2 now writes", `{"outcome":"activated"}`); err != nil {
		t.Fatal(err)
	}
	msgs := c.SNSMessages()
	if len(msgs) != 1 || msgs[0].Subject != "Switchyard: us-west-2 now writes" || msgs[0].Message != `{"outcome":"activated"}` || msgs[0].TopicARN != topic {
		t.Fatalf("messages: got %+v", msgs)
	}

	m := &awsadapter.ProbeMetrics{CloudWatch: cloudwatch.NewFromConfig(cfg)}
	now := time.Now().Truncate(time.Second)
	peer := []failover.Sample{{At: now.Add(-20 * time.Second), Healthy: true, Latency: 12 * time.Millisecond}, {At: now.Add(-10 * time.Second), Healthy: false, Latency: 2 * time.Second}}
	if err := m.PublishProbes(ctx(t), peer, peer[:1], peer[1:]); err != nil {
		t.Fatal(err)
	}
	got := c.MetricData(westRegion, "Switchyard", awsadapter.MetricPeerWriterHealthy, nil)
	if len(got) != 2 || got[0].Sum != 1 || got[1].Sum != 0 || !got[0].Timestamp.Equal(peer[0].At) {
		t.Fatalf("PeerWriterHealthy: got %+v, want 1 then 0 at the samples' times", got)
	}
	// The alarm's 10-second periods see only high-resolution samples.
	if !got[0].HighResolution || !got[1].HighResolution {
		t.Errorf("PeerWriterHealthy stored at standard resolution: %+v, want StorageResolution 1", got)
	}
	lat := c.MetricData(westRegion, "Switchyard", awsadapter.MetricPeerLatency, nil)
	if len(lat) != 2 || lat[1].Sum != 2000 || lat[1].Unit != "Milliseconds" {
		t.Fatalf("PeerHealthLatency: got %+v, want 2000 Milliseconds last", lat)
	}
	if pub := c.MetricData(westRegion, "Switchyard", awsadapter.MetricPublicEndpointHealthy, nil); len(pub) != 1 {
		t.Fatalf("PublicEndpointHealthy: got %+v, want one datapoint", pub)
	}
	if wc := c.MetricData(westRegion, "Switchyard", awsadapter.MetricWriterConsistent, nil); len(wc) != 1 || wc[0].Sum != 0 {
		t.Fatalf("WriterConsistent: got %+v, want one datapoint of 0", wc)
	}
}

func TestExecutions(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	arn := c.StateMachineARN(westRegion, "failover")
	release := make(chan struct{})
	c.AddStateMachine(arn, func(ctx context.Context, _, _, input string) (string, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return input, nil
	})
	ex := &awsadapter.Executions{SFN: sfn.NewFromConfig(c.config(westRegion, false)), StateMachineARN: arn}
	before := time.Now().Add(-time.Second)
	first, err := ex.Start(ctx(t), "activate-us-west-2-20261121T054012345Z", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	again, err := ex.Start(ctx(t), "activate-us-west-2-20261121T054012345Z", []byte(`{"a":1}`))
	if err != nil || again != first {
		t.Fatalf("same name and input while running: got %q, %v; want %q", again, err, first)
	}
	var exists *failover.ExecutionExistsError
	if _, err := ex.Start(ctx(t), "activate-us-west-2-20261121T054012345Z", []byte(`{"a":2}`)); !errors.As(err, &exists) {
		t.Fatalf("same name, other input: got %v, want *failover.ExecutionExistsError", err)
	}
	list, err := ex.StartedSince(ctx(t), before)
	if err != nil || len(list) != 1 || list[0].ARN != first || list[0].Status != "RUNNING" {
		t.Fatalf("started since: got %+v, %v; want the one running execution", list, err)
	}
	close(release)
	if _, err := c.WaitExecution(ctx(t), first); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.Start(ctx(t), "activate-us-west-2-20261121T054012345Z", []byte(`{"a":1}`)); !errors.As(err, &exists) {
		t.Fatalf("same name after it closed: got %v, want *failover.ExecutionExistsError", err)
	}
	if list, _ := ex.StartedSince(ctx(t), time.Now().Add(time.Hour)); len(list) != 0 {
		t.Errorf("started since the future: got %+v, want none", list)
	}
}

// TestEndpointFromEnvironment checks that the pinned config module sends clients to the endpoints
// named by AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>, which is how the functions reach the
// emulator locally without knowing it.
func TestEndpointFromEnvironment(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	topic := c.TopicARN(westRegion, "switchyard")
	c.AddTopic(topic)
	t.Setenv("AWS_REGION", westRegion)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	for _, v := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_RDS"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", "")
			t.Setenv("AWS_ENDPOINT_URL_RDS", "")
			t.Setenv(v, c.URL())
			cfg, err := awsconfig.LoadDefaultConfig(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			before := c.Calls("rds:DescribeGlobalClusters")
			g := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg, func(o *rds.Options) { o.RetryMaxAttempts = 1 }), GlobalClusterID: globalID}
			if _, err := g.Describe(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if c.Calls("rds:DescribeGlobalClusters") != before+1 {
				t.Errorf("the call did not reach the emulator")
			}
		})
	}
}
