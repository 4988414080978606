package sfnlocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// Convergence through the real state machine, the real binaries and localcloud: whatever state an
// interrupted run left, the next run ends with one writer, all traffic on it, verified, and exactly
// one notice.

// invokeStep runs one function binary of region directly, as a Step Functions runner that died
// after that step would have left things.
func (d *drill) invokeStep(t *testing.T, region, fn string, in []byte) ([]byte, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := d.regions[region].host.Invoke(ctx, fn, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil {
		return res.Payload, res.FunctionError.Type + ": " + res.FunctionError.Message
	}
	return res.Payload, ""
}

// writer is the region whose cluster the emulated global database reports as the writer.
func (d *drill) writer(t *testing.T) string {
	t.Helper()
	topo, err := d.db.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range topo.Members {
		for name, r := range d.regions {
			if m.Writer && m.ARN == r.cluster {
				return name
			}
		}
	}
	return ""
}

func (d *drill) alarm(t *testing.T, region, alarmName string, changedAt time.Time) failover.TriggerResult {
	t.Helper()
	b, err := os.ReadFile("../../../events/failover-trigger/sns-alarm.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "111122223333", localcloud.DefaultAccount)
	s = strings.ReplaceAll(s, "switchyard-peer-writer-unhealthy", alarmName)
	s = strings.ReplaceAll(s, "us-west-2", region)
	s = strings.Replace(s, "2026-11-21T05:40:12.345+0000", changedAt.UTC().Format("2006-01-02T15:04:05.000-0700"), 1)
	out, fnErr := d.invokeStep(t, region, "failover-trigger", []byte(s))
	if fnErr != "" {
		t.Fatalf("trigger: %s", fnErr)
	}
	var tr failover.TriggerResult
	if err := json.Unmarshal(out, &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (d *drill) noticesSince(n int) []failover.Report {
	d.mu.Lock()
	defer d.mu.Unlock()
	var reps []failover.Report
	for _, m := range d.notices[n:] {
		var r failover.Report
		_ = json.Unmarshal([]byte(m.Message), &r)
		reps = append(reps, r)
	}
	return reps
}

func (d *drill) noticeCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.notices)
}

// TestLocalRunnerKilledAfterPromote: the runner died after Promote asked for the switchover (or
// during Await): the promotion completes on its own, traffic stays on the old region, which no
// longer writes. The next alarm's run finds this region already writing and must still move traffic
// and verify, instead of answering "already writes: nothing to do".
func TestLocalRunnerKilledAfterPromote(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	run := failover.Run{Region: "us-west-2", Mode: failover.ModeSwitchover, Reason: "manual: interrupted", Incident: "switchover-interrupted",
		DetectedAt: time.Now().UTC()}
	in, _ := json.Marshal(run)
	out, fnErr := d.invokeStep(t, "us-west-2", "failover-preflight", in)
	if fnErr != "" {
		t.Fatal(fnErr)
	}
	if _, fnErr = d.invokeStep(t, "us-west-2", "failover-promote", out); fnErr != "" {
		t.Fatal(fnErr)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.writer(t) != "us-west-2" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if d.writer(t) != "us-west-2" || d.serving.Load() != "us-east-1" {
		t.Fatalf("setup: writer %s, serving %s; want us-west-2 writing with traffic left on us-east-1", d.writer(t), d.serving.Load())
	}

	seen := d.noticeCount()
	tr := d.alarm(t, "us-west-2", "switchyard-peer-writer-unhealthy", time.Now())
	if !tr.Started {
		t.Fatalf("trigger: got %+v, want an execution started although us-west-2 already writes", tr)
	}
	assertConverged(t, d, tr.ExecutionARN, seen, "us-west-2", failover.OutcomeReconciled)
}

// TestLocalRunnerKilledDuringPromotion: the runner died while the switchover was still under way.
// A new run must follow the promotion in progress (not be refused because a FailoverState exists),
// then move traffic and verify.
func TestLocalRunnerKilledDuringPromotion(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPending: 5 * time.Millisecond, FailoverPromote: 5 * time.Second, CloudFrontPropagation: 20 * time.Millisecond},
		"PROMOTION_TIMEOUT=30s")
	run := failover.Run{Region: "us-west-2", Mode: failover.ModeSwitchover, Reason: "manual: interrupted", Incident: "switchover-interrupted",
		DetectedAt: time.Now().UTC()}
	in, _ := json.Marshal(run)
	out, fnErr := d.invokeStep(t, "us-west-2", "failover-preflight", in)
	if fnErr != "" {
		t.Fatal(fnErr)
	}
	if _, fnErr = d.invokeStep(t, "us-west-2", "failover-promote", out); fnErr != "" {
		t.Fatal(fnErr)
	}
	// While the promotion runs, a fresh preflight follows it instead of refusing.
	fresh, _ := json.Marshal(failover.Run{Region: "us-west-2", Mode: failover.ModeAuto, Reason: "alarm", Incident: "probe", DetectedAt: time.Now().UTC()})
	out, fnErr = d.invokeStep(t, "us-west-2", "failover-preflight", fresh)
	var pre failover.Run
	if err := json.Unmarshal(out, &pre); fnErr != "" || err != nil || pre.Decision == nil || pre.Decision.Action != failover.ActionFollow {
		t.Fatalf("preflight during the promotion: got %s %s, want decision follow", out, fnErr)
	}
	seen := d.noticeCount()
	tr := d.alarm(t, "us-west-2", "switchyard-peer-writer-unhealthy", time.Now())
	if !tr.Started {
		t.Fatalf("trigger: got %+v, want an execution started", tr)
	}
	// On a loaded machine the promotion may finish before the execution's first step: then the run
	// finds this region writing and only moves traffic. Either way it converges.
	rep := assertConverged(t, d, tr.ExecutionARN, seen, "us-west-2", "")
	if rep.Outcome != failover.OutcomeActivated && rep.Outcome != failover.OutcomeReconciled {
		t.Errorf("outcome: got %s, want activated or reconciled", rep.Outcome)
	}
	if got := d.cloud.Calls("rds:SwitchoverGlobalCluster"); got != 1 {
		t.Errorf("switchovers asked: got %d, want the interrupted run's one only", got)
	}
}

// TestLocalWatchdogAlarmReconciles: the watchdog's alarm in the region that writes starts a
// reconcile run within the cooldown of the activation that left traffic behind.
func TestLocalWatchdogAlarmReconciles(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	if err := d.db.Switchover(context.Background(), d.regions["us-west-2"].cluster); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.writer(t) != "us-west-2" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	seen := d.noticeCount()
	tr := d.alarm(t, "us-west-2", "switchyard-writer-inconsistent", time.Now())
	if !tr.Started || !strings.HasPrefix(tr.ExecutionName, "reconcile-us-west-2-") {
		t.Fatalf("trigger: got %+v, want a reconcile execution", tr)
	}
	assertConverged(t, d, tr.ExecutionARN, seen, "us-west-2", failover.OutcomeReconciled)

	// In the region that does not write, a reconcile never promotes: refused and reported.
	seen = d.noticeCount()
	tr = d.alarm(t, "us-east-1", "switchyard-writer-inconsistent", time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if status, err := d.cloud.WaitExecution(ctx, tr.ExecutionARN); err != nil || status != localcloud.ExecutionFailed {
		t.Errorf("reconcile in us-east-1: got %s, %v; want FAILED (refused)", status, err)
	}
	if d.writer(t) != "us-west-2" || d.cloud.Calls("rds:SwitchoverGlobalCluster")+d.cloud.Calls("rds:FailoverGlobalCluster") != 0 {
		t.Errorf("reconcile in a reader region promoted: writer %s", d.writer(t))
	}
}

// TestLocalSecondAlarmJoinsRunningExecution: a new ALARM transition after the cooldown while the
// first execution still runs joins it: exactly one execution and one success notice, no false
// failure notice.
func TestLocalSecondAlarmJoinsRunningExecution(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPending: 5 * time.Millisecond, FailoverPromote: 4 * time.Second, CloudFrontPropagation: 20 * time.Millisecond},
		"COOLDOWN=1s", "PROMOTION_TIMEOUT=30s")
	seen := d.noticeCount()
	first := d.alarm(t, "us-west-2", "switchyard-peer-writer-unhealthy", time.Now())
	if !first.Started {
		t.Fatalf("first alarm: got %+v, want started", first)
	}
	time.Sleep(1100 * time.Millisecond) // past the cooldown, into the next incident window
	second := d.alarm(t, "us-west-2", "switchyard-peer-writer-unhealthy", time.Now())
	if second.Started || !second.Joined || second.ExecutionARN != first.ExecutionARN {
		t.Fatalf("second alarm: got %+v, want it to join %s", second, first.ExecutionARN)
	}
	assertConverged(t, d, first.ExecutionARN, seen, "us-west-2", failover.OutcomeActivated)
}

// TestLocalForgedPromoteInputRefused: issue 17 item 2 through the real binary. Under
// ALLOW_DATA_LOSS=false, promote invoked directly with a failover decision preflight never made
// must refuse and call nothing.
func TestLocalForgedPromoteInputRefused(t *testing.T) {
	d := newDrill(t, localcloud.Timing{}, "ALLOW_DATA_LOSS=false")
	d.cloud.SetRegionDown("us-east-1", true)
	d.regions["us-east-1"].down.Store(true)
	forged := `{"region":"us-west-2","mode":"auto","reason":"alarm","incident":"forged","phases":[],"decision":{"action":"failover"}}`
	_, fnErr := d.invokeStep(t, "us-west-2", "failover-promote", []byte(forged))
	if !strings.HasPrefix(fnErr, "RefusedError: ") || !strings.Contains(fnErr, "ALLOW_DATA_LOSS") {
		t.Errorf("got %q, want RefusedError naming ALLOW_DATA_LOSS", fnErr)
	}
	if n := d.cloud.Calls("rds:FailoverGlobalCluster") + d.cloud.Calls("rds:SwitchoverGlobalCluster"); n != 0 {
		t.Errorf("promotion calls: got %d, want none", n)
	}
}

// assertConverged waits for the execution and checks the end state: SUCCEEDED, region writes, the
// public endpoint serves it, and exactly one notice since seen, with outcome want ("" for any).
func assertConverged(t *testing.T, d *drill, executionARN string, seen int, region string, want failover.Outcome) failover.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	status, err := d.cloud.WaitExecution(ctx, executionARN)
	if err != nil {
		t.Fatal(err)
	}
	notices := d.noticesSince(seen)
	if status != localcloud.ExecutionSucceeded || d.writer(t) != region || d.serving.Load() != region || len(notices) != 1 {
		t.Fatalf("got status %s, writer %s, serving %s, %d notices (%+v); want SUCCEEDED, %s writing and serving, one notice",
			status, d.writer(t), d.serving.Load(), len(notices), notices, region)
	}
	if want != "" && notices[0].Outcome != want {
		t.Errorf("outcome: got %s, want %s", notices[0].Outcome, want)
	}
	return notices[0]
}

// TestLocalFailedRunIsRedriven: a run that failed (its canary writes broke until after its
// retries) is re-driven by the trigger on the execution's status-change event, through the state
// machine's backoff wait, and the new run converges and verifies.
func TestLocalFailedRunIsRedriven(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	west := d.regions["us-west-2"]
	west.brokenWrites.Store(true)
	_, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "broken canary")
	if status != localcloud.ExecutionFailed || rep.Error == nil || rep.Error.Error != "VerificationError" {
		t.Fatalf("first run: got %s, %+v; want FAILED with VerificationError", status, rep.Error)
	}
	west.brokenWrites.Store(false)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := sfn.NewFromConfig(d.cloud.Config("us-west-2"))
	list, err := client.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &west.machineARN})
	if err != nil || len(list.Executions) != 1 {
		t.Fatalf("executions: %v, %v", list, err)
	}
	failed, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: list.Executions[0].ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	// The event EventBridge delivers for the failed execution.
	event, _ := json.Marshal(map[string]any{
		"version": "0", "id": "0d9fd8e5-0000-4000-8000-000000000001", "detail-type": "Step Functions Execution Status Change",
		"source": "aws.states", "account": localcloud.DefaultAccount, "region": "us-west-2", "time": time.Now().UTC().Format(time.RFC3339),
		"resources": []string{*failed.ExecutionArn},
		"detail": map[string]any{"executionArn": *failed.ExecutionArn, "stateMachineArn": west.machineARN, "name": *failed.Name,
			"status": string(failed.Status), "input": *failed.Input, "error": failed.Error, "cause": failed.Cause},
	})
	seen := d.noticeCount()
	out, fnErr := d.invokeStep(t, "us-west-2", "failover-trigger", event)
	var tr failover.TriggerResult
	if err := json.Unmarshal(out, &tr); fnErr != "" || err != nil || !tr.Started || !strings.HasSuffix(tr.ExecutionName, "-redrive-1") {
		t.Fatalf("trigger on the failed execution: got %s %s, want a re-drive started", out, fnErr)
	}
	assertConverged(t, d, tr.ExecutionARN, seen, "us-west-2", "")
}

// TestLocalRacingActivationsConverge: a switchover to us-west-2 and, 1.5 s later, one back to
// us-east-1, with every traffic update taking 1.5 s. Whatever order the delayed updates land in,
// the end state is one writer with all traffic on it, its run succeeded, and the last success
// notice names it.
func TestLocalRacingActivationsConverge(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPending: 5 * time.Millisecond, FailoverPromote: 300 * time.Millisecond, CloudFrontPropagation: 20 * time.Millisecond})
	d.cloud.DelayCalls("cloudfront:UpdateDistribution", 1500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := func(region string) failover.TriggerResult {
		payload, _ := json.Marshal(failover.ManualRequest{Action: failover.ModeSwitchover, Reason: "race to " + region})
		out, fnErr := d.invokeStep(t, region, "failover-trigger", payload)
		var tr failover.TriggerResult
		if err := json.Unmarshal(out, &tr); fnErr != "" || err != nil || !tr.Started {
			t.Fatalf("trigger in %s: %s %s", region, out, fnErr)
		}
		return tr
	}
	west := start("us-west-2")
	time.Sleep(1500 * time.Millisecond)
	east := start("us-east-1")
	statuses := map[string]string{}
	for region, tr := range map[string]failover.TriggerResult{"us-west-2": west, "us-east-1": east} {
		status, err := d.cloud.WaitExecution(ctx, tr.ExecutionARN)
		if err != nil {
			t.Fatal(err)
		}
		statuses[region] = status
	}
	writer := d.writer(t)
	if writer == "" || d.serving.Load() != writer {
		t.Fatalf("end state: writer %q, traffic on %s (runs: %v); want traffic on the one writer", writer, d.serving.Load(), statuses)
	}
	if statuses[writer] != localcloud.ExecutionSucceeded {
		t.Errorf("the writer's run: %s, want SUCCEEDED (runs: %v)", statuses[writer], statuses)
	}
	// Both requests may succeed in turn (west activated, then east took over as asked): the last
	// success reported must be the region that writes and serves now.
	last := ""
	for _, n := range d.noticesSince(0) {
		if n.Outcome == failover.OutcomeActivated || n.Outcome == failover.OutcomeReconciled {
			last = n.Region
		}
	}
	if last != writer {
		t.Errorf("the last success notice is from %q, but %s writes and serves", last, writer)
	}
}

// TestLocalLambdaCrashInAwait kills the failover-await process while it waits on a slow
// DescribeGlobalClusters: the Lambda host reports Runtime.ExitError, and because every step but
// Notify is safe to repeat, the state machine retries it and the run converges with one notice.
func TestLocalLambdaCrashInAwait(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPending: 5 * time.Millisecond, FailoverPromote: 4 * time.Second, CloudFrontPropagation: 20 * time.Millisecond},
		"PROMOTION_TIMEOUT=60s")
	west := d.regions["us-west-2"]
	seen := d.noticeCount()
	payload, _ := json.Marshal(failover.ManualRequest{Action: failover.ModeSwitchover, Reason: "crash in await"})
	out, fnErr := d.invokeStep(t, "us-west-2", "failover-trigger", payload)
	var tr failover.TriggerResult
	if err := json.Unmarshal(out, &tr); fnErr != "" || err != nil || !tr.Started {
		t.Fatalf("trigger: %s %s", out, fnErr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for d.cloud.Calls("rds:SwitchoverGlobalCluster") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// Hold every describe 1 s so the await process is caught inside an invocation.
	d.cloud.DelayCalls("rds:DescribeGlobalClusters", time.Second)
	killed := 0
	for killed == 0 && time.Now().Before(deadline) {
		for _, pid := range west.host.PIDs() {
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if strings.Contains(string(cmd), "failover-await") {
				time.Sleep(300 * time.Millisecond) // inside the held describe
				if p, err := os.FindProcess(pid); err == nil && p.Kill() == nil {
					killed++
				}
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.cloud.DelayCalls("rds:DescribeGlobalClusters", 0)
	if killed == 0 {
		t.Fatal("no failover-await process to kill")
	}
	rep := assertConverged(t, d, tr.ExecutionARN, seen, "us-west-2", failover.OutcomeActivated)
	if got := phaseNames(rep); got != "preflight,promote,await,traffic,verify" {
		t.Errorf("phases: got %s", got)
	}
}
