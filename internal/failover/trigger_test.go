package failover_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/failover"
)

const alarm = "switchyard-peer-writer-unhealthy"

func fixture(t *testing.T, function, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", function, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const watchdogAlarm = "switchyard-inconsistent"

func newTrigger(ex *fakeExecutions, now time.Time) *failover.Trigger {
	return &failover.Trigger{Executions: ex, Region: "us-west-2", AccountID: "111122223333",
		AlarmNames: []string{alarm}, ReconcileAlarmNames: []string{watchdogAlarm}, Cooldown: 30 * time.Minute, Now: func() time.Time { return now }}
}

func invokeTrigger(t *testing.T, h *failover.Trigger, payload []byte) (failover.TriggerResult, error) {
	t.Helper()
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		return failover.TriggerResult{}, err
	}
	var res failover.TriggerResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return res, nil
}

func TestTriggerFixtures(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	tests := []struct {
		fixture   string
		started   bool
		name      string
		mode      failover.Mode
		wantError string
	}{
		{"sns-alarm.json", true, "activate-us-west-2-20261121T054012345Z", failover.ModeAuto, ""},
		{"eventbridge-alarm.json", true, "activate-us-west-2-20261121T054012345Z", failover.ModeAuto, ""},
		{"manual-switchover.json", true, failover.ManualName("us-west-2", failover.ModeSwitchover, now, "planned failback after the us-east-1 incident"), failover.ModeSwitchover, ""},
		{"manual-failover.json", true, failover.ManualName("us-west-2", failover.ModeFailover, now, "us-east-1 is down; AWS Health confirms"), failover.ModeFailover, ""},
		{"sns-ok.json", false, "", "", ""},
		{"sns-unknown-alarm.json", false, "", "", ""},
		{"eventbridge-insufficient-data.json", false, "", "", ""},
		{"malformed-sns-message-not-json.json", false, "", "", "Records[0].Sns.Message is not a CloudWatch alarm notification"},
		{"malformed-sns-no-records.json", false, "", "", "SNS event: no Records"},
		{"malformed-sns-not-sns-record.json", false, "", "", `not an SNS record (EventSource "aws:sqs")`},
		{"malformed-sns-bad-time.json", false, "", "", `state change time "yesterday" is not a timestamp`},
		{"malformed-sns-bad-state.json", false, "", "", `state "BROKEN": want ALARM, OK or INSUFFICIENT_DATA`},
		{"malformed-eventbridge-detail-type.json", false, "", "", `want "CloudWatch Alarm State Change" from "aws.cloudwatch"`},
		{"malformed-eventbridge-no-state.json", false, "", "", "detail.state is missing"},
		{"malformed-manual-action.json", false, "", "", `action "promote": want "switchover", "failover" or "reconcile"`},
		{"malformed-manual-no-reason.json", false, "", "", "reason is empty"},
		{"malformed-manual-unknown-field.json", false, "", "", `unknown field "force"`},
		{"malformed-unrecognised.json", false, "", "", "unrecognised input"},
		{"malformed-not-object.json", false, "", "", "not one strict JSON object"},
		{"malformed-manual-failover-no-acknowledgement.json", false, "", "", `add "acknowledgeDataLoss": true`},
		{"malformed-manual-duplicate-action.json", false, "", "", `key "action" twice`},
		{"malformed-eventbridge-duplicate-state.json", false, "", "", `key "value" twice`},
		{"malformed-sns-message-duplicate-state.json", false, "", "", `key "NewStateValue" twice`},
		{"forged-sns-alarm-other-account.json", false, "", "", ""},
		{"forged-sns-alarm-other-region.json", false, "", "", ""},
		{"forged-eventbridge-alarm-other-account.json", false, "", "", ""},
		{"forged-eventbridge-alarm-envelope-other-region.json", false, "", "", ""},
		// Our alarm's ARN in an event another account put on the bus.
		{"forged-eventbridge-alarm-envelope-other-account.json", false, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ex := &fakeExecutions{}
			h := newTrigger(ex, now)
			res, err := invokeTrigger(t, h, fixture(t, "failover-trigger", tt.fixture))
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("error: got %v, want one containing %q", err, tt.wantError)
				}
				if got := errorType(err); got != "InvalidInputError" {
					t.Errorf("error type: got %s, want InvalidInputError", got)
				}
				if len(ex.started) != 0 {
					t.Errorf("executions: got %d, want none", len(ex.started))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Started != tt.started || res.ExecutionName != tt.name {
				t.Fatalf("got started=%t name=%q (%s), want started=%t name=%q", res.Started, res.ExecutionName, res.Reason, tt.started, tt.name)
			}
			if !tt.started {
				if len(ex.started) != 0 || res.Reason == "" {
					t.Errorf("got %d executions and reason %q, want none and a reason", len(ex.started), res.Reason)
				}
				return
			}
			var run failover.Run
			if err := json.Unmarshal([]byte(ex.byName[tt.name]), &run); err != nil {
				t.Fatal(err)
			}
			if run.Region != "us-west-2" || run.Mode != tt.mode || run.Incident != tt.name {
				t.Errorf("input: got region %q mode %q incident %q, want us-west-2 %q %q", run.Region, run.Mode, run.Incident, tt.mode, tt.name)
			}
		})
	}
}

func TestTriggerOneExecutionPerIncident(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{}
	h := newTrigger(ex, now)
	sns := fixture(t, "failover-trigger", "sns-alarm.json")
	eb := fixture(t, "failover-trigger", "eventbridge-alarm.json")
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 10 {
		payload := sns
		if i%2 == 1 {
			payload = eb
		}
		wg.Go(func() {
			_, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("notification: %v", err)
		}
	}
	if len(ex.started) != 1 {
		t.Fatalf("executions: got %d, want exactly 1", len(ex.started))
	}

	// The same incident after its execution closed: ExecutionAlreadyExists, reported as handled.
	ex.closed = true
	res, err := invokeTrigger(t, h, sns)
	if err != nil || res.Started || !strings.Contains(res.Reason, "already handled") {
		t.Errorf("after close: got %+v, %v; want not started, already handled", res, err)
	}

	// The next window, within the cooldown of the first execution: nothing.
	h.Now = func() time.Time { return now.Add(20 * time.Minute) }
	later := strings.Replace(string(sns), "2026-11-21T05:40:12.345+0000", "2026-11-21T06:00:40.000+0000", 1)
	res, err = invokeTrigger(t, h, []byte(later))
	if err != nil || res.Started || !strings.Contains(res.Reason, "cooldown") {
		t.Errorf("within cooldown: got %+v, %v; want not started because of the cooldown", res, err)
	}
	if len(ex.started) != 1 {
		t.Errorf("executions: got %d, want still 1", len(ex.started))
	}
}

// "This region already writes" is no reason to do nothing: traffic may not follow it, and only the
// execution, which checks traffic and verifies, can tell and repair.
func TestTriggerStartsEvenWhenThisRegionWrites(t *testing.T) {
	for _, f := range []string{"sns-alarm.json", "manual-switchover.json"} {
		t.Run(f, func(t *testing.T) {
			ex := &fakeExecutions{}
			res, err := invokeTrigger(t, newTrigger(ex, time.Now()), fixture(t, "failover-trigger", f))
			if err != nil {
				t.Fatal(err)
			}
			if !res.Started || len(ex.started) != 1 {
				t.Errorf("got %+v and %d executions, want one started", res, len(ex.started))
			}
		})
	}
}

func TestTriggerManualRefusedWhileRunning(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{started: []failover.ExecutionSummary{{Name: "activate-us-west-2-20261121T054012345Z", Status: "RUNNING", StartedAt: now.Add(-time.Minute)}}}
	h := newTrigger(ex, now)
	res, err := invokeTrigger(t, h, fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Started || !strings.Contains(res.Reason, "still running") {
		t.Errorf("got %+v, want not started because an execution is running", res)
	}
}

// Six manual requests in under a second, each with its own reason, used to start six executions.
func TestTriggerManualHonoursTheCooldown(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{}
	for i := range 6 {
		h := newTrigger(ex, now.Add(time.Duration(i)*120*time.Millisecond))
		ex.Now = h.Now
		req := fmt.Sprintf(`{"action":"failover","reason":"attempt %d","acknowledgeDataLoss":true}`, i)
		if _, err := invokeTrigger(t, h, []byte(req)); err != nil {
			t.Fatal(err)
		}
		ex.closed = true // each run ends at once: only the cooldown can stop the next
	}
	if len(ex.started) != 1 {
		t.Fatalf("executions: got %d, want 1", len(ex.started))
	}
	res, err := invokeTrigger(t, newTrigger(ex, now.Add(5*time.Minute)), fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil || res.Started || !strings.Contains(res.Reason, "cooldown") {
		t.Errorf("switchover 5 minutes later: got %+v, %v; want refused by the cooldown", res, err)
	}
	res, err = invokeTrigger(t, newTrigger(ex, now.Add(31*time.Minute)), fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil || !res.Started {
		t.Errorf("switchover after the cooldown: got %+v, %v; want started", res, err)
	}
}

// A refused reconcile run (the watchdog fired in a region that does not write) is no activation:
// an operator's switchover right after it starts, where an activation's run would hold it.
func TestTriggerCooldownIgnoresReconcileRuns(t *testing.T) {
	now := time.Date(2026, 11, 30, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{closed: true, started: []failover.ExecutionSummary{
		{Name: failover.ReconcileName("us-west-2", now.Add(-time.Minute)), ARN: "arn:aws:states:us-west-2:123456789012:execution:failover:r", Status: "FAILED", StartedAt: now.Add(-time.Minute)}}}
	h := newTrigger(ex, now)
	ex.Now = h.Now
	res, err := invokeTrigger(t, h, fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil || !res.Started {
		t.Fatalf("switchover a minute after a refused reconcile run: got %+v, %v; want started", res, err)
	}
	ex.started = append(ex.started[:0], failover.ExecutionSummary{Name: "switchover-us-west-2-earlier", ARN: "arn:aws:states:us-west-2:123456789012:execution:failover:s",
		Status: "FAILED", StartedAt: now.Add(-time.Minute)})
	res, err = invokeTrigger(t, newTrigger(ex, now), fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil || res.Started || !strings.Contains(res.Reason, "cooldown") {
		t.Errorf("switchover a minute after an activation's run: got %+v, %v; want held by the cooldown", res, err)
	}
}

// The watchdog's alarm starts a reconcile run, which never promotes: right after an activation that
// left traffic behind, within the cooldown, it must still start.
func TestTriggerWatchdogAlarmReconciles(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{Now: func() time.Time { return now.Add(-2 * time.Minute) }}
	if _, err := invokeTrigger(t, newTrigger(ex, now.Add(-2*time.Minute)), fixture(t, "failover-trigger", "sns-alarm.json")); err != nil {
		t.Fatal(err)
	}
	ex.closed = true // the activation ended, traffic left behind
	ex.Now = nil
	watchdog := strings.ReplaceAll(string(fixture(t, "failover-trigger", "sns-alarm.json")), alarm, watchdogAlarm)
	res, err := invokeTrigger(t, newTrigger(ex, now), []byte(watchdog))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Started || !strings.HasPrefix(res.ExecutionName, "reconcile-us-west-2-") {
		t.Fatalf("got %+v, want a reconcile execution started within the cooldown", res)
	}
	var run failover.Run
	if err := json.Unmarshal([]byte(ex.byName[res.ExecutionName]), &run); err != nil {
		t.Fatal(err)
	}
	if run.Mode != failover.ModeReconcile {
		t.Errorf("mode: got %q, want reconcile", run.Mode)
	}
}

// A new ALARM transition after the cooldown while the first execution still runs joins that
// execution: a second one would be refused (a promotion is under way) and send a false failure
// notice during a successful failover.
func TestTriggerLaterAlarmJoinsTheRunningExecution(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{}
	first, err := invokeTrigger(t, newTrigger(ex, now), fixture(t, "failover-trigger", "sns-alarm.json"))
	if err != nil || !first.Started {
		t.Fatalf("first alarm: got %+v, %v; want started", first, err)
	}
	later := strings.Replace(string(fixture(t, "failover-trigger", "sns-alarm.json")), "2026-11-21T05:40:12.345+0000", "2026-11-21T06:15:00.000+0000", 1)
	res, err := invokeTrigger(t, newTrigger(ex, now.Add(35*time.Minute)), []byte(later))
	if err != nil {
		t.Fatal(err)
	}
	if res.Started || !res.Joined || res.ExecutionName != first.ExecutionName || res.ExecutionARN != first.ExecutionARN {
		t.Errorf("later alarm: got %+v, want it to join %s", res, first.ExecutionName)
	}
	if len(ex.started) != 1 {
		t.Errorf("executions: got %d, want 1", len(ex.started))
	}
}

func TestManualName(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	a := failover.ManualName("us-west-2", failover.ModeSwitchover, now, "failback")
	if !strings.HasPrefix(a, "switchover-us-west-2-20261121T054100Z-") || len(a) > 80 {
		t.Errorf("got %q, want switchover-us-west-2-20261121T054100Z-<hash>, at most 80 characters", a)
	}
	if b := failover.ManualName("us-west-2", failover.ModeSwitchover, now.Add(500*time.Millisecond), "failback"); b != a {
		t.Errorf("a repeat within the second: got %q, want the same name %q", b, a)
	}
	if c := failover.ManualName("us-west-2", failover.ModeSwitchover, now, "another reason"); c == a {
		t.Errorf("another reason: got the same name %q, want a different one", c)
	}
}

// An incident is the alarm episode: its transition's time to the millisecond, whatever zone the
// notification wrote it in. Two episodes a moment apart are two incidents (the second joins the
// first's execution or waits out the cooldown); there is no window whose edge splits or merges them.
func TestIncidentName(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 5, 40, 12, 345e6, time.UTC), "activate-us-west-2-20261121T054012345Z"},
		{time.Date(2026, 11, 21, 5, 40, 12, 346e6, time.UTC), "activate-us-west-2-20261121T054012346Z"},
		{time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC), "activate-us-west-2-20261121T060000000Z"},
		{time.Date(2026, 11, 21, 7, 0, 0, 0, time.FixedZone("CET", 3600)), "activate-us-west-2-20261121T060000000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			if got := failover.IncidentName("us-west-2", tt.at); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestTriggerRedrive: a failed or aborted execution (a runner killed mid-run, a step that exhausted
// its retries) is re-driven as a new execution for the same incident, after a doubling backoff,
// at most MaxRedrives times; refusals, other state machines and a running execution are not.
func TestTriggerRedrive(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 42, 0, 0, time.UTC)
	newRedriver := func(ex *fakeExecutions) *failover.Trigger {
		h := newTrigger(ex, now)
		h.StateMachineARN = "arn:aws:states:us-west-2:111122223333:stateMachine:switchyard-failover"
		h.MaxRedrives, h.RedriveBackoff = 3, 30*time.Second
		return h
	}
	tests := []struct {
		fixture   string
		started   bool
		name      string
		delay     int
		wantError string
	}{
		{"execution-aborted.json", true, "activate-us-west-2-20261121T054012345Z-redrive-1", 30, ""},
		{"execution-failed-verification.json", true, "activate-us-west-2-20261121T054012345Z-redrive-1", 30, ""},
		{"execution-failed-refused.json", false, "", 0, ""},
		{"execution-failed-last-attempt.json", false, "", 0, ""},
		{"forged-execution-other-state-machine.json", false, "", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ex := &fakeExecutions{}
			res, err := invokeTrigger(t, newRedriver(ex), fixture(t, "failover-trigger", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if res.Started != tt.started || len(ex.started) != map[bool]int{true: 1}[tt.started] {
				t.Fatalf("got %+v and %d executions, want started=%t", res, len(ex.started), tt.started)
			}
			if !tt.started {
				return
			}
			var run failover.Run
			if err := json.Unmarshal([]byte(ex.byName[tt.name]), &run); err != nil {
				t.Fatalf("execution %s: %v (have %v)", tt.name, err, ex.byName)
			}
			if run.Attempt != 1 || run.RetryDelaySeconds != tt.delay || run.Incident != "activate-us-west-2-20261121T054012345Z" || run.Decision != nil {
				t.Errorf("input: got %+v, want attempt 1 after %d s, the same incident, no decision carried over", run, tt.delay)
			}
		})
	}
	t.Run("backoff doubles", func(t *testing.T) {
		ex := &fakeExecutions{}
		ev := strings.Replace(string(fixture(t, "failover-trigger", "execution-aborted.json")), `\"phases\": []`, `\"attempt\": 2, \"phases\": []`, 1)
		if _, err := invokeTrigger(t, newRedriver(ex), []byte(ev)); err != nil {
			t.Fatal(err)
		}
		var run failover.Run
		_ = json.Unmarshal([]byte(ex.byName["activate-us-west-2-20261121T054012345Z-redrive-3"]), &run)
		if run.Attempt != 3 || run.RetryDelaySeconds != 120 {
			t.Errorf("third re-drive: got attempt %d after %d s, want 3 after 120 s", run.Attempt, run.RetryDelaySeconds)
		}
	})
	// Step Functions refuses execution names over 80 characters: the incident is shortened so that
	// the re-drive's name with its suffix still fits.
	t.Run("the longest incident's re-drive name fits", func(t *testing.T) {
		incident := "activate-us-west-2-" + strings.Repeat("x", 80-len("activate-us-west-2-"))
		ex := &fakeExecutions{}
		ev := strings.ReplaceAll(string(fixture(t, "failover-trigger", "execution-aborted.json")), "activate-us-west-2-20261121T054012345Z", incident)
		res, err := invokeTrigger(t, newRedriver(ex), []byte(ev))
		if err != nil {
			t.Fatal(err)
		}
		if want := incident[:80-len("-redrive-1")] + "-redrive-1"; !res.Started || res.ExecutionName != want {
			t.Errorf("got %+v, want %s started (%d characters)", res, want, len(want))
		}
	})
	t.Run("giving up says how many runs failed", func(t *testing.T) {
		ex := &fakeExecutions{}
		res, err := invokeTrigger(t, newRedriver(ex), fixture(t, "failover-trigger", "execution-failed-last-attempt.json"))
		if err != nil || res.Started || !strings.Contains(res.Reason, "4 runs failed, the bound of 3 re-drives is reached") {
			t.Errorf("got %+v, %v; want nothing started and the reason to count 4 runs (the first and 3 re-drives)", res, err)
		}
	})
	t.Run("a running execution is left to converge", func(t *testing.T) {
		ex := &fakeExecutions{started: []failover.ExecutionSummary{{Name: "reconcile-us-west-2-20261121T053000Z", Status: "RUNNING", StartedAt: now}}}
		res, err := invokeTrigger(t, newRedriver(ex), fixture(t, "failover-trigger", "execution-aborted.json"))
		if err != nil || res.Started || !res.Joined {
			t.Errorf("got %+v, %v; want it joined, nothing started", res, err)
		}
	})
}

func TestReconcileNameIsTheEpisode(t *testing.T) {
	at := time.Date(2026, 11, 21, 5, 40, 12, 345_000_000, time.UTC)
	if got, want := failover.ReconcileName("us-west-2", at), "reconcile-us-west-2-20261121T054012345Z"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if a, b := failover.ReconcileName("us-west-2", at), failover.ReconcileName("us-west-2", at.Add(time.Minute)); a == b {
		t.Errorf("the next episode a minute later got the same name %s", a)
	}
}

// A manual request's reason goes into the notification: up to 1024 bytes are taken, more refused.
func TestTriggerManualReasonLimit(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	for _, tt := range []struct {
		length int
		ok     bool
	}{{1024, true}, {1025, false}} {
		t.Run(fmt.Sprint(tt.length), func(t *testing.T) {
			ex := &fakeExecutions{}
			req, _ := json.Marshal(map[string]string{"action": "switchover", "reason": strings.Repeat("r", tt.length)})
			res, err := invokeTrigger(t, newTrigger(ex, now), req)
			if tt.ok {
				if err != nil || !res.Started {
					t.Errorf("got %+v, %v; want the switchover started", res, err)
				}
				return
			}
			if got := errorType(err); got != "InvalidInputError" || len(ex.started) != 0 {
				t.Errorf("got %v (%s) and %d executions, want an InvalidInputError and none", err, got, len(ex.started))
			}
		})
	}
}
