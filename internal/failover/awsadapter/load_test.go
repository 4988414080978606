package awsadapter_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func TestLoad(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-2")
	t.Setenv("SWITCHYARD_REGION", "eu-west-2")
	t.Setenv("TOPIC_ARN", "arn:aws:sns:eu-west-2:123456789012:switchyard")
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.NotifyVars)
	if err != nil {
		t.Fatal(err)
	}
	if d.TopicARN != "arn:aws:sns:eu-west-2:123456789012:switchyard" || cfg.Region != "eu-west-2" {
		t.Errorf("got topic %q and region %q, want the environment's", d.TopicARN, cfg.Region)
	}
	t.Setenv("TOPIC_ARN", "")
	if _, _, err := awsadapter.Load(context.Background(), os.LookupEnv, config.NotifyVars); err == nil || !strings.Contains(err.Error(), "TOPIC_ARN") {
		t.Errorf("without TOPIC_ARN: got %v, want an error naming it", err)
	}
}

func TestNewTrafficSwitchFollowsTheMode(t *testing.T) {
	d := config.OrchestratorDefaults()
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

func TestClientSecret(t *testing.T) {
	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	sm := secretsmanager.NewFromConfig(cloud.Config("us-west-2"))
	good := cloud.AddSecret("us-west-2", "canary", `{"client_id":"canary","client_secret":"s3cr3t"}`)
	id, secret, err := awsadapter.ClientSecret(sm, good)(context.Background())
	if err != nil || id != "canary" || secret != "s3cr3t" {
		t.Errorf("got %q, %q, %v; want the client's ID and secret", id, secret, err)
	}
	bad := cloud.AddSecret("us-west-2", "not-a-client", `{"username":"u","password":"hunter2"}`)
	_, _, err = awsadapter.ClientSecret(sm, bad)(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CANARY_CLIENT_SECRET_ARN") || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("wrong secret shape: got %v, want an error naming CANARY_CLIENT_SECRET_ARN without the content", err)
	}
	if _, _, err := awsadapter.ClientSecret(sm, "missing")(context.Background()); err == nil {
		t.Error("missing secret: got no error")
	}
}
