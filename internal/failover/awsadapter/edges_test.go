package awsadapter_test

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// An error code the adapter does not know is classified by its HTTP status: a server-side failure
// may pass when retried, a refusal of the request will not.
func TestUnknownErrorsAreClassifiedByStatus(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	g := c.globalDatabase(false)
	tests := []struct {
		status    int
		code      string
		transient bool
	}{
		{500, "SomethingBroke", true},
		{502, "BadGateway", true},
		{499, "ClientClosedRequest", false},
		{400, "InvalidParameterCombination", false},
		{404, "GlobalClusterNotFoundFault", false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			c.FailNext("rds:DescribeGlobalClusters", tt.status, tt.code, "injected")
			_, err := g.Describe(ctx(t))
			if err == nil {
				t.Fatal("got success, want the injected failure")
			}
			var transient *failover.TransientError
			if got := errors.As(err, &transient); got != tt.transient {
				t.Errorf("%d %s: got %v (%T), transient %t; want transient %t", tt.status, tt.code, err, err, got, tt.transient)
			}
		})
	}
}

// The switch changes which origin serves and stamps the epoch; every other origin setting stays as
// the edge stack made it: a lost x-switchyard-origin-secret would make the regional APIs refuse the
// edge's requests, a lost x-switchyard-region would misname the serving region.
func TestCloudFrontSwitchKeepsTheOriginsHeaders(t *testing.T) {
	c := startCloud(t, localcloud.Timing{CloudFrontPropagation: time.Millisecond})
	if err := addDistribution(c, "EHEADERS", "distribution-origin-headers.xml"); err != nil {
		t.Fatal(err)
	}
	client := cloudfront.NewFromConfig(c.config(westRegion, false))
	s := &awsadapter.CloudFrontSwitch{CloudFront: client, DistributionID: "EHEADERS"}
	if err := s.SwitchTo(ctx(t), "west-api", 3); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetDistributionConfig(ctx(t), &cloudfront.GetDistributionConfigInput{Id: aws.String("EHEADERS")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		"east-api": {"x-switchyard-region": "us-east-1", "x-switchyard-origin-secret": "origin-secret-us-east-1", "x-switchyard-traffic-epoch": "3"},
		"west-api": {"x-switchyard-region": "us-west-2", "x-switchyard-origin-secret": "origin-secret-us-west-2", "x-switchyard-traffic-epoch": "3"},
	}
	for _, o := range out.DistributionConfig.Origins.Items {
		got := map[string]string{}
		if o.CustomHeaders != nil {
			for _, h := range o.CustomHeaders.Items {
				got[aws.ToString(h.HeaderName)] = aws.ToString(h.HeaderValue)
			}
		}
		id := aws.ToString(o.Id)
		if len(got) != len(want[id]) {
			t.Errorf("origin %s: headers %v, want %v", id, got, want[id])
			continue
		}
		for k, v := range want[id] {
			if got[k] != v {
				t.Errorf("origin %s: header %s = %q, want %q (all: %v)", id, k, got[k], v, got)
			}
		}
	}
}

// The lag is the newest datapoint within the lookback window (5 minutes unless set): an older one
// says nothing about the lag now, and the decision then treats the lag as unknown.
func TestReplicationLagLooksBackOverItsWindow(t *testing.T) {
	c := startCloud(t, localcloud.Timing{})
	c.db.SetReplicationLag(west, 900*time.Millisecond)
	cfg := c.config(westRegion, false)
	// The emulator samples the lag when it is asked: an adapter clock two minutes ahead makes that
	// datapoint two minutes old.
	ahead := func() time.Time { return time.Now().Add(2 * time.Minute) }
	tests := []struct {
		name   string
		window time.Duration
		want   time.Duration
		known  bool
	}{
		{"default window of 5 minutes", 0, 900 * time.Millisecond, true},
		{"a 3-minute window", 3 * time.Minute, 900 * time.Millisecond, true},
		{"a 1-minute window", time.Minute, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &awsadapter.GlobalDatabase{RDS: rds.NewFromConfig(cfg), CloudWatch: cloudwatch.NewFromConfig(cfg), GlobalClusterID: globalID,
				Now: ahead, LagWindow: tt.window}
			lag, known, err := g.ReplicationLag(ctx(t), west)
			if err != nil || lag != tt.want || known != tt.known {
				t.Errorf("got %s, known %t, %v; want %s, known %t", lag, known, err, tt.want, tt.known)
			}
		})
	}
}

// The record and its epoch record carry the switch's TTL (60 seconds unless set): it bounds how long
// resolvers keep sending traffic to the old region after a switch.
func TestRoute53SwitchSetsTheTTL(t *testing.T) {
	c := startCloud(t, localcloud.Timing{Route53Propagation: time.Millisecond})
	c.AddHostedZone("Z0123456789ABC", "example.com")
	client := route53.NewFromConfig(c.config(westRegion, false))
	for _, tt := range []struct {
		record string
		ttl    int64
		want   int64
	}{{"default.example.com", 0, 60}, {"short.example.com", 15, 15}} {
		t.Run(tt.record, func(t *testing.T) {
			s := &awsadapter.Route53Switch{Route53: client, HostedZoneID: "Z0123456789ABC", RecordName: tt.record, TTL: tt.ttl}
			if err := s.SwitchTo(ctx(t), "west.example.com", 1); err != nil {
				t.Fatal(err)
			}
			for _, rr := range []struct {
				name string
				typ  r53types.RRType
			}{{tt.record, r53types.RRTypeCname}, {"_switchyard-epoch." + tt.record, r53types.RRTypeTxt}} {
				rs := lookupRecord(t, client, rr.name, rr.typ)
				if rs == nil || aws.ToInt64(rs.TTL) != tt.want {
					t.Errorf("%s %s: got %+v, want TTL %d", rr.name, rr.typ, rs, tt.want)
				}
			}
		})
	}
}

// A record that holds no values (an alias someone created by hand) points at no target the switch
// knows: it reads as none, and the switch replaces it with its own record.
func TestRoute53SwitchReplacesAnAliasRecord(t *testing.T) {
	c := startCloud(t, localcloud.Timing{Route53Propagation: time.Millisecond})
	c.AddHostedZone("Z0123456789ABC", "example.com")
	client := route53.NewFromConfig(c.config(westRegion, false))
	_, err := client.ChangeResourceRecordSets(ctx(t), &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String("Z0123456789ABC"),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("origin.example.com"), Type: r53types.RRTypeCname,
			AliasTarget: &r53types.AliasTarget{HostedZoneId: aws.String("Z0123456789ABC"), DNSName: aws.String("east.example.com")},
		}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &awsadapter.Route53Switch{Route53: client, HostedZoneID: "Z0123456789ABC", RecordName: "origin.example.com"}
	st, err := s.Current(ctx(t))
	if err != nil || st != (failover.TrafficState{}) {
		t.Fatalf("current: got %+v, %v; want no target", st, err)
	}
	if err := s.SwitchTo(ctx(t), "west.example.com", 1); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Current(ctx(t)); err != nil || st != (failover.TrafficState{Target: "west.example.com", Epoch: 1}) {
		t.Errorf("after the switch: got %+v, %v; want west.example.com at epoch 1", st, err)
	}
}

func lookupRecord(t *testing.T, client *route53.Client, name string, typ r53types.RRType) *r53types.ResourceRecordSet {
	t.Helper()
	out, err := client.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String("Z0123456789ABC"), StartRecordName: aws.String(name), StartRecordType: typ, MaxItems: aws.Int32(1),
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, rs := range out.ResourceRecordSets {
		if aws.ToString(rs.Name) == name+"." && rs.Type == typ {
			return &out.ResourceRecordSets[i]
		}
	}
	return nil
}
