package awsadapter_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/failover/config"
)

func TestLoad(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("SWITCHYARD_REGION", "eu-west-2")
	t.Setenv("TOPIC_ARN", "arn:aws:sns:eu-west-2:123456789012:switchyard")
	d, cfg, err := awsadapter.Load(context.Background(), os.Getenv, config.Notify)
	if err != nil {
		t.Fatal(err)
	}
	if d.TopicARN != "arn:aws:sns:eu-west-2:123456789012:switchyard" || cfg.Region != "eu-west-2" {
		t.Errorf("got topic %q and region %q, want the environment's", d.TopicARN, cfg.Region)
	}
	t.Setenv("TOPIC_ARN", "")
	if _, _, err := awsadapter.Load(context.Background(), os.Getenv, config.Notify); err == nil || !strings.Contains(err.Error(), "TOPIC_ARN") {
		t.Errorf("without TOPIC_ARN: got %v, want an error naming it", err)
	}
}

func TestNewTrafficSwitchFollowsTheMode(t *testing.T) {
	d := config.Defaults()
	d.DistributionID, d.HostedZoneID, d.RecordName = "E1", "Z1", "api.example.com"
	if cf, ok := awsadapter.NewTrafficSwitch(aws.Config{}, d).(*awsadapter.CloudFrontSwitch); !ok || cf.DistributionID != "E1" {
		t.Errorf("TRAFFIC_MODE=cloudfront: got %#v, want the distribution E1's switch", cf)
	}
	d.TrafficMode = "route53"
	r53, ok := awsadapter.NewTrafficSwitch(aws.Config{}, d).(*awsadapter.Route53Switch)
	if !ok || r53.HostedZoneID != "Z1" || r53.RecordName != "api.example.com" || r53.TTL != d.RecordTTL || r53.RecordType != "CNAME" {
		t.Errorf("TRAFFIC_MODE=route53: got %#v, want the record's switch with its type and TTL", r53)
	}
}
