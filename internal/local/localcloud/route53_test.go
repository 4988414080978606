package localcloud_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

const zoneID = "Z0SWITCHYARD"

func route53Setup(t *testing.T) (*localcloud.Server, *route53.Client, *trafficLog) {
	t.Helper()
	log := &trafficLog{}
	s := start(t, localcloud.Options{Traffic: log.hook, Timing: localcloud.Timing{Route53Propagation: 150 * time.Millisecond}})
	s.AddHostedZone(zoneID, "switchyard.example")
	return s, route53.NewFromConfig(s.Config(east), func(o *route53.Options) { o.RetryMaxAttempts = 1 }), log
}

func cname(action r53types.ChangeAction, name, value string) *route53.ChangeResourceRecordSetsInput {
	return &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
			Action: action,
			ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(60),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
			},
		}}},
	}
}

func TestUpsertRecordPropagates(t *testing.T) {
	_, c, log := route53Setup(t)
	out, err := c.ChangeResourceRecordSets(ctx(t), cname(r53types.ChangeActionUpsert, "api.switchyard.example", "east.switchyard.example"))
	if err != nil {
		t.Fatalf("ChangeResourceRecordSets: %v", err)
	}
	if out.ChangeInfo.Status != r53types.ChangeStatusPending {
		t.Errorf("Status = %q, want PENDING", out.ChangeInfo.Status)
	}
	eventually(t, 5*time.Second, "change INSYNC", func() bool {
		ch, err := c.GetChange(ctx(t), &route53.GetChangeInput{Id: out.ChangeInfo.Id})
		if err != nil {
			t.Fatalf("GetChange: %v", err)
		}
		return ch.ChangeInfo.Status == r53types.ChangeStatusInsync
	})
	eventually(t, time.Second, "traffic hook", func() bool { return len(log.all()) == 1 })
	if got := log.all()[0]; got.Service != "route53" || got.Resource != zoneID || got.Name != "api.switchyard.example." || got.Target != "east.switchyard.example" {
		t.Errorf("traffic change = %+v, want route53 %s api.switchyard.example. → east.switchyard.example", got, zoneID)
	}

	// A second UPSERT replaces the value.
	if _, err := c.ChangeResourceRecordSets(ctx(t), cname(r53types.ChangeActionUpsert, "API.switchyard.example.", "west.switchyard.example")); err != nil {
		t.Fatalf("second UPSERT: %v", err)
	}
	list, err := c.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID)})
	if err != nil {
		t.Fatalf("ListResourceRecordSets: %v", err)
	}
	if len(list.ResourceRecordSets) != 1 {
		t.Fatalf("records = %d, want 1", len(list.ResourceRecordSets))
	}
	rs := list.ResourceRecordSets[0]
	if aws.ToString(rs.Name) != "api.switchyard.example." || aws.ToString(rs.ResourceRecords[0].Value) != "west.switchyard.example" || aws.ToInt64(rs.TTL) != 60 {
		t.Errorf("record = %s %v TTL %d, want api.switchyard.example. west.switchyard.example TTL 60",
			aws.ToString(rs.Name), aws.ToString(rs.ResourceRecords[0].Value), aws.ToInt64(rs.TTL))
	}
}

func TestListResourceRecordSetsPages(t *testing.T) {
	_, c, _ := route53Setup(t)
	for _, n := range []string{"b", "a", "c"} {
		if _, err := c.ChangeResourceRecordSets(ctx(t), cname(r53types.ChangeActionCreate, n+".switchyard.example", "x.example")); err != nil {
			t.Fatalf("CREATE %s: %v", n, err)
		}
	}
	first, err := c.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zoneID), MaxItems: aws.Int32(2)})
	if err != nil {
		t.Fatalf("ListResourceRecordSets: %v", err)
	}
	if len(first.ResourceRecordSets) != 2 || !first.IsTruncated || aws.ToString(first.NextRecordName) != "c.switchyard.example." {
		t.Fatalf("first page = %d records, truncated %v, next %q; want 2, true, c.switchyard.example.",
			len(first.ResourceRecordSets), first.IsTruncated, aws.ToString(first.NextRecordName))
	}
	second, err := c.ListResourceRecordSets(ctx(t), &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(zoneID), StartRecordName: first.NextRecordName, StartRecordType: first.NextRecordType,
	})
	if err != nil {
		t.Fatalf("second page: %v", err)
	}
	if len(second.ResourceRecordSets) != 1 || second.IsTruncated || aws.ToString(second.ResourceRecordSets[0].Name) != "c.switchyard.example." {
		t.Errorf("second page = %d records, truncated %v; want only c.switchyard.example.", len(second.ResourceRecordSets), second.IsTruncated)
	}
}

func TestRoute53Errors(t *testing.T) {
	_, c, _ := route53Setup(t)
	if _, err := c.ChangeResourceRecordSets(ctx(t), cname(r53types.ChangeActionCreate, "api.switchyard.example", "x.example")); err != nil {
		t.Fatalf("CREATE: %v", err)
	}
	tests := []struct {
		name  string
		input *route53.ChangeResourceRecordSetsInput
		check func(error) bool
	}{
		{"CREATE of an existing record", cname(r53types.ChangeActionCreate, "api.switchyard.example", "y.example"), isInvalidChangeBatch},
		{"DELETE of a missing record", cname(r53types.ChangeActionDelete, "gone.switchyard.example", "y.example"), isInvalidChangeBatch},
		{"record outside the zone", cname(r53types.ChangeActionUpsert, "api.other.example", "y.example"), isInvalidChangeBatch},
		{"unknown zone", func() *route53.ChangeResourceRecordSetsInput {
			in := cname(r53types.ChangeActionUpsert, "api.switchyard.example", "y.example")
			in.HostedZoneId = aws.String("ZNOPE")
			return in
		}(), func(err error) bool { var e *r53types.NoSuchHostedZone; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ChangeResourceRecordSets(ctx(t), tt.input)
			if !tt.check(err) {
				t.Errorf("error = %T %v, want the typed Route 53 error", err, err)
			}
		})
	}
	_, err := c.GetChange(ctx(t), &route53.GetChangeInput{Id: aws.String("CNOPE")})
	var nsc *r53types.NoSuchChange
	if !errors.As(err, &nsc) {
		t.Errorf("GetChange of an unknown change: error = %T %v, want *NoSuchChange", err, err)
	}
}

// isInvalidChangeBatch wants the reason in the error's own text, where AWS puts it (in brackets):
// a caller logging err must see why the batch was refused.
func isInvalidChangeBatch(err error) bool {
	var e *r53types.InvalidChangeBatch
	return errors.As(err, &e) && strings.HasPrefix(e.ErrorMessage(), "[") && len(e.ErrorMessage()) > 2 &&
		strings.Contains(err.Error(), e.ErrorMessage())
}

// Route 53 refuses a change while an earlier one is still being applied with
// PriorRequestNotComplete, which the SDK retries like a throttle.
func TestPriorRequestNotCompleteRetried(t *testing.T) {
	s, _, _ := route53Setup(t)
	s.FailNext("route53:ChangeResourceRecordSets", 400, "PriorRequestNotComplete", "The request was rejected because Route 53 was still processing a prior request.")
	s.ThrottleNext("route53:ChangeResourceRecordSets", 1)
	c := route53.NewFromConfig(s.Config(east), func(o *route53.Options) { o.Retryer = instantRetries() })
	if _, err := c.ChangeResourceRecordSets(ctx(t), cname(r53types.ChangeActionUpsert, "api.switchyard.example", "west.switchyard.example")); err != nil {
		t.Fatalf("ChangeResourceRecordSets after PriorRequestNotComplete and Throttling: %v", err)
	}
	if got := s.Calls("route53:ChangeResourceRecordSets"); got != 3 {
		t.Errorf("attempts = %d, want 3", got)
	}
}
