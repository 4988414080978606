package awsadapter

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

// SNSAPI is the part of the SNS client the notifier calls.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// Notifier publishes to an SNS topic.
type Notifier struct {
	SNS      SNSAPI
	TopicARN string
}

var _ failover.Notifier = (*Notifier)(nil)

// Notify publishes one message.
func (n *Notifier) Notify(ctx context.Context, subject, message string) error {
	_, err := n.SNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(n.TopicARN), Subject: aws.String(subject), Message: aws.String(message)})
	return classify("sns Publish "+n.TopicARN, err)
}
