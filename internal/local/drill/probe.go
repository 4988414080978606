package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// startProbers starts each region's detector: it probes the peer region's /health and, after
// ProbeFailures consecutive failures, publishes the CloudWatch alarm notification to its own
// region's alarm topic, as the alarm on the prober's metric would through SNS. One notification
// per failure streak: the alarm stays in ALARM until the peer answers again.
func (e *Env) startProbers() {
	// Aurora publishes the secondary's lag continuously; sampling keeps the last value known when
	// the primary goes silent.
	e.goTask(func(ctx context.Context) {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			for _, r := range []*Region{e.A, e.B} {
				e.GDB.ReplicationLag(ctx, r.ClusterARN) //nolint:errcheck // sampling only; a failure keeps the last value
			}
		}
	})
	for _, pr := range [][2]*Region{{e.A, e.B}, {e.B, e.A}} {
		self, peer := pr[0], pr[1]
		client := sns.NewFromConfig(e.Cloud.Config(self.AWSRegion))
		e.goTask(func(ctx context.Context) {
			failures := 0
			tick := time.NewTicker(e.opts.ProbeInterval)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				_, err := getHealth(ctx, peer.apiURL(), 2*e.opts.ProbeInterval)
				if err == nil {
					failures = 0
					continue
				}
				if failures++; failures != e.opts.ProbeFailures {
					continue
				}
				e.mu.Lock()
				e.alarms = append(e.alarms, alarmEvent{At: time.Now(), Region: self.Name})
				e.mu.Unlock()
				e.progress("%s's prober: %s failed %d probes in a row (%v): alarm %s → ALARM", self.Name, peer.Name, failures, err, self.Alarm)
				if err := e.publishAlarm(ctx, client, self, fmt.Sprintf("%d consecutive /health probes of %s failed: %v", failures, peer.Name, err)); err != nil {
					e.progress("%s's prober could not publish the alarm: %v", self.Name, err)
				}
			}
		})
	}
}

func (e *Env) publishAlarm(ctx context.Context, client *sns.Client, r *Region, reason string) error {
	now := time.Now().UTC()
	msg, _ := json.Marshal(map[string]any{
		"AlarmName": r.Alarm, "AlarmDescription": "peer region unhealthy", "AWSAccountId": "123456789012",
		"NewStateValue": "ALARM", "OldStateValue": "OK", "NewStateReason": reason,
		"StateChangeTime": now.Format("2006-01-02T15:04:05.000+0000"), "Region": r.AWSRegion,
		"AlarmArn": fmt.Sprintf("arn:aws:cloudwatch:%s:123456789012:alarm:%s", r.AWSRegion, r.Alarm),
	})
	_, err := client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(r.Topic), Subject: aws.String(`ALARM: "` + r.Alarm + `" in ` + r.AWSRegion), Message: aws.String(string(msg)),
	})
	return err
}
