// Command failover-notify publishes the run's report to SNS: the decision, every phase's duration,
// the estimated data loss and the execution ARN, on success and on failure.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/failover/awsadapter"
	"github.com/switchyard-dr/switchyard/internal/startup"
)

func main() {
	log := lambdacontext.NewLogger()
	d, cfg, err := awsadapter.Load(context.Background(), os.LookupEnv, config.NotifyVars)
	startup.Check(log, "failover-notify", "configuration", err)
	h := &failover.Notify{Notifier: &awsadapter.Notifier{SNS: sns.NewFromConfig(cfg), TopicARN: d.TopicARN}, Region: d.Region}
	lambda.Start(failover.Logged(log, "notify", h.Handle))
}
