package awsadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Route53API is the part of the Route 53 client the traffic switch calls.
type Route53API interface {
	ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error)
	ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, optFns ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error)
}

var _ Route53API = (*route53.Client)(nil)

// Route53Switch points a DNS record (the origin's name, e.g. a CNAME to a regional API) at a value,
// and keeps the writer lease epoch of that change in a TXT record beside it
// ("_switchyard-epoch.<RecordName>", value "<epoch> <target>").
//
// The change is one compare-and-set: a single change batch DELETEs the exact epoch record it read,
// CREATEs the new one and UPSERTs the record. Route 53 deletes only a record that matches every value
// given and applies a batch all or nothing, so when someone changed the epoch record in between the
// whole batch fails with InvalidChangeBatch; the switch then re-reads and checks the epoch again.
type Route53Switch struct {
	Route53      Route53API
	HostedZoneID string
	RecordName   string
	// RecordType is CNAME when empty.
	RecordType string
	// TTL is 60 seconds when zero.
	TTL int64
	// Attempts bounds the re-reads after a lost compare-and-set; 5 when zero.
	Attempts int
}

var _ failover.TrafficSwitch = (*Route53Switch)(nil)

func (r *Route53Switch) recordType() r53types.RRType {
	if r.RecordType == "" {
		return r53types.RRTypeCname
	}
	return r53types.RRType(r.RecordType)
}

func (r *Route53Switch) epochName() string {
	return "_switchyard-epoch." + strings.TrimSuffix(r.RecordName, ".")
}

func (r *Route53Switch) ttl() int64 {
	if r.TTL == 0 {
		return 60
	}
	return r.TTL
}

// Current returns the record's first value ("" when the record does not exist) and the epoch of the
// change that set it (0 when none was recorded).
func (r *Route53Switch) Current(ctx context.Context) (failover.TrafficState, error) {
	st, _, err := r.read(ctx)
	return st, err
}

// read returns the state and the epoch record exactly as Route 53 holds it (nil when absent), for
// the DELETE of the compare-and-set.
func (r *Route53Switch) read(ctx context.Context) (failover.TrafficState, *r53types.ResourceRecordSet, error) {
	record, err := r.lookup(ctx, r.RecordName, r.recordType())
	if err != nil {
		return failover.TrafficState{}, nil, err
	}
	var st failover.TrafficState
	if record != nil && len(record.ResourceRecords) > 0 {
		st.Target = aws.ToString(record.ResourceRecords[0].Value)
	}
	epochRecord, err := r.lookup(ctx, r.epochName(), r53types.RRTypeTxt)
	if err != nil || epochRecord == nil {
		return st, nil, err
	}
	if len(epochRecord.ResourceRecords) != 1 {
		return st, nil, fmt.Errorf("route53 record %s TXT has %d values, want 1 (\"<epoch> <target>\"): delete it by hand to start over", r.epochName(), len(epochRecord.ResourceRecords))
	}
	raw := strings.Trim(aws.ToString(epochRecord.ResourceRecords[0].Value), `"`)
	epoch, _, _ := strings.Cut(raw, " ")
	if st.Epoch, err = strconv.ParseUint(epoch, 10, 64); err != nil {
		return st, nil, fmt.Errorf("route53 record %s TXT is %q, want \"<epoch> <target>\": delete it by hand to start over", r.epochName(), raw)
	}
	return st, epochRecord, nil
}

func (r *Route53Switch) lookup(ctx context.Context, name string, typ r53types.RRType) (*r53types.ResourceRecordSet, error) {
	out, err := r.Route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(r.HostedZoneID), StartRecordName: aws.String(name),
		StartRecordType: typ, MaxItems: aws.Int32(1),
	})
	if err != nil {
		return nil, classify("route53 ListResourceRecordSets "+name, err)
	}
	for i, rs := range out.ResourceRecordSets {
		if sameName(aws.ToString(rs.Name), name) && rs.Type == typ {
			return &out.ResourceRecordSets[i], nil
		}
	}
	return nil, nil
}

// SwitchTo points the record at value, stamped with epoch, by compare-and-set on the epoch record.
func (r *Route53Switch) SwitchTo(ctx context.Context, value string, epoch uint64) error {
	attempts := r.Attempts
	if attempts == 0 {
		attempts = 5
	}
	var last error
	for range attempts {
		current, epochRecord, err := r.read(ctx)
		if err != nil {
			return err
		}
		switch {
		case !current.Supersedes(value, epoch):
			return &failover.StaleEpochError{Target: value, Epoch: epoch, Current: current}
		case current == failover.TrafficState{Target: value, Epoch: epoch}:
			return nil
		}
		var changes []r53types.Change
		if epochRecord != nil {
			changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: epochRecord})
		}
		changes = append(changes,
			r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(r.epochName()), Type: r53types.RRTypeTxt, TTL: aws.Int64(r.ttl()),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(`"` + strconv.FormatUint(epoch, 10) + " " + value + `"`)}},
			}},
			r53types.Change{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
				Name: aws.String(r.RecordName), Type: r.recordType(), TTL: aws.Int64(r.ttl()),
				ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}},
			}})
		_, err = r.Route53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(r.HostedZoneID),
			ChangeBatch: &r53types.ChangeBatch{
				Comment: aws.String(fmt.Sprintf("Switchyard: activate %s with lease epoch %d", value, epoch)),
				Changes: changes,
			},
		})
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidChangeBatch" {
			// Lost the compare-and-set: the epoch record changed since the read.
			last = &failover.PreconditionError{Op: "route53 ChangeResourceRecordSets " + r.RecordName, Err: err}
			continue
		}
		return classify(fmt.Sprintf("route53 ChangeResourceRecordSets %s %s epoch %d", r.RecordName, value, epoch), err)
	}
	return last
}

// Route 53 returns names fully qualified with a trailing dot.
func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}
