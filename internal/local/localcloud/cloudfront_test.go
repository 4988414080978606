package localcloud_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

const distributionID = "E1SWITCHYARD01"

// trafficLog collects TrafficChanges from the hook.
type trafficLog struct {
	mu      sync.Mutex
	changes []localcloud.TrafficChange
}

func (l *trafficLog) hook(c localcloud.TrafficChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, c)
}

func (l *trafficLog) all() []localcloud.TrafficChange {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]localcloud.TrafficChange(nil), l.changes...)
}

func cloudfrontSetup(t *testing.T) (*localcloud.Server, *cloudfront.Client, *trafficLog) {
	t.Helper()
	log := &trafficLog{}
	s := start(t, localcloud.Options{Traffic: log.hook, Timing: localcloud.Timing{CloudFrontPropagation: 150 * time.Millisecond}})
	config, err := os.ReadFile("testdata/distribution-config.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddDistribution(distributionID, config); err != nil {
		t.Fatalf("AddDistribution: %v", err)
	}
	return s, cloudfront.NewFromConfig(s.Config(east), func(o *cloudfront.Options) { o.RetryMaxAttempts = 1 }), log
}

// pointAt reads the config, targets originID and updates with the ETag it read.
func pointAt(t *testing.T, c *cloudfront.Client, originID string) (*cloudfront.UpdateDistributionOutput, error) {
	t.Helper()
	got, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
	if err != nil {
		t.Fatalf("GetDistributionConfig: %v", err)
	}
	got.DistributionConfig.DefaultCacheBehavior.TargetOriginId = aws.String(originID)
	return c.UpdateDistribution(ctx(t), &cloudfront.UpdateDistributionInput{
		Id: aws.String(distributionID), IfMatch: got.ETag, DistributionConfig: got.DistributionConfig,
	})
}

func TestUpdateDistributionPropagates(t *testing.T) {
	_, c, log := cloudfrontSetup(t)
	out, err := pointAt(t, c, "west")
	if err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	if got := aws.ToString(out.Distribution.Status); got != "InProgress" {
		t.Errorf("Status right after the update = %q, want InProgress", got)
	}
	if got := aws.ToString(out.Distribution.DistributionConfig.DefaultCacheBehavior.TargetOriginId); got != "west" {
		t.Errorf("updated TargetOriginId = %q, want west", got)
	}
	if aws.ToString(out.ETag) == "" {
		t.Error("UpdateDistribution returned no ETag")
	}
	if n := len(log.all()); n != 0 {
		t.Errorf("traffic hook called %d times before propagation, want 0", n)
	}
	eventually(t, 5*time.Second, "distribution Deployed", func() bool {
		d, err := c.GetDistribution(ctx(t), &cloudfront.GetDistributionInput{Id: aws.String(distributionID)})
		if err != nil {
			t.Fatalf("GetDistribution: %v", err)
		}
		return aws.ToString(d.Distribution.Status) == "Deployed"
	})
	eventually(t, time.Second, "traffic hook", func() bool { return len(log.all()) == 1 })
	got := log.all()[0]
	want := localcloud.TrafficChange{Service: "cloudfront", Resource: distributionID, Name: "west", Target: "def456.execute-api.us-west-2.amazonaws.com"}
	if got.Service != want.Service || got.Resource != want.Resource || got.Name != want.Name || got.Target != want.Target {
		t.Errorf("traffic change = %+v, want %+v", got, want)
	}
	if got.Headers["X-Origin-Region"] != "us-west-2" {
		t.Errorf("traffic change headers = %v, want X-Origin-Region us-west-2", got.Headers)
	}
}

// CloudFront keeps configuration the emulator does not interpret: everything the SDK sent comes
// back unchanged.
func TestDistributionConfigRoundTrips(t *testing.T) {
	_, c, _ := cloudfrontSetup(t)
	if _, err := pointAt(t, c, "west"); err != nil {
		t.Fatalf("UpdateDistribution: %v", err)
	}
	got, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
	if err != nil {
		t.Fatalf("GetDistributionConfig: %v", err)
	}
	dc := got.DistributionConfig
	checks := []struct {
		field, got, want string
	}{
		{"TargetOriginId", aws.ToString(dc.DefaultCacheBehavior.TargetOriginId), "west"},
		{"PriceClass", string(dc.PriceClass), "PriceClass_100"},
		{"HttpVersion", string(dc.HttpVersion), "http2and3"},
		{"Alias", dc.Aliases.Items[0], "api.switchyard.example"},
		{"OriginRequestPolicyId", aws.ToString(dc.DefaultCacheBehavior.OriginRequestPolicyId), "b689b0a8-53d0-40ab-baf2-68738e2966ac"},
		{"AllowedMethods[5]", string(dc.DefaultCacheBehavior.AllowedMethods.Items[5]), "POST"},
		{"OriginGroup status code", fmt.Sprint(dc.OriginGroups.Items[0].FailoverCriteria.StatusCodes.Items[1]), "503"},
		{"Origin read timeout", fmt.Sprint(aws.ToInt32(dc.Origins.Items[1].CustomOriginConfig.OriginReadTimeout)), "30"},
		{"Comment", aws.ToString(dc.Comment), "Switchyard ToDo API"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s after update = %q, want %q", ch.field, ch.got, ch.want)
		}
	}
}

func TestUpdateDistributionErrors(t *testing.T) {
	_, c, _ := cloudfrontSetup(t)
	first, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)})
	if err != nil {
		t.Fatalf("GetDistributionConfig: %v", err)
	}
	// Someone else updates first: our ETag is now stale.
	if _, err := pointAt(t, c, "west"); err != nil {
		t.Fatalf("concurrent UpdateDistribution: %v", err)
	}
	first.DistributionConfig.DefaultCacheBehavior.TargetOriginId = aws.String("east")
	_, err = c.UpdateDistribution(ctx(t), &cloudfront.UpdateDistributionInput{Id: aws.String(distributionID), IfMatch: first.ETag, DistributionConfig: first.DistributionConfig})
	var stale *cftypes.PreconditionFailed
	if !errors.As(err, &stale) {
		t.Fatalf("stale ETag: error %T %v, want *PreconditionFailed", err, err)
	}

	_, err = c.UpdateDistribution(ctx(t), &cloudfront.UpdateDistributionInput{Id: aws.String(distributionID), DistributionConfig: first.DistributionConfig})
	var missing *cftypes.InvalidIfMatchVersion
	if !errors.As(err, &missing) {
		t.Fatalf("no If-Match: error %T %v, want *InvalidIfMatchVersion", err, err)
	}

	_, err = c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String("ENOSUCH")})
	var nsd *cftypes.NoSuchDistribution
	if !errors.As(err, &nsd) {
		t.Fatalf("unknown distribution: error %T %v, want *NoSuchDistribution", err, err)
	}

	_, err = pointAt(t, c, "nowhere")
	var nso *cftypes.NoSuchOrigin
	if !errors.As(err, &nso) {
		t.Fatalf("unknown target origin: error %T %v, want *NoSuchOrigin", err, err)
	}

	// Re-read and retry wins.
	out, err := pointAt(t, c, "east")
	if err != nil {
		t.Fatalf("re-read and retry: %v", err)
	}
	if got := aws.ToString(out.Distribution.DistributionConfig.DefaultCacheBehavior.TargetOriginId); got != "east" {
		t.Errorf("after retry TargetOriginId = %q, want east", got)
	}
}

func TestCloudFrontThrottleRetried(t *testing.T) {
	s, _, _ := cloudfrontSetup(t)
	s.ThrottleNext("cloudfront:GetDistributionConfig", 1)
	c := cloudfront.NewFromConfig(s.Config(east), func(o *cloudfront.Options) { o.Retryer = instantRetries() })
	if _, err := c.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String(distributionID)}); err != nil {
		t.Fatalf("GetDistributionConfig after a throttle: %v", err)
	}
	if got := s.Calls("cloudfront:GetDistributionConfig"); got != 2 {
		t.Errorf("attempts = %d, want 2", got)
	}
}

func TestAddDistributionRejectsBadConfig(t *testing.T) {
	s := start(t, localcloud.Options{})
	tests := []struct{ name, xml string }{
		{"not XML", "{}"},
		{"wrong root", "<Distribution/>"},
		{"target origin missing", "<DistributionConfig><DefaultCacheBehavior><TargetOriginId>x</TargetOriginId></DefaultCacheBehavior></DistributionConfig>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AddDistribution("E1", []byte(tt.xml)); err == nil {
				t.Error("AddDistribution accepted it, want an error")
			}
		})
	}
}
