package localcloud_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// TestRegionDown checks which endpoints an outage takes away: the region's own services stop
// answering, the other region and the global services (CloudFront, Route 53) keep working.
func TestRegionDown(t *testing.T) {
	s, _, _ := cloudfrontSetup(t)
	s.AddHostedZone(zoneID, "switchyard.example")
	s.AddTopic(s.TopicARN(east, "t"))
	s.AddTopic(s.TopicARN(west, "t"))
	s.SetRegionDown(east, true)
	if !s.RegionDown(east) || s.RegionDown(west) {
		t.Fatalf("RegionDown(east, west) = %v, %v; want true, false", s.RegionDown(east), s.RegionDown(west))
	}
	calls := []struct {
		name     string
		call     func(region string) error
		globally bool
	}{
		{"sns", func(r string) error {
			_, err := sns.NewFromConfig(s.Config(r), func(o *sns.Options) { o.RetryMaxAttempts = 1 }).Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(s.TopicARN(r, "t")), Message: aws.String("m")})
			return err
		}, false},
		{"states", func(r string) error {
			_, err := sfn.NewFromConfig(s.Config(r), func(o *sfn.Options) { o.RetryMaxAttempts = 1 }).ListExecutions(ctx(t), &sfn.ListExecutionsInput{StateMachineArn: aws.String(s.StateMachineARN(r, "none"))})
			var apiErr smithy.APIError
			if errors.As(err, &apiErr) {
				return nil // the endpoint answered
			}
			return err
		}, false},
		{"cloudwatch", func(r string) error {
			_, err := cloudwatch.NewFromConfig(s.Config(r), func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 }).PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{
				Namespace: aws.String("Switchyard/Prober"), MetricData: []cwtypes.MetricDatum{{MetricName: aws.String("x"), Value: aws.Float64(1)}},
			})
			return err
		}, false},
		{"rds", func(r string) error {
			_, err := rds.NewFromConfig(s.Config(r), func(o *rds.Options) { o.RetryMaxAttempts = 1 }).DescribeDBClusters(ctx(t), &rds.DescribeDBClustersInput{})
			return err
		}, false},
		{"cloudfront", func(r string) error {
			_, err := cloudfront.NewFromConfig(s.Config(r), func(o *cloudfront.Options) { o.RetryMaxAttempts = 1 }).GetDistribution(ctx(t), &cloudfront.GetDistributionInput{Id: aws.String(distributionID)})
			return err
		}, true},
		{"route53", func(r string) error {
			_, err := route53.NewFromConfig(s.Config(r), func(o *route53.Options) { o.RetryMaxAttempts = 1 }).ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
			return err
		}, true},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(west); err != nil {
				t.Errorf("call in the healthy region: %v", err)
			}
			err := c.call(east)
			if c.globally && err != nil {
				t.Errorf("global service signed for the down region: %v, want it to answer", err)
			}
			if !c.globally {
				var apiErr smithy.APIError
				if err == nil || errors.As(err, &apiErr) {
					t.Errorf("call in the down region: %v, want a transport error (no answer)", err)
				}
			}
		})
	}
	s.SetRegionDown(east, false)
	if err := calls[0].call(east); err != nil {
		t.Errorf("after the region came back: %v", err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	s, _ := rdsSetup(t, localcloud.Timing{})
	post := func(path, body string) int {
		t.Helper()
		resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	c := rdsClient(s, west)
	describe := func() error {
		_, err := c.DescribeGlobalClusters(ctx(t), &rds.DescribeGlobalClustersInput{})
		return err
	}

	if got := post("/_localcloud/faults", `{"op":"rds:DescribeGlobalClusters","failStatus":500,"failCode":"InternalFailure","message":"boom"}`); got != http.StatusNoContent {
		t.Fatalf("fault POST status = %d, want 204", got)
	}
	var apiErr smithy.APIError
	if err := describe(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InternalFailure" {
		t.Errorf("after injecting InternalFailure: %v", err)
	}
	post("/_localcloud/faults", `{"op":"rds:DescribeGlobalClusters","throttle":1}`)
	if err := describe(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "Throttling" {
		t.Errorf("after injecting a throttle: %v", err)
	}
	post("/_localcloud/faults", `{"op":"rds:DescribeGlobalClusters","delayMs":150}`)
	began := time.Now()
	if err := describe(); err != nil || time.Since(began) < 150*time.Millisecond {
		t.Errorf("delayed describe: %v after %v, want success after at least 150ms", err, time.Since(began))
	}
	post("/_localcloud/faults", `{"clear":true}`)
	if got := post("/_localcloud/regions", `{"region":"us-west-2","down":true}`); got != http.StatusNoContent || !s.RegionDown(west) {
		t.Errorf("region POST status = %d, RegionDown = %v; want 204, true", got, s.RegionDown(west))
	}

	bad := []struct{ path, body string }{
		{"/_localcloud/faults", `{"op":"DescribeGlobalClusters","throttle":1}`},
		{"/_localcloud/faults", `{"operation":"rds:X"}`},
		{"/_localcloud/regions", `{"down":true}`},
		{"/_localcloud/nope", `{}`},
	}
	for _, b := range bad {
		if got := post(b.path, b.body); got < 400 {
			t.Errorf("POST %s %s = %d, want a 4xx", b.path, b.body, got)
		}
	}
}

func TestUnknownServiceAndAction(t *testing.T) {
	s := start(t, localcloud.Options{})
	resp, err := http.Get(s.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unsigned request without service markers: status %d, want 404", resp.StatusCode)
	}
	// An RDS action the emulator does not model fails as AWS fails unknown actions.
	_, err = rdsClient(s, east).DescribeDBInstances(ctx(t), &rds.DescribeDBInstancesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidAction" {
		t.Errorf("unmodelled action: %v, want InvalidAction", err)
	}
}
