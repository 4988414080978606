package localcloud_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

func TestPublish(t *testing.T) {
	s := start(t, localcloud.Options{})
	topic := s.TopicARN(west, "failover-events")
	s.AddTopic(topic)
	received := make(chan localcloud.SNSMessage, 1)
	s.SubscribeSNS(func(m localcloud.SNSMessage) { received <- m })

	c := sns.NewFromConfig(s.Config(west))
	out, err := c.Publish(ctx(t), &sns.PublishInput{
		TopicArn: aws.String(topic), Subject: aws.String("Failover started"), Message: aws.String(`{"incident":"i-1"}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"severity": {DataType: aws.String("String"), StringValue: aws.String("critical")},
			"attempt":  {DataType: aws.String("Number"), StringValue: aws.String("2")},
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	m := <-received
	if m.MessageID != aws.ToString(out.MessageId) || m.TopicARN != topic || m.Subject != "Failover started" || m.Message != `{"incident":"i-1"}` {
		t.Errorf("received %+v, want id %s on %s with subject and message as sent", m, aws.ToString(out.MessageId), topic)
	}
	if a := m.Attributes["severity"]; a.DataType != "String" || a.StringValue != "critical" {
		t.Errorf("severity attribute = %+v, want String critical", a)
	}
	if a := m.Attributes["attempt"]; a.DataType != "Number" || a.StringValue != "2" {
		t.Errorf("attempt attribute = %+v, want Number 2", a)
	}
	if got := s.SNSMessages(); len(got) != 1 {
		t.Errorf("SNSMessages = %d, want 1", len(got))
	}
}

func TestPublishErrors(t *testing.T) {
	s := start(t, localcloud.Options{})
	topic := s.TopicARN(west, "failover-events")
	s.AddTopic(topic)
	tests := []struct {
		name, region, topic, message string
		check                        func(error) bool
	}{
		{"unknown topic", west, s.TopicARN(west, "nope"), "m", func(err error) bool { var e *snstypes.NotFoundException; return errors.As(err, &e) }},
		{"topic of another region", east, topic, "m", func(err error) bool { var e *snstypes.InvalidParameterException; return errors.As(err, &e) }},
		{"empty message", west, topic, "", func(err error) bool { var e *snstypes.InvalidParameterException; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sns.NewFromConfig(s.Config(tt.region), func(o *sns.Options) { o.RetryMaxAttempts = 1 })
			_, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(tt.topic), Message: aws.String(tt.message)})
			if !tt.check(err) {
				t.Errorf("error = %T %v, want the typed SNS error", err, err)
			}
		})
	}
	if got := s.SNSMessages(); len(got) != 0 {
		t.Errorf("refused publishes recorded %d messages, want 0", len(got))
	}
}

func TestPublishTargetArn(t *testing.T) {
	s := start(t, localcloud.Options{})
	topic := s.TopicARN(west, "failover-events")
	s.AddTopic(topic)
	c := sns.NewFromConfig(s.Config(west), func(o *sns.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.Publish(ctx(t), &sns.PublishInput{TargetArn: aws.String(topic), Message: aws.String("m")}); err != nil {
		t.Fatalf("Publish with TargetArn: %v", err)
	}
	if got := s.SNSMessages(); len(got) != 1 || got[0].TopicARN != topic {
		t.Errorf("messages %+v, want one on %s", got, topic)
	}
	var nf *snstypes.NotFoundException
	if _, err := c.Publish(ctx(t), &sns.PublishInput{TargetArn: aws.String(s.TopicARN(west, "nope")), Message: aws.String("m")}); !errors.As(err, &nf) {
		t.Errorf("TargetArn of an unknown topic: %v, want NotFoundException", err)
	}
	var bad *snstypes.InvalidParameterException
	if _, err := c.Publish(ctx(t), &sns.PublishInput{TopicArn: aws.String(topic), TargetArn: aws.String(topic), Message: aws.String("m")}); !errors.As(err, &bad) {
		t.Errorf("both TopicArn and TargetArn: %v, want InvalidParameterException", err)
	}
}
