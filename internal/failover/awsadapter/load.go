package awsadapter

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/switchyard-dr/switchyard/internal/failover/config"
)

// Load reads an orchestrator function's settings (the variables in required must be set) and the
// AWS SDK configuration, which takes the region, credentials and any endpoint overrides
// (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) from the environment itself.
func Load(ctx context.Context, getenv func(string) string, required []string) (config.Deployment, aws.Config, error) {
	d, err := config.Load(getenv, required)
	if err != nil {
		return d, aws.Config{}, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return d, aws.Config{}, fmt.Errorf("load the AWS configuration: %w", err)
	}
	return d, cfg, nil
}
