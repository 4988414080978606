package awsadapter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/switchyard-dr/switchyard/internal/edge"
	"github.com/switchyard-dr/switchyard/internal/failover"
)

// CloudFrontAPI is the part of the CloudFront client the traffic switch calls.
type CloudFrontAPI interface {
	GetDistributionConfig(ctx context.Context, in *cloudfront.GetDistributionConfigInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
	UpdateDistribution(ctx context.Context, in *cloudfront.UpdateDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error)
}

var _ CloudFrontAPI = (*cloudfront.Client)(nil)

// CloudFrontSwitch points a distribution's default cache behaviour (and every cache behaviour that
// followed it) at an origin, and stamps every origin with the writer lease epoch of the change in
// the custom header edge.TrafficEpochHeader, where the edge handler also sees it. The read, the epoch
// check and the write form one compare-and-set: UpdateDistribution carries the ETag of the read
// (If-Match), so a change made in between fails with PreconditionFailed and is re-read and checked
// again rather than overwritten.
type CloudFrontSwitch struct {
	CloudFront     CloudFrontAPI
	DistributionID string
	// Attempts bounds the re-reads after PreconditionFailed (a concurrent change); 5 when zero.
	Attempts int
}

var _ failover.TrafficSwitch = (*CloudFrontSwitch)(nil)

// Current returns the origin ID that serves the default cache behaviour and the epoch it carries.
func (c *CloudFrontSwitch) Current(ctx context.Context) (failover.TrafficState, error) {
	out, err := c.CloudFront.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(c.DistributionID)})
	if err != nil {
		return failover.TrafficState{}, classify("cloudfront GetDistributionConfig "+c.DistributionID, err)
	}
	return c.state(out.DistributionConfig)
}

// SwitchTo reads the configuration and its ETag, refuses if it carries a newer epoch, changes the
// origin and the epoch and writes it back with If-Match; a PreconditionFailed (someone changed it in
// between) re-reads, checks the epoch again and tries again.
func (c *CloudFrontSwitch) SwitchTo(ctx context.Context, origin string, epoch uint64) error {
	attempts := c.Attempts
	if attempts == 0 {
		attempts = 5
	}
	var last error
	for range attempts {
		out, err := c.CloudFront.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(c.DistributionID)})
		if err != nil {
			return classify("cloudfront GetDistributionConfig "+c.DistributionID, err)
		}
		cfg := out.DistributionConfig
		current, err := c.state(cfg)
		if err != nil {
			return err
		}
		switch {
		case !current.Supersedes(origin, epoch):
			return &failover.StaleEpochError{Target: origin, Epoch: epoch, Current: current}
		case current == failover.TrafficState{Target: origin, Epoch: epoch}:
			return nil
		}
		if err := pointAt(cfg, origin, epoch); err != nil {
			return fmt.Errorf("distribution %s: %w", c.DistributionID, err)
		}
		_, err = c.CloudFront.UpdateDistribution(ctx, &cloudfront.UpdateDistributionInput{
			Id: aws.String(c.DistributionID), IfMatch: out.ETag, DistributionConfig: cfg,
		})
		last = classify("cloudfront UpdateDistribution "+c.DistributionID, err)
		var stale *failover.PreconditionError
		if !errors.As(last, &stale) {
			return last
		}
	}
	return last
}

func (c *CloudFrontSwitch) state(cfg *cftypes.DistributionConfig) (failover.TrafficState, error) {
	if cfg == nil || cfg.DefaultCacheBehavior == nil {
		return failover.TrafficState{}, fmt.Errorf("distribution %s: the config has no default cache behaviour", c.DistributionID)
	}
	target := aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId)
	o := findOrigin(cfg, target)
	if o == nil {
		return failover.TrafficState{}, fmt.Errorf("distribution %s: the default cache behaviour targets %q, which is not one of its origins (an origin group cannot carry the API's writes)", c.DistributionID, target)
	}
	st := failover.TrafficState{Target: target}
	if o.CustomHeaders == nil {
		return st, nil
	}
	for _, h := range o.CustomHeaders.Items {
		if strings.EqualFold(aws.ToString(h.HeaderName), edge.TrafficEpochHeader) {
			n, err := strconv.ParseUint(aws.ToString(h.HeaderValue), 10, 64)
			if err != nil {
				return failover.TrafficState{}, fmt.Errorf("distribution %s: origin %s has %s %q, not a lease epoch: set it to a number or remove it",
					c.DistributionID, target, edge.TrafficEpochHeader, aws.ToString(h.HeaderValue))
			}
			st.Epoch = n
		}
	}
	return st, nil
}

func findOrigin(cfg *cftypes.DistributionConfig, id string) *cftypes.Origin {
	if cfg.Origins == nil {
		return nil
	}
	for i := range cfg.Origins.Items {
		if aws.ToString(cfg.Origins.Items[i].Id) == id {
			return &cfg.Origins.Items[i]
		}
	}
	return nil
}

// pointAt targets origin from the default behaviour and from every behaviour that followed it, and
// stamps epoch on every origin, so that whichever origin a behaviour targets carries it.
func pointAt(cfg *cftypes.DistributionConfig, origin string, epoch uint64) error {
	if findOrigin(cfg, origin) == nil {
		return fmt.Errorf("no origin with ID %q: check LOCAL_ORIGIN_ID against the distribution's origins", origin)
	}
	current := aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId)
	cfg.DefaultCacheBehavior.TargetOriginId = aws.String(origin)
	if cfg.CacheBehaviors != nil {
		for i := range cfg.CacheBehaviors.Items {
			if aws.ToString(cfg.CacheBehaviors.Items[i].TargetOriginId) == current {
				cfg.CacheBehaviors.Items[i].TargetOriginId = aws.String(origin)
			}
		}
	}
	value := strconv.FormatUint(epoch, 10)
	for i := range cfg.Origins.Items {
		o := &cfg.Origins.Items[i]
		if o.CustomHeaders == nil {
			o.CustomHeaders = &cftypes.CustomHeaders{}
		}
		set := false
		for j := range o.CustomHeaders.Items {
			if strings.EqualFold(aws.ToString(o.CustomHeaders.Items[j].HeaderName), edge.TrafficEpochHeader) {
				o.CustomHeaders.Items[j].HeaderValue = aws.String(value)
				set = true
			}
		}
		if !set {
			o.CustomHeaders.Items = append(o.CustomHeaders.Items, cftypes.OriginCustomHeader{
				HeaderName: aws.String(edge.TrafficEpochHeader), HeaderValue: aws.String(value)})
		}
		o.CustomHeaders.Quantity = aws.Int32(int32(len(o.CustomHeaders.Items)))
	}
	return nil
}
