package localcloud_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

const (
	east = "us-east-1"
	west = "us-west-2"
)

func start(t *testing.T, opts localcloud.Options) *localcloud.Server {
	t.Helper()
	s, err := localcloud.Start(opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond every few milliseconds until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// instantRetries is the SDK's standard retryer (the default: same retryable-error rules, three
// attempts) without the backoff sleep, so retry tests stay fast. TestThrottledCallIsRetried
// covers the untouched default.
func instantRetries() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
	})
}
