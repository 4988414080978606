package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

var (
	east = localcloud.ClusterARN("us-east-1", localcloud.DefaultAccount, "todo-east")
	west = localcloud.ClusterARN("us-west-2", localcloud.DefaultAccount, "todo-west")
)

// The CLI against localcloud through the real SDK clients. The state machine's executions are run
// by a function that returns what the real machine's output looks like (the report with phases),
// or fails as it would: the CLI's job is to start, follow and present them.
func setup(t *testing.T, fail bool) (*localcloud.Server, *localcloud.MemoryGlobalDatabase, config.Lookup) {
	t.Helper()
	cloud, err := localcloud.Start(localcloud.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cloud.Close() })
	db := localcloud.NewMemoryGlobalDatabase(east, west)
	db.SetReplicationLag(west, 1200*time.Millisecond)
	cloud.AddGlobalCluster("todo-global", db)
	b, err := os.ReadFile("../../internal/failover/awsadapter/testdata/distribution.xml")
	if err != nil {
		t.Fatal(err)
	}
	if err := cloud.AddDistribution("EDIST", b); err != nil {
		t.Fatal(err)
	}
	sm := cloud.StateMachineARN("us-west-2", "switchyard-failover")
	cloud.AddStateMachine(sm, func(ctx context.Context, _, arn, input string) (string, error) {
		time.Sleep(50 * time.Millisecond)
		if fail {
			return "", &localcloud.ExecutionFailure{Name: "PromotionTimeoutError", Cause: "promotion did not complete within 15m0s"}
		}
		var run failover.Run
		_ = json.Unmarshal([]byte(input), &run)
		start := time.Now().Add(-time.Second)
		run.Decision = &failover.Decision{Action: failover.ActionSwitchover, Reason: "the writer answers", EstimatedDataLossMs: 0}
		run.Phases = []failover.Phase{{Name: "preflight", StartedAt: start, DurationMs: 40}, {Name: "promote", StartedAt: start.Add(40 * time.Millisecond), DurationMs: 60}}
		rep := failover.BuildReport(run, start.Add(time.Second))
		out, _ := json.Marshal(struct {
			failover.Run
			Report failover.Report `json:"report"`
		}{run, rep})
		return string(out), nil
	})
	t.Setenv("AWS_ENDPOINT_URL", cloud.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	env := map[string]string{"SWITCHYARD_REGION": "us-west-2", "GLOBAL_CLUSTER_ID": "todo-global", "LOCAL_CLUSTER_ARN": west,
		"STATE_MACHINE_ARN": sm, "DISTRIBUTION_ID": "EDIST"}
	return cloud, db, func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func runCLI(t *testing.T, getenv config.Lookup, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := run(ctx, args, getenv, &out)
	return out.String(), err
}

func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestStatusAndSwitchover(t *testing.T) {
	_, _, getenv := setup(t, false)
	out, err := runCLI(t, getenv, "status")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "writer          "+east, "replication lag 1.2s (this region)", "traffic         east-api (cloudfront, lease epoch 0)", "last execution  none", west+"  reader  connected  (this region)")

	out, err = runCLI(t, getenv, "switchover", "-reason", "planned test", "-poll", "20ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out, "started switchover-us-west-2-", "SUCCEEDED", "decision        switchover: the writer answers (estimated data loss 0 ms)",
		"  preflight        40 ms", "  promote          60 ms", "outcome         activated")

	out, err = runCLI(t, getenv, "status")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "last execution  switchover-us-west-2-", "  promote          60 ms")
}

// TestStatusShowsInconsistency: traffic left on a region that does not write (an activation
// interrupted after the promotion), said in plain words.
func TestStatusShowsInconsistency(t *testing.T) {
	_, db, getenv := setup(t, false)
	out, err := runCLI(t, getenv, "status", "-origin", "west-api")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "consistent      one writer, traffic on it")
	if err := db.Switchover(context.Background(), west); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, getenv, "status", "-origin", "west-api")
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, out, "writer          "+west, "INCONSISTENT    this region writes but receives no traffic", "switchyard reconcile")
}

func TestReconcileStartsAReconcileRun(t *testing.T) {
	_, _, getenv := setup(t, false)
	out, err := runCLI(t, getenv, "reconcile", "-reason", "traffic left on us-east-1", "-poll", "20ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	wantLines(t, out, "started reconcile-us-west-2-", "SUCCEEDED")
}

func TestFailedExecution(t *testing.T) {
	_, _, getenv := setup(t, true)
	out, err := runCLI(t, getenv, "failover", "-reason", "east is down", "-acknowledge-data-loss", "-poll", "20ms")
	if err == nil || !strings.Contains(err.Error(), "execution failed") {
		t.Fatalf("got %v, want the failed execution reported as an error", err)
	}
	wantLines(t, out, "FAILED", "error           PromotionTimeoutError: promotion did not complete within 15m0s")
}

func TestUsageErrors(t *testing.T) {
	_, _, getenv := setup(t, false)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "usage: switchyard"},
		{[]string{"promote"}, `unknown command "promote"`},
		{[]string{"switchover"}, "-reason is required"},
		{[]string{"failover", "-reason", "east is down"}, "add -acknowledge-data-loss"},
		{[]string{"status", "-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"status", "-state-machine", ""}, "set [-state-machine]"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := runCLI(t, getenv, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
