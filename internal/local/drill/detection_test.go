//go:build !mutation

// Runs real processes for seconds to minutes: `make mutation` (build tag mutation) mutates the
// drill's invariant checks against the fast tests only.

package drill

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// TestDetectionPath runs the production detection path without databases: the real peer-prober
// binary on the template's schedule (compressed), probing a peer that answers until the test
// takes it down, publishing to localcloud, where the alarm read from template.yaml is evaluated;
// the alarm's state change must come through the trigger's rule pattern from template.yaml, and
// only after the peer went down.
func TestDetectionPath(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin, err := devtools.BuildFunction(ctx, "peer-prober", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var peerDown atomic.Bool
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peerDown.Load() {
			http.Error(w, `{"status":"unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"region":"us-east-1","role":"writer"}`)
	}))
	defer peer.Close()
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"region":"us-west-2","role":"reader"}`)
	}))
	defer local.Close()

	const speedup = 20
	cloud, err := localcloud.Start(localcloud.Options{Timing: localcloud.Timing{AlarmSpeedup: speedup}})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	e := &Env{opts: Options{DetectionSpeedup: speedup}, Cloud: cloud, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := &Region{Name: "region-b", AWSRegion: "us-west-2"}
	if e.det, err = loadDetection(); err != nil {
		t.Fatal(err)
	}
	cloud.AddTopic(e.notificationTopic(r))
	if err := e.setUpAlarm(ctx, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(r.Alarm, "-peer-writer-unhealthy") {
		t.Errorf("alarm %q: want the template's name for the stack", r.Alarm)
	}

	d := config.OrchestratorDefaults()
	d.Region, d.PeerAPIURL, d.LocalAPIURL, d.PublicURL = r.AWSRegion, peer.URL, local.URL, local.URL
	d.ProbeSamples = e.det.samples
	d.ProbeInterval = time.Duration(float64(e.det.interval) / speedup)
	d.ProbeTimeout = min(e.det.timeout, d.ProbeInterval*4/5)
	env := map[string]string{"AWS_ENDPOINT_URL": cloud.URL(), "AWS_ACCESS_KEY_ID": "AKIADRILL", "AWS_SECRET_ACCESS_KEY": "drill",
		"AWS_EC2_METADATA_DISABLED": "true"}
	maps.Copy(env, d.Env())
	h, err := lambdahost.New(lambdahost.Config{Region: r.AWSRegion, AccountID: localcloud.DefaultAccount, Logger: e.log,
		FunctionOutput: io.Discard, Functions: []lambdahost.Function{{Name: "peer-prober", Binary: bin, Env: env, Timeout: 30 * time.Second}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	r.Host = h

	proberCtx, stopProber := context.WithCancel(ctx)
	e.probers.Go(func() { e.runProber(proberCtx, r) })
	defer func() { stopProber(); e.probers.Wait() }()

	// Healthy for two prober runs: the alarm must settle in OK, not fire.
	run := time.Duration(float64(e.det.schedule) / speedup)
	time.Sleep(2 * run)
	if state, reason, _ := cloud.AlarmState(r.AWSRegion, r.Alarm); state != localcloud.AlarmOK {
		t.Fatalf("with a healthy peer the alarm is %s (%s), want OK", state, reason)
	}
	downAt := time.Now()
	peerDown.Store(true)
	deadline := time.Now().Add(6 * run)
	for {
		e.mu.Lock()
		alarms, triggers := len(e.alarms), len(e.triggers)
		e.mu.Unlock()
		if alarms > 0 && triggers > 0 {
			break
		}
		if time.Now().After(deadline) {
			state, reason, _ := cloud.AlarmState(r.AWSRegion, r.Alarm)
			t.Fatalf("no alarm state change delivered %v after the peer went down (alarm %s: %s)", 6*run, state, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.mu.Lock()
	detected, trig := e.alarms[0].At, e.triggers[0]
	e.mu.Unlock()
	if detected.Before(downAt) {
		t.Errorf("alarm delivered at %v, before the peer went down at %v", detected, downAt)
	}
	// The host has no failover-trigger here: the delivery reached the invocation and was refused there.
	if trig.Err == nil || !strings.Contains(trig.Err.Error(), "failover-trigger") {
		t.Errorf("trigger invocation = %+v, want an attempt to invoke failover-trigger", trig)
	}
	t.Logf("detected %v after the fault (%v on AWS's clock)", detected.Sub(downAt), detected.Sub(downAt)*speedup)
}

// A template change the drill cannot follow stops it instead of being half-applied.
func TestDetectionRefusesWhatItCannotFollow(t *testing.T) {
	refs := map[string]string{"AWS::StackName": "s"}
	for _, v := range []any{
		map[string]any{"Fn::Sub": "${AWS::StackName}-${Unknown}"},
		map[string]any{"Ref": "SomeParameter"},
		map[string]any{"Fn::If": []any{"c", "a", "b"}},
	} {
		if _, err := resolve(v, refs); err == nil {
			t.Errorf("resolve(%v): no error, want a refusal", v)
		}
	}
	if got, err := resolve(map[string]any{"Fn::Sub": "${AWS::StackName}-peer"}, refs); err != nil || got != "s-peer" {
		t.Errorf("resolve(!Sub) = %v, %v; want s-peer", got, err)
	}
	if _, err := alarmInput(map[string]any{"AlarmName": "a", "Metrics": []any{}}); err == nil || !strings.Contains(err.Error(), "Metrics") {
		t.Errorf("alarmInput with Metrics: %v, want a refusal naming the property", err)
	}
	for _, expr := range []string{"rate(1 minute)", "rate(5 minutes)", "rate(1 hour)"} {
		if _, err := scheduleRate(expr); err != nil {
			t.Errorf("scheduleRate(%s): %v", expr, err)
		}
	}
	if _, err := scheduleRate("cron(0 * * * ? *)"); err == nil {
		t.Error("scheduleRate(cron): no error, want a refusal")
	}
}

// The alarm's state change as localcloud delivers it — the EventBridge event and the SNS
// notification of its action — is what the real trigger parses as an ALARM of its alarm.
func TestAlarmDeliveriesParseAsTheTriggerReadsThem(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	e := &Env{opts: Options{DetectionSpeedup: 1}, Cloud: cloud, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	r := &Region{Name: "region-b", AWSRegion: "us-west-2"}
	// A host that is never started: the drill's own rule finds it closed and records that.
	if r.Host, err = lambdahost.New(lambdahost.Config{Logger: e.log, Functions: []lambdahost.Function{{Name: "idle", Binary: "/bin/true"}}}); err != nil {
		t.Fatal(err)
	}
	if e.det, err = loadDetection(); err != nil {
		t.Fatal(err)
	}
	cloud.AddTopic(e.notificationTopic(r))
	events := make(chan []byte, 1)
	notices := make(chan localcloud.SNSMessage, 1)
	cloud.SubscribeSNS(func(m localcloud.SNSMessage) { notices <- m })
	if err := e.setUpAlarm(ctx, r); err != nil {
		t.Fatal(err)
	}
	// A second rule with the same pattern records the event; the drill's own goes to a host this test has not.
	if err := cloud.AddEventRule(r.AWSRegion, "copy", resolvedPattern(t, e.det.pattern, r, e), func(_ context.Context, ev []byte) error { events <- ev; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = cloudwatch.NewFromConfig(cloud.Config(r.AWSRegion)).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(r.Alarm), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("drill test")})
	if err != nil {
		t.Fatal(err)
	}
	var ev []byte
	select {
	case ev = <-events:
	case <-ctx.Done():
		t.Fatal("no event delivered")
	}
	in, err := failover.ParseTrigger(ev)
	if err != nil || in.Source != "eventbridge" || len(in.Alarms) != 1 || in.Alarms[0].Name != r.Alarm || in.Alarms[0].State != "ALARM" {
		t.Errorf("ParseTrigger(EventBridge event) = %+v, %v; want ALARM of %s\n%s", in, err, r.Alarm, ev)
	}
	m := <-notices
	snsEvent, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": m.TopicARN + ":sub", "Sns": map[string]any{"Type": "Notification", "MessageId": m.MessageID,
			"TopicArn": m.TopicARN, "Subject": m.Subject, "Message": m.Message, "Timestamp": time.Now().UTC().Format(time.RFC3339Nano)}}}})
	in, err = failover.ParseTrigger(snsEvent)
	if err != nil || in.Source != "sns" || len(in.Alarms) != 1 || in.Alarms[0].Name != r.Alarm || in.Alarms[0].State != "ALARM" {
		t.Errorf("ParseTrigger(SNS notification) = %+v, %v; want ALARM of %s\n%s", in, err, r.Alarm, m.Message)
	}
}

func resolvedPattern(t *testing.T, pattern any, r *Region, e *Env) []byte {
	t.Helper()
	resolved, err := resolve(pattern, map[string]string{"AWS::StackName": "switchyard-" + r.Name, "AWS::Region": r.AWSRegion,
		"AWS::AccountId": e.Cloud.Account(), "AWS::Partition": "aws"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resolved)
	return b
}
