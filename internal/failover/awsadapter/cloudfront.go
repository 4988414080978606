package awsadapter

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudfront/types"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// CloudFrontAPI is the part of the CloudFront client the traffic switch calls.
type CloudFrontAPI interface {
	GetDistributionConfig(ctx context.Context, in *cloudfront.GetDistributionConfigInput, optFns ...func(*cloudfront.Options)) (*cloudfront.GetDistributionConfigOutput, error)
	UpdateDistribution(ctx context.Context, in *cloudfront.UpdateDistributionInput, optFns ...func(*cloudfront.Options)) (*cloudfront.UpdateDistributionOutput, error)
}

var _ CloudFrontAPI = (*cloudfront.Client)(nil)

// CloudFrontSwitch points a distribution's default cache behaviour (and every cache behaviour that
// followed it) at an origin. When the default behaviour targets an origin group, the target becomes
// the group's primary member instead, keeping the group's GET failover.
type CloudFrontSwitch struct {
	CloudFront     CloudFrontAPI
	DistributionID string
	// Attempts bounds the re-reads after PreconditionFailed (a concurrent change); 5 when zero.
	Attempts int
}

var _ failover.TrafficSwitch = (*CloudFrontSwitch)(nil)

// Current returns the origin ID that serves the default cache behaviour.
func (c *CloudFrontSwitch) Current(ctx context.Context) (string, error) {
	out, err := c.CloudFront.GetDistributionConfig(ctx, &cloudfront.GetDistributionConfigInput{Id: aws.String(c.DistributionID)})
	if err != nil {
		return "", classify("cloudfront GetDistributionConfig "+c.DistributionID, err)
	}
	return servingOrigin(out.DistributionConfig)
}

// SwitchTo reads the configuration and its ETag, changes the origin and writes it back with
// If-Match; a PreconditionFailed (someone changed it in between) re-reads and tries again.
func (c *CloudFrontSwitch) SwitchTo(ctx context.Context, origin string) error {
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
		if err := pointAt(cfg, origin); err != nil {
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

func servingOrigin(cfg *cftypes.DistributionConfig) (string, error) {
	if cfg == nil || cfg.DefaultCacheBehavior == nil {
		return "", errors.New("cloudfront: distribution config has no default cache behaviour")
	}
	target := aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId)
	if g := originGroup(cfg, target); g != nil {
		if g.Members == nil || len(g.Members.Items) == 0 {
			return "", fmt.Errorf("cloudfront: origin group %s has no members", target)
		}
		return aws.ToString(g.Members.Items[0].OriginId), nil
	}
	return target, nil
}

func originGroup(cfg *cftypes.DistributionConfig, id string) *cftypes.OriginGroup {
	if cfg.OriginGroups == nil {
		return nil
	}
	for i := range cfg.OriginGroups.Items {
		if aws.ToString(cfg.OriginGroups.Items[i].Id) == id {
			return &cfg.OriginGroups.Items[i]
		}
	}
	return nil
}

func pointAt(cfg *cftypes.DistributionConfig, origin string) error {
	known := false
	if cfg.Origins != nil {
		for _, o := range cfg.Origins.Items {
			known = known || aws.ToString(o.Id) == origin
		}
	}
	if !known {
		return fmt.Errorf("no origin with ID %q: check LOCAL_ORIGIN_ID against the distribution's origins", origin)
	}
	current, err := servingOrigin(cfg)
	if err != nil {
		return err
	}
	target := aws.ToString(cfg.DefaultCacheBehavior.TargetOriginId)
	if g := originGroup(cfg, target); g != nil {
		items := g.Members.Items
		for i := range items {
			if aws.ToString(items[i].OriginId) == origin {
				items[0], items[i] = items[i], items[0]
				return nil
			}
		}
		return fmt.Errorf("origin %q is not a member of origin group %s", origin, target)
	}
	cfg.DefaultCacheBehavior.TargetOriginId = aws.String(origin)
	if cfg.CacheBehaviors != nil {
		for i := range cfg.CacheBehaviors.Items {
			if aws.ToString(cfg.CacheBehaviors.Items[i].TargetOriginId) == current {
				cfg.CacheBehaviors.Items[i].TargetOriginId = aws.String(origin)
			}
		}
	}
	return nil
}
