package awsadapter_test

import (
	"context"
	"os"
	"strings"
	"testing"

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
