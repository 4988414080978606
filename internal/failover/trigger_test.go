package failover_test

import (
	"context"
	"encoding/json"
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

func newTrigger(db *fakeDB, ex *fakeExecutions, now time.Time) *failover.Trigger {
	return &failover.Trigger{DB: db, Executions: ex, Region: "us-west-2", LocalClusterARN: west,
		AlarmNames: []string{alarm}, Cooldown: 30 * time.Minute, Now: func() time.Time { return now }}
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
		{"sns-alarm.json", true, "activate-us-west-2-20261121T053000Z", failover.ModeAuto, ""},
		{"eventbridge-alarm.json", true, "activate-us-west-2-20261121T053000Z", failover.ModeAuto, ""},
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
		{"malformed-manual-action.json", false, "", "", `action "promote": want "switchover" or "failover"`},
		{"malformed-manual-no-reason.json", false, "", "", "reason is empty"},
		{"malformed-manual-unknown-field.json", false, "", "", `unknown field "force"`},
		{"malformed-unrecognised.json", false, "", "", "unrecognised input"},
		{"malformed-not-object.json", false, "", "", "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ex := &fakeExecutions{}
			h := newTrigger(&fakeDB{topology: topo(east, "")}, ex, now)
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
	h := newTrigger(&fakeDB{topology: topo(east, "")}, ex, now)
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

func TestTriggerWhenThisRegionWrites(t *testing.T) {
	for _, f := range []string{"sns-alarm.json", "manual-failover.json"} {
		t.Run(f, func(t *testing.T) {
			ex := &fakeExecutions{}
			h := newTrigger(&fakeDB{topology: topo(west, "")}, ex, time.Now())
			res, err := invokeTrigger(t, h, fixture(t, "failover-trigger", f))
			if err != nil {
				t.Fatal(err)
			}
			if res.Started || !strings.Contains(res.Reason, "us-west-2 already writes") || len(ex.started) != 0 {
				t.Errorf("got %+v and %d executions, want none and a reason saying this region writes", res, len(ex.started))
			}
		})
	}
}

func TestTriggerManualRefusedWhileRunning(t *testing.T) {
	now := time.Date(2026, 11, 21, 5, 41, 0, 0, time.UTC)
	ex := &fakeExecutions{started: []failover.ExecutionSummary{{Name: "activate-us-west-2-20261121T053000Z", Status: "RUNNING", StartedAt: now.Add(-time.Minute)}}}
	h := newTrigger(&fakeDB{topology: topo(east, "")}, ex, now)
	res, err := invokeTrigger(t, h, fixture(t, "failover-trigger", "manual-switchover.json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Started || !strings.Contains(res.Reason, "still running") {
		t.Errorf("got %+v, want not started because an execution is running", res)
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

func TestIncidentName(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 21, 5, 40, 12, 0, time.UTC), "activate-us-west-2-20261121T053000Z"},
		{time.Date(2026, 11, 21, 5, 59, 59, 0, time.UTC), "activate-us-west-2-20261121T053000Z"},
		{time.Date(2026, 11, 21, 6, 0, 0, 0, time.UTC), "activate-us-west-2-20261121T060000Z"},
		{time.Date(2026, 11, 21, 7, 10, 0, 0, time.FixedZone("CET", 3600)), "activate-us-west-2-20261121T060000Z"},
	}
	for _, tt := range tests {
		t.Run(tt.at.String(), func(t *testing.T) {
			if got := failover.IncidentName("us-west-2", tt.at, 30*time.Minute); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}
