package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
)

// kv builds an environment from NAME=value pairs.
func kv(pairs ...string) config.Lookup {
	m := map[string]string{}
	for _, s := range pairs {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return env(m)
}

func TestEnvRoundTrip(t *testing.T) {
	d := config.OrchestratorDefaults()
	d.Region, d.GlobalClusterID, d.LocalClusterARN = "us-west-2", "todo-global", "arn:aws:rds:us-west-2:111122223333:cluster:todo-west"
	d.PeerAPIURL, d.LocalAPIURL, d.PublicURL = "http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"
	d.AllowDataLoss, d.MaxLag, d.PromotionTimeout = true, 5*time.Second, 2*time.Second
	d.ProbeInterval = 3 * time.Second // not the default: Env must carry it
	d.TrafficMode, d.HostedZoneID, d.RecordName, d.LocalRecordValue = "route53", "Z1", "origin.example.com", "west.example.com"
	d.TopicARN, d.StateMachineARN = "arn:aws:sns:us-west-2:111122223333:t", "arn:aws:states:us-west-2:111122223333:stateMachine:f"
	d.AlarmNames = []string{"a", "b"}
	d.CanaryTokenURL, d.CanaryClientSecretARN, d.CanaryScope = "https://auth.example.com/oauth2/token", "arn:aws:secretsmanager:us-west-2:111122223333:secret:canary", "todos/write"
	got, err := config.LoadOrchestrator(env(d.Env()), append(append(config.TriggerVars, config.TrafficVars...), config.ProberVars...))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, d) {
		t.Errorf("got %+v\nwant %+v", got, d)
	}
	if got.LocalTarget() != "west.example.com" {
		t.Errorf("local target: got %q, want the record value", got.LocalTarget())
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name     string
		env      config.Lookup
		required []string
		want     []string
	}{
		{"nothing set", kv(), config.TriggerVars, []string{"SWITCHYARD_REGION (or AWS_REGION) is not set", "STATE_MACHINE_ARN is not set", "ALARM_NAMES is not set"}},
		{"bad duration", kv("AWS_REGION=us-west-2", "TOPIC_ARN=t", "COOLDOWN=soon"), config.NotifyVars, []string{`COOLDOWN="soon": want a non-negative Go duration`}},
		{"bad bool", kv("AWS_REGION=us-west-2", "TOPIC_ARN=t", "ALLOW_DATA_LOSS=maybe"), config.NotifyVars, []string{`ALLOW_DATA_LOSS="maybe": want true or false`}},
		{"bad URL", kv("AWS_REGION=us-west-2", "LOCAL_API_URL=localhost:3000", "PUBLIC_URL=http://127.0.0.1:1"), config.VerifyVars, []string{`LOCAL_API_URL="localhost:3000": want an http(s) base URL`}},
		{"cluster id instead of ARN", kv("AWS_REGION=us-west-2", "GLOBAL_CLUSTER_ID=g", "LOCAL_CLUSTER_ARN=todo-west"), config.PromoteVars, []string{`LOCAL_CLUSTER_ARN="todo-west": want the cluster's ARN`}},
		{"cloudfront without distribution", kv("AWS_REGION=us-west-2", "GLOBAL_CLUSTER_ID=g", "LOCAL_CLUSTER_ARN=arn:x"), config.TrafficVars, []string{"DISTRIBUTION_ID is not set (needed with TRAFFIC_MODE=cloudfront)", "LOCAL_ORIGIN_ID is not set"}},
		{"route53 without record", kv("AWS_REGION=us-west-2", "GLOBAL_CLUSTER_ID=g", "LOCAL_CLUSTER_ARN=arn:x", "TRAFFIC_MODE=route53"), config.TrafficVars, []string{"HOSTED_ZONE_ID is not set (needed with TRAFFIC_MODE=route53)", "RECORD_NAME is not set", "LOCAL_RECORD_VALUE is not set"}},
		{"unknown traffic mode", kv("AWS_REGION=us-west-2", "GLOBAL_CLUSTER_ID=g", "LOCAL_CLUSTER_ARN=arn:x", "TRAFFIC_MODE=dns"), config.TrafficVars, []string{`TRAFFIC_MODE="dns": want cloudfront or route53`}},
		{"probes longer than the schedule", kv("AWS_REGION=us-west-2", "PEER_API_URL=http://a", "LOCAL_API_URL=http://b", "PUBLIC_URL=http://c", "PROBE_SAMPLES=7"), config.ProberVars, []string{"keep it under 60s"}},
		{"canary token without its client", kv("AWS_REGION=us-west-2", "LOCAL_API_URL=http://b", "PUBLIC_URL=http://c", "CANARY_TOKEN_URL=https://auth.example.com/token"), config.VerifyVars, []string{"CANARY_TOKEN_URL and CANARY_CLIENT_SECRET_ARN go together"}},
		{"probe samples out of range", kv("AWS_REGION=us-west-2", "PEER_API_URL=http://a", "LOCAL_API_URL=http://b", "PUBLIC_URL=http://c", "PROBE_SAMPLES=0"), config.ProberVars, []string{`PROBE_SAMPLES="0": want a number from 1 to 30`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.LoadOrchestrator(tt.env, tt.required)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestRegionFallsBackToAWSRegion(t *testing.T) {
	d, err := config.LoadOrchestrator(kv("AWS_REGION=eu-west-1", "TOPIC_ARN=t"), config.NotifyVars)
	if err != nil || d.Region != "eu-west-1" {
		t.Errorf("got %q, %v; want eu-west-1", d.Region, err)
	}
	d, err = config.LoadOrchestrator(kv("AWS_REGION=eu-west-1", "SWITCHYARD_REGION=eu-central-1", "TOPIC_ARN=t"), config.NotifyVars)
	if err != nil || d.Region != "eu-central-1" {
		t.Errorf("got %q, %v; want SWITCHYARD_REGION to win", d.Region, err)
	}
}
