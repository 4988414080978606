package sfnlocal_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/failover"
	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/sfnlocal"
)

// The real failover.asl.json, run by aws-local-stepfunctions, calling the real function binaries
// on two local Lambda hosts (one per region) against localcloud. The ToDo APIs the canary and the
// probes talk to are small stand-ins whose writer role follows the emulated global database.

var orchestratorFunctions = []string{"failover-trigger", "failover-preflight", "failover-promote", "failover-await",
	"failover-traffic", "failover-verify", "failover-notify"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the functions once per test binary, as `make build-local` does.
func binaries(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "switchyard-failover-bin-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, fn := range orchestratorFunctions {
			if _, buildErr = devtools.BuildFunction(ctx, fn, binDir); buildErr != nil {
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

type regionSetup struct {
	name, cluster, origin string
	api                   *httptest.Server
	down                  atomic.Bool
	brokenWrites          atomic.Bool
	host                  *lambdahost.Host
	machineARN            string
}

type drill struct {
	cloud   *localcloud.Server
	db      *localcloud.MemoryGlobalDatabase
	regions map[string]*regionSetup
	serving atomic.Value // region name the public endpoint sends traffic to
	public  *httptest.Server

	mu      sync.Mutex
	notices []localcloud.SNSMessage
}

const distributionID = "EFAILOVERTEST"

func distributionXML(origins map[string]string, target string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><DistributionConfig xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">` +
		`<CallerReference>failover-test</CallerReference><Aliases><Quantity>0</Quantity></Aliases>`)
	fmt.Fprintf(&b, `<Origins><Quantity>%d</Quantity><Items>`, len(origins))
	for id, domain := range origins {
		fmt.Fprintf(&b, `<Origin><Id>%s</Id><DomainName>%s</DomainName><OriginPath></OriginPath><CustomHeaders><Quantity>0</Quantity></CustomHeaders>`+
			`<CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort><OriginProtocolPolicy>https-only</OriginProtocolPolicy>`+
			`<OriginSslProtocols><Quantity>1</Quantity><Items><SslProtocol>TLSv1.2</SslProtocol></Items></OriginSslProtocols></CustomOriginConfig></Origin>`, id, domain)
	}
	fmt.Fprintf(&b, `</Items></Origins><DefaultCacheBehavior><TargetOriginId>%s</TargetOriginId><ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>`+
		`<CachePolicyId>4135ea2d-6df8-44a3-9df3-4b5a84be39ad</CachePolicyId></DefaultCacheBehavior><Comment>test</Comment><Enabled>true</Enabled></DistributionConfig>`, target)
	return []byte(b.String())
}

// apiStandIn answers the ToDo API contract the orchestrator relies on, as region r: writes succeed
// only where the emulated global database makes r's cluster the writer.
func (d *drill) apiStandIn(r func() *regionSetup) http.Handler {
	var mu sync.Mutex
	items := map[string]string{}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		reg := r()
		if reg.down.Load() {
			panic(http.ErrAbortHandler) // an outage: the connection drops without an answer
		}
		state, err := d.db.Describe(req.Context())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writer := false
		for _, m := range state.Members {
			writer = writer || (m.ARN == reg.cluster && m.Writer)
		}
		w.Header().Set("X-Switchyard-Region", reg.name)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case req.URL.Path == "/health":
			role := "reader"
			if writer {
				role = "writer"
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"region": reg.name, "role": role, "db": "ok", "version": "test"})
		case req.Method == http.MethodPost && req.URL.Path == "/todos":
			if reg.brokenWrites.Load() {
				w.WriteHeader(500)
				return
			}
			if !writer {
				w.WriteHeader(503)
				_, _ = io.WriteString(w, `{"type":"https://switchyard.dev/problems/region-not-writer","status":503}`)
				return
			}
			var in struct{ Task string }
			_ = json.NewDecoder(req.Body).Decode(&in)
			id := fmt.Sprintf("%s-%d", reg.name, len(items)+1)
			items[id] = in.Task
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(map[string]string{"id": id, "task": in.Task})
		case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/todos/"):
			_ = json.NewEncoder(w).Encode(map[string]string{"task": items[strings.TrimPrefix(req.URL.Path, "/todos/")]})
		case req.Method == http.MethodDelete:
			w.WriteHeader(204)
		default:
			w.WriteHeader(404)
		}
	})
}

func newDrill(tb testing.TB, timing localcloud.Timing, extraEnv ...string) *drill {
	tb.Helper()
	requireNode(tb)
	bin := binaries(tb)
	d := &drill{regions: map[string]*regionSetup{}}
	east := &regionSetup{name: "us-east-1", cluster: localcloud.ClusterARN("us-east-1", localcloud.DefaultAccount, "todo-east"), origin: "east-api"}
	west := &regionSetup{name: "us-west-2", cluster: localcloud.ClusterARN("us-west-2", localcloud.DefaultAccount, "todo-west"), origin: "west-api"}
	d.regions[east.name], d.regions[west.name] = east, west
	d.serving.Store(east.name)

	if timing == (localcloud.Timing{}) {
		timing = localcloud.Timing{FailoverPending: 5 * time.Millisecond, FailoverPromote: 20 * time.Millisecond, CloudFrontPropagation: 20 * time.Millisecond}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cloud, err := localcloud.Start(localcloud.Options{Logger: quiet,
		Timing: timing,
		Traffic: func(c localcloud.TrafficChange) {
			for _, r := range d.regions {
				if r.origin == c.Name {
					d.serving.Store(r.name)
				}
			}
		}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cloud.Close() })
	d.cloud = cloud
	d.db = localcloud.NewMemoryGlobalDatabase(east.cluster, west.cluster)
	cloud.AddGlobalCluster("todo-global", d.db)
	if err := cloud.AddDistribution(distributionID, distributionXML(map[string]string{east.origin: "east.example.com", west.origin: "west.example.com"}, east.origin)); err != nil {
		tb.Fatal(err)
	}
	cloud.SubscribeSNS(func(m localcloud.SNSMessage) {
		d.mu.Lock()
		d.notices = append(d.notices, m)
		d.mu.Unlock()
	})
	for _, r := range []*regionSetup{east, west} {
		r.api = httptest.NewServer(d.apiStandIn(func() *regionSetup { return r }))
		tb.Cleanup(r.api.Close)
	}
	d.public = httptest.NewServer(d.apiStandIn(func() *regionSetup { return d.regions[d.serving.Load().(string)] }))
	tb.Cleanup(d.public.Close)

	for _, r := range []*regionSetup{east, west} {
		peer := east
		if r == east {
			peer = west
		}
		topic := cloud.TopicARN(r.name, "switchyard")
		cloud.AddTopic(topic)
		r.machineARN = cloud.StateMachineARN(r.name, "switchyard-failover")
		dep := config.OrchestratorDefaults()
		dep.Region, dep.GlobalClusterID, dep.LocalClusterARN = r.name, "todo-global", r.cluster
		dep.PeerAPIURL, dep.LocalAPIURL, dep.PublicURL = peer.api.URL, r.api.URL, d.public.URL
		dep.AllowDataLoss, dep.PromotionTimeout, dep.ProbeTimeout = true, 2*time.Second, 500*time.Millisecond
		dep.DistributionID, dep.LocalOriginID, dep.TopicARN, dep.StateMachineARN = distributionID, r.origin, topic, r.machineARN
		dep.AlarmNames = []string{"switchyard-peer-writer-unhealthy"}
		dep.ReconcileAlarmNames = []string{"switchyard-writer-inconsistent"}
		env := dep.Env()
		env["AWS_ENDPOINT_URL"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = cloud.URL(), "AKIDLOCAL", "local"
		env["AWS_LAMBDA_LOG_LEVEL"] = "WARN"
		for _, kv := range extraEnv {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		var fns []lambdahost.Function
		for _, name := range orchestratorFunctions {
			fns = append(fns, lambdahost.Function{Name: name, Binary: bin + "/" + name + "/bootstrap", Env: env, Timeout: 30 * time.Second})
		}
		h, err := lambdahost.New(lambdahost.Config{Functions: fns, Region: r.name, Logger: quiet, FunctionOutput: io.Discard})
		if err != nil {
			tb.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = h.Close() })
		r.host = h
		subs := map[string]string{}
		for _, fn := range []string{"Preflight", "Promote", "Await", "Traffic", "Verify", "Notify"} {
			subs["Failover"+fn+"FunctionArn"] = h.FunctionARN("failover-" + strings.ToLower(fn))
		}
		def, err := sfnlocal.Load("../../../statemachine/failover.asl.json", subs)
		if err != nil {
			tb.Fatal(err)
		}
		short := 10 * time.Millisecond
		m := &sfnlocal.Machine{Definition: def, LambdaEndpoint: h.InvokeURL(), Region: r.name,
			WaitOverrides:  map[string]time.Duration{"WaitForPromotion": short, "WaitBeforeRedrive": short},
			RetryOverrides: map[string]time.Duration{"Preflight": short, "Promote": short, "AwaitPromotion": short, "SwapTraffic": short, "Verify": short, "NotifySuccess": short, "NotifyFailure": short}}
		cloud.AddStateMachine(r.machineARN, m.Runner())
	}
	return d
}

// activate invokes region's trigger with a manual request and waits for the execution to end; it
// returns the trigger's answer, the execution's status and the notification it published.
func (d *drill) activate(tb testing.TB, region string, mode failover.Mode, reason string) (failover.TriggerResult, string, failover.Report) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := d.regions[region]
	payload, _ := json.Marshal(failover.ManualRequest{Action: mode, Reason: reason, AcknowledgeDataLoss: mode == failover.ModeFailover})
	d.mu.Lock()
	seen := len(d.notices)
	d.mu.Unlock()
	res, err := r.host.Invoke(ctx, "failover-trigger", payload)
	if err != nil {
		tb.Fatal(err)
	}
	if res.FunctionError != nil {
		tb.Fatalf("trigger failed: %s: %s", res.FunctionError.Type, res.FunctionError.Message)
	}
	var tr failover.TriggerResult
	if err := json.Unmarshal(res.Payload, &tr); err != nil {
		tb.Fatal(err)
	}
	if !tr.Started {
		return tr, "", failover.Report{}
	}
	status, err := d.cloud.WaitExecution(ctx, tr.ExecutionARN)
	if err != nil {
		tb.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.notices) != seen+1 {
		tb.Fatalf("notifications: got %d new, want 1", len(d.notices)-seen)
	}
	var rep failover.Report
	if err := json.Unmarshal([]byte(d.notices[seen].Message), &rep); err != nil {
		tb.Fatalf("notification %q: %v", d.notices[seen].Message, err)
	}
	return tr, status, rep
}

func phaseNames(r failover.Report) string {
	var n []string
	for _, p := range r.Phases {
		n = append(n, p.Name)
	}
	return strings.Join(n, ",")
}

func TestLocalSwitchoverAndFailback(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	tr, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "planned test")
	if !tr.Started || status != localcloud.ExecutionSucceeded {
		t.Fatalf("got trigger %+v and status %s, want a started, succeeded execution", tr, status)
	}
	if rep.Outcome != failover.OutcomeActivated || rep.Decision.Action != failover.ActionSwitchover || rep.EstimatedDataLossMs != 0 {
		t.Errorf("report: got %s / %+v / loss %d, want activated by switchover, no data loss", rep.Outcome, rep.Decision, rep.EstimatedDataLossMs)
	}
	if got := phaseNames(rep); got != "preflight,promote,await,traffic,verify" {
		t.Errorf("phases: got %s, want preflight,promote,await,traffic,verify", got)
	}
	if rep.ExecutionARN != tr.ExecutionARN {
		t.Errorf("execution ARN: got %q, want %q", rep.ExecutionARN, tr.ExecutionARN)
	}
	if d.serving.Load() != "us-west-2" {
		t.Errorf("public endpoint: serves %s, want us-west-2", d.serving.Load())
	}
	// The real machine's states reach the execution's history, as the operator CLI follows it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := sfn.NewFromConfig(d.cloud.Config("us-west-2")).GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(tr.ExecutionARN), MaxResults: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var entered []string
	for _, ev := range h.Events {
		if ev.Type == sfntypes.HistoryEventTypeTaskStateEntered {
			entered = append(entered, aws.ToString(ev.StateEnteredEventDetails.Name))
		}
	}
	if got := strings.Join(slices.Compact(entered), ","); got != "Preflight,Promote,AwaitPromotion,SwapTraffic,Verify,NotifySuccess" ||
		h.Events[0].Type != sfntypes.HistoryEventTypeExecutionStarted || h.Events[len(h.Events)-1].Type != sfntypes.HistoryEventTypeExecutionSucceeded {
		t.Errorf("history: tasks entered %s, first %s, last %s; want Preflight..NotifySuccess between ExecutionStarted and ExecutionSucceeded",
			got, h.Events[0].Type, h.Events[len(h.Events)-1].Type)
	}

	// Asked again within the cooldown, the trigger starts nothing.
	again, _, _ := d.activate(t, "us-west-2", failover.ModeSwitchover, "again")
	if again.Started || !strings.Contains(again.Reason, "cooldown") {
		t.Errorf("second request: got %+v, want nothing started within the cooldown", again)
	}

	// Failback is the other region's machine doing a switchover.
	_, status, rep = d.activate(t, "us-east-1", failover.ModeSwitchover, "failback")
	if status != localcloud.ExecutionSucceeded || rep.Outcome != failover.OutcomeActivated || rep.Region != "us-east-1" || d.serving.Load() != "us-east-1" {
		t.Errorf("failback: got status %s, report %s for %s, serving %s; want us-east-1 activated and serving", status, rep.Outcome, rep.Region, d.serving.Load())
	}
}

func TestLocalUnplannedFailover(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	d.db.SetReplicationLag(d.regions["us-west-2"].cluster, 1500*time.Millisecond)
	d.cloud.SetRegionDown("us-east-1", true)
	d.regions["us-east-1"].down.Store(true)
	_, status, rep := d.activate(t, "us-west-2", failover.ModeFailover, "us-east-1 is down")
	if status != localcloud.ExecutionSucceeded {
		t.Fatalf("status: got %s (%+v), want SUCCEEDED", status, rep.Error)
	}
	if rep.Decision.Action != failover.ActionFailover || rep.EstimatedDataLossMs != 1500 {
		t.Errorf("report: got %+v, loss %d ms; want a failover with 1500 ms estimated loss", rep.Decision, rep.EstimatedDataLossMs)
	}
	if d.serving.Load() != "us-west-2" {
		t.Errorf("public endpoint: serves %s, want us-west-2", d.serving.Load())
	}
}

func TestLocalPromotionThatNeverCompletes(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPromote: 10 * time.Minute})
	_, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "slow promotion")
	if status != localcloud.ExecutionFailed {
		t.Fatalf("status: got %s, want FAILED", status)
	}
	if rep.Outcome != failover.OutcomeFailed || rep.Error == nil || rep.Error.Error != "PromotionTimeoutError" {
		t.Errorf("report: got %s with %+v, want failed with PromotionTimeoutError", rep.Outcome, rep.Error)
	}
	if d.serving.Load() != "us-east-1" || d.cloud.Calls("cloudfront:UpdateDistribution") != 0 {
		t.Errorf("traffic: serving %s after %d updates, want us-east-1 untouched", d.serving.Load(), d.cloud.Calls("cloudfront:UpdateDistribution"))
	}
}

func TestLocalVerificationFailure(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	d.regions["us-west-2"].brokenWrites.Store(true)
	_, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "broken API")
	if status != localcloud.ExecutionFailed || rep.Outcome != failover.OutcomeFailed || rep.Error == nil || rep.Error.Error != "VerificationError" {
		t.Fatalf("got status %s, report %s with %+v; want FAILED with a VerificationError notice", status, rep.Outcome, rep.Error)
	}
	// Traffic moved only after the promotion: the region it points at is the writer.
	topo, err := d.db.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range topo.Members {
		if m.Writer && m.ARN != d.regions[d.serving.Load().(string)].cluster {
			t.Errorf("traffic goes to %s but the writer is %s", d.serving.Load(), m.ARN)
		}
	}
}

func TestLocalTrafficNotYetShifted(t *testing.T) {
	d := newDrill(t, localcloud.Timing{FailoverPending: time.Millisecond, FailoverPromote: time.Millisecond, CloudFrontPropagation: 10 * time.Minute})
	_, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "slow propagation")
	if status != localcloud.ExecutionSucceeded || rep.Outcome != failover.OutcomeTrafficNotShifted {
		t.Fatalf("got status %s and outcome %s (%+v), want SUCCEEDED reported as traffic-not-shifted", status, rep.Outcome, rep.Error)
	}
	if d.serving.Load() != "us-east-1" {
		t.Errorf("serving: got %s, want us-east-1 until the change propagates", d.serving.Load())
	}
}

// TestLocalThrottlingEverywhere gives the SDK a single attempt, so that a throttled or stale call
// reaches the state machine as ThrottledError or PreconditionError and its Retry must absorb it.
func TestLocalThrottlingEverywhere(t *testing.T) {
	d := newDrill(t, localcloud.Timing{}, "AWS_MAX_ATTEMPTS=1")
	for _, op := range []string{"rds:DescribeDBClusters", "cloudwatch:GetMetricData", "rds:SwitchoverGlobalCluster",
		"cloudfront:GetDistributionConfig", "cloudfront:UpdateDistribution", "sns:Publish"} {
		d.cloud.ThrottleNext(op, 1)
	}
	d.cloud.FailNext("cloudfront:UpdateDistribution", 412, "PreconditionFailed", "The request failed because it didn't meet the preconditions")
	_, status, rep := d.activate(t, "us-west-2", failover.ModeSwitchover, "throttled everywhere")
	if status != localcloud.ExecutionSucceeded || rep.Outcome != failover.OutcomeActivated {
		t.Fatalf("got status %s, outcome %s (%+v); want the retries to carry the run to success", status, rep.Outcome, rep.Error)
	}
	for op, want := range map[string]int{"rds:SwitchoverGlobalCluster": 2, "cloudfront:UpdateDistribution": 3, "sns:Publish": 2} {
		if got := d.cloud.Calls(op); got != want {
			t.Errorf("%s: got %d calls, want %d (the failures, then success)", op, got, want)
		}
	}
}

// TestLocalAlarmStormStartsOneExecution sends ten concurrent alarm notifications (SNS and
// EventBridge) to the real trigger binary: the Standard workflow's idempotent StartExecution in
// localcloud must leave exactly one execution. OK and unknown alarms start none, and malformed input
// comes back as InvalidInputError.
func TestLocalAlarmStormStartsOneExecution(t *testing.T) {
	d := newDrill(t, localcloud.Timing{})
	west := d.regions["us-west-2"]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	read := func(name string) []byte {
		b, err := os.ReadFile("../../../events/failover-trigger/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The fixtures' alarms belong to account 111122223333; localcloud's stack is in its own account.
	ours := func(b []byte) []byte {
		return []byte(strings.ReplaceAll(string(b), "111122223333", localcloud.DefaultAccount))
	}
	sns, eb := ours(read("sns-alarm.json")), ours(read("eventbridge-alarm.json"))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		started = map[string]bool{}
	)
	for i := range 10 {
		payload := sns
		if i%2 == 1 {
			payload = eb
		}
		wg.Go(func() {
			res, err := west.host.Invoke(ctx, "failover-trigger", payload)
			if err != nil || res.FunctionError != nil {
				t.Errorf("notification %d: %v %+v", i, err, res)
				return
			}
			var tr failover.TriggerResult
			if err := json.Unmarshal(res.Payload, &tr); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			started[tr.ExecutionARN] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, name := range []string{"sns-ok.json", "sns-unknown-alarm.json", "eventbridge-insufficient-data.json"} {
		res, err := west.host.Invoke(ctx, "failover-trigger", read(name))
		if err != nil || res.FunctionError != nil {
			t.Fatalf("%s: %v %+v", name, err, res)
		}
		var tr failover.TriggerResult
		if err := json.Unmarshal(res.Payload, &tr); err != nil || tr.Started {
			t.Errorf("%s: got %+v (%v), want nothing started", name, tr, err)
		}
	}
	res, err := west.host.Invoke(ctx, "failover-trigger", read("malformed-sns-message-not-json.json"))
	if err != nil || res.FunctionError == nil || res.FunctionError.Type != "InvalidInputError" || !strings.Contains(res.FunctionError.Message, "Sns.Message") {
		t.Errorf("malformed SNS: got %+v, %v; want InvalidInputError naming Sns.Message", res, err)
	}

	out, err := sfn.NewFromConfig(d.cloud.Config("us-west-2")).ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: &west.machineARN})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Executions) != 1 || len(started) != 1 || !started[*out.Executions[0].ExecutionArn] {
		t.Fatalf("executions: %d listed, trigger answers named %v; want exactly one, the same", len(out.Executions), started)
	}
	if status, err := d.cloud.WaitExecution(ctx, *out.Executions[0].ExecutionArn); err != nil || status != localcloud.ExecutionSucceeded {
		t.Errorf("the one execution: %s, %v; want SUCCEEDED", status, err)
	}
}
