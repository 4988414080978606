package awsadapter

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Route53API is the part of the Route 53 client the traffic switch calls.
type Route53API interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
}

var _ Route53API = (*route53.Client)(nil)

// Route53Switch points a DNS record (the origin's name, e.g. a CNAME to a regional API) at a value
// by UPSERT.
type Route53Switch struct {
	Route53      Route53API
	HostedZoneID string
	RecordName   string
	// RecordType is CNAME when empty.
	RecordType string
	// TTL is 60 seconds when zero.
	TTL int64
}

var _ failover.TrafficSwitch = (*Route53Switch)(nil)

func (r *Route53Switch) recordType() r53types.RRType {
	if r.RecordType == "" {
		return r53types.RRTypeCname
	}
	return r53types.RRType(r.RecordType)
}

// Current returns the record's first value, "" when the record does not exist.
func (r *Route53Switch) Current(ctx context.Context) (string, error) {
	out, err := r.Route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(r.HostedZoneID), StartRecordName: aws.String(r.RecordName),
		StartRecordType: r.recordType(), MaxItems: aws.Int32(1),
	})
	if err != nil {
		return "", classify("route53 ListResourceRecordSets "+r.RecordName, err)
	}
	for _, rs := range out.ResourceRecordSets {
		if sameName(aws.ToString(rs.Name), r.RecordName) && rs.Type == r.recordType() && len(rs.ResourceRecords) > 0 {
			return aws.ToString(rs.ResourceRecords[0].Value), nil
		}
	}
	return "", nil
}

// SwitchTo upserts the record with value.
func (r *Route53Switch) SwitchTo(ctx context.Context, value string) error {
	ttl := r.TTL
	if ttl == 0 {
		ttl = 60
	}
	_, err := r.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(r.HostedZoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String("Switchyard: activate " + value),
			Changes: []r53types.Change{{
				Action: r53types.ChangeActionUpsert,
				ResourceRecordSet: &r53types.ResourceRecordSet{
					Name: aws.String(r.RecordName), Type: r.recordType(), TTL: aws.Int64(ttl),
					ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
				},
			}},
		},
	})
	return classify(fmt.Sprintf("route53 ChangeResourceRecordSets UPSERT %s %s", r.RecordName, value), err)
}

// Route 53 returns names fully qualified with a trailing dot.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
