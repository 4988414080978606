package awsadapter

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudfront"
	"github.com/aws/aws-sdk-go-v2/service/route53"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
)

// Load reads an orchestrator function's settings (the variables in required must be set) and the
// AWS SDK configuration, which takes the region, credentials and any endpoint overrides
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) from the environment itself.
func Load(ctx context.Context, env config.Lookup, required []string) (config.Orchestrator, aws.Config, error) {
	d, err := config.LoadOrchestrator(env, required)
	if err != nil {
		return d, aws.Config{}, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return d, aws.Config{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	return d, cfg, nil
}

// NewTrafficSwitch returns the traffic switch d's TRAFFIC_MODE names: the distribution's origin
// (cloudfront) or the DNS record (route53).
func NewTrafficSwitch(cfg aws.Config, d config.Orchestrator) failover.TrafficSwitch {
	if d.TrafficMode == "route53" {
		return &Route53Switch{Route53: route53.NewFromConfig(cfg), HostedZoneID: d.HostedZoneID,
			RecordName: d.RecordName, RecordType: d.RecordType, TTL: d.RecordTTL}
	}
	return &CloudFrontSwitch{CloudFront: cloudfront.NewFromConfig(cfg), DistributionID: d.DistributionID}
}
