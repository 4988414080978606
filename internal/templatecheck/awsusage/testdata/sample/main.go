// Command sample is the analyser's test subject: it publishes to SNS through a port, builds an RDS
// IAM token, lists executions from a package variable's initializer, and has an unreachable
// function that would fail over a global cluster.
package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

type publisher interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

type notifier interface {
	Notify(ctx context.Context) error
}

type snsNotifier struct{ client publisher }

func (n snsNotifier) Notify(ctx context.Context) error {
	_, err := n.client.Publish(ctx, &sns.PublishInput{Message: aws.String("x")})
	return err
}

var starter = sfn.New(sfn.Options{})

// running is set at start-up: its initializer's calls are as reachable as init's.
var running = countRunning()

func countRunning() int {
	out, _ := starter.ListExecutions(context.Background(), &sfn.ListExecutionsInput{})
	return len(out.Executions)
}

func init() {
	starter.StartExecution(context.Background(), &sfn.StartExecutionInput{})
}

func main() {
	var n notifier = snsNotifier{client: sns.New(sns.Options{})}
	n.Notify(context.Background())
	auth.BuildAuthToken(context.Background(), "h:3306", "r", "u", nil)
}

func neverCalled() {
	rds.New(rds.Options{}).FailoverGlobalCluster(context.Background(), &rds.FailoverGlobalClusterInput{})
}
