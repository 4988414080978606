package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeSeeded(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "seed.json")
	os.WriteFile(seed, []byte(`{
	  "topics": ["arn:aws:sns:us-east-1:123456789012:alarms"],
	  "secrets": [{"region": "us-west-2", "name": "canary", "value": "s3cr3t"}],
	  "hostedZones": [{"id": "ZLOCAL", "name": "example.com"}],
	  "globalClusters": [{"id": "g", "writer": "arn:aws:rds:us-east-1:123456789012:cluster:a",
	                      "secondaries": ["arn:aws:rds:us-west-2:123456789012:cluster:b"]}]}`), 0o600)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var stdout, stderr bytes.Buffer
	go func() {
		done <- run(ctx, []string{"-addr", addr, "-seed", seed, "-topic", "arn:aws:sns:us-west-2:123456789012:more"}, &stdout, &stderr)
	}()
	cfg := func(region string) aws.Config {
		return aws.Config{Region: region, BaseEndpoint: aws.String("http://" + addr), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("localcloud did not listen on %s: %v\n%s", addr, err, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, topic := range []string{"arn:aws:sns:us-east-1:123456789012:alarms", "arn:aws:sns:us-west-2:123456789012:more"} {
		region := strings.Split(topic, ":")[3]
		if _, err := sns.NewFromConfig(cfg(region)).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("m")}); err != nil {
			t.Errorf("Publish to seeded %s: %v", topic, err)
		}
	}
	if out, err := secretsmanager.NewFromConfig(cfg("us-west-2")).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("canary")}); err != nil || aws.ToString(out.SecretString) != "s3cr3t" {
		t.Errorf("GetSecretValue(canary) = %v, %v", out, err)
	}
	if out, err := rds.NewFromConfig(cfg("us-east-1")).DescribeGlobalClusters(ctx, &rds.DescribeGlobalClustersInput{GlobalClusterIdentifier: aws.String("g")}); err != nil || len(out.GlobalClusters) != 1 {
		t.Errorf("DescribeGlobalClusters(g) = %v, %v", out, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if !strings.Contains(stdout.String(), "localcloud listening on http://"+addr) {
		t.Errorf("stdout %q does not say where it listens", stdout.String())
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	dup := filepath.Join(dir, "dup.json")
	os.WriteFile(dup, []byte(`{"topics": [], "topics": ["arn:aws:sns:us-east-1:1:t"]}`), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "0.0.0.0:4566"}, "loopback"},
		{[]string{"-addr", freeAddr(t), "-seed", dup}, `"topics" twice`},
		{[]string{"-addr", freeAddr(t), "-topic", "alarms"}, "not an SNS topic ARN"},
		{[]string{"-alarm-speedup", "0.5"}, "want 1 or more"},
		{[]string{"-seed", filepath.Join(dir, "missing.json")}, "no such file"},
	} {
		err := run(context.Background(), tt.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%v) = %v, want an error about %q", tt.args, err, tt.want)
		}
	}
}
