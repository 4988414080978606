package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
)

// The production detection path, as the drill runs it: each region's real peer-prober binary,
// invoked on the template's schedule compressed by DetectionSpeedup, publishes PeerWriterHealthy
// to localcloud's CloudWatch; the alarm that template.yaml defines on it is created there with
// PutMetricAlarm and evaluated by localcloud on the same compressed clock; its state change
// reaches the region's real failover-trigger through the EventBridge rule pattern the template
// gives the trigger. Nothing of the rule, the alarm or the prober's settings is restated here.

// detection is what the template says about detection, unresolved (intrinsics left in).
type detection struct {
	alarm    map[string]any // the activation alarm's Properties (the prober's PeerWriterHealthy)
	watchdog map[string]any // the watchdog alarm's Properties (the prober's WriterConsistent); nil when none
	pattern  any            // the trigger's EventBridge rule pattern for alarms
	ended    any            // its rule pattern for ended executions (the re-drive)
	// samples, interval and timeout are the prober's PROBE_* settings.
	samples           int
	interval, timeout time.Duration
	schedule          time.Duration // the prober's schedule rate
}

// loadDetection reads the detection path from template.yaml: the failover-trigger's
// EventBridgeRule event, the alarm whose name its pattern matches, and the prober's settings.
func loadDetection() (*detection, error) {
	root, err := devtools.Root()
	if err != nil {
		return nil, err
	}
	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		return nil, err
	}
	d := &detection{}
	trigger, ok := tpl.Function("failover-trigger")
	if !ok {
		return nil, fmt.Errorf("template.yaml: no failover-trigger function")
	}
	for _, ev := range asMap(tpl.Resources[trigger.LogicalID].Properties["Events"]) {
		e := asMap(ev)
		// The trigger has a rule per source; the alarm rule is the one on CloudWatch's events.
		pattern := asMap(e["Properties"])["Pattern"]
		switch {
		case e["Type"] != "EventBridgeRule":
		case fmt.Sprint(path(pattern, "source")) == "[aws.cloudwatch]":
			d.pattern = pattern
		case fmt.Sprint(path(pattern, "source")) == "[aws.states]":
			d.ended = pattern
		}
	}
	if d.pattern == nil || d.ended == nil {
		return nil, fmt.Errorf("template.yaml: failover-trigger needs EventBridgeRule events on aws.cloudwatch (alarms) and aws.states (ended executions)")
	}
	// The alarms are those whose AlarmName the pattern lists (compared unresolved: both are the
	// same !Sub in the template); each is told apart by the metric it watches.
	names, _ := path(d.pattern, "detail", "alarmName").([]any)
	for _, want := range names {
		w, _ := json.Marshal(want)
		for id, r := range tpl.Resources {
			if r.Type != "AWS::CloudWatch::Alarm" {
				continue
			}
			if name, _ := json.Marshal(r.Properties["AlarmName"]); string(name) != string(w) {
				continue
			}
			switch r.Properties["MetricName"] {
			case "PeerWriterHealthy":
				if d.alarm != nil {
					return nil, fmt.Errorf("template.yaml: two alarms (%s and another) on PeerWriterHealthy match failover-trigger's rule", id)
				}
				d.alarm = r.Properties
			case "WriterConsistent":
				d.watchdog = r.Properties
			default:
				return nil, fmt.Errorf("template.yaml: alarm %s matches failover-trigger's rule but watches %v, which the drill's prober does not publish", id, r.Properties["MetricName"])
			}
		}
	}
	if d.alarm == nil {
		return nil, fmt.Errorf("template.yaml: no AWS::CloudWatch::Alarm on PeerWriterHealthy is named as failover-trigger's EventBridge rule pattern matches (%v)", names)
	}
	prober, ok := tpl.Function("peer-prober")
	if !ok {
		return nil, fmt.Errorf("template.yaml: no peer-prober function")
	}
	if d.samples, err = strconv.Atoi(prober.Environment["PROBE_SAMPLES"]); err != nil {
		return nil, fmt.Errorf("template.yaml: peer-prober PROBE_SAMPLES: %w", err)
	}
	if d.interval, err = time.ParseDuration(prober.Environment["PROBE_INTERVAL"]); err != nil {
		return nil, fmt.Errorf("template.yaml: peer-prober PROBE_INTERVAL: %w", err)
	}
	if d.timeout, err = time.ParseDuration(prober.Environment["PROBE_TIMEOUT"]); err != nil {
		return nil, fmt.Errorf("template.yaml: peer-prober PROBE_TIMEOUT: %w", err)
	}
	for _, ev := range asMap(tpl.Resources[prober.LogicalID].Properties["Events"]) {
		e := asMap(ev)
		if e["Type"] == "Schedule" {
			expr, _ := asMap(e["Properties"])["Schedule"].(string)
			if d.schedule, err = scheduleRate(expr); err != nil {
				return nil, fmt.Errorf("template.yaml: peer-prober schedule: %w", err)
			}
		}
	}
	if d.schedule == 0 {
		return nil, fmt.Errorf("template.yaml: peer-prober has no Schedule event")
	}
	return d, nil
}

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours)\)$`)

// scheduleRate reads an EventBridge rate expression.
func scheduleRate(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("%q: the drill reads rate(N minute[s]|hour[s]) expressions", expr)
	}
	n, _ := strconv.Atoi(m[1])
	if m[2][0] == 'h' {
		return time.Duration(n) * time.Hour, nil
	}
	return time.Duration(n) * time.Minute, nil
}

func path(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

// resolve replaces the intrinsics detection uses (!Sub and !Ref of pseudo parameters and the
// notification topic) with a region's values; any other intrinsic is an error, so a template
// change the drill cannot follow stops it rather than being half-applied.
func resolve(v any, refs map[string]string) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if sub, ok := x["Fn::Sub"].(string); ok && len(x) == 1 {
			var missing []string
			out := subVar.ReplaceAllStringFunc(sub, func(m string) string {
				name := m[2 : len(m)-1]
				if val, ok := refs[name]; ok {
					return val
				}
				missing = append(missing, name)
				return m
			})
			if len(missing) > 0 {
				return nil, fmt.Errorf("!Sub %q: the drill has no value for %v", sub, missing)
			}
			return out, nil
		}
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			if val, ok := refs[ref]; ok {
				return val, nil
			}
			return nil, fmt.Errorf("!Ref %s: the drill has no value for it", ref)
		}
		out := map[string]any{}
		for k, e := range x {
			if len(k) > 4 && k[:4] == "Fn::" {
				return nil, fmt.Errorf("%s: the drill does not evaluate this intrinsic", k)
			}
			r, err := resolve(e, refs)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := resolve(e, refs)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// alarmInput maps the alarm's resolved Properties onto PutMetricAlarm, refusing any property it
// does not know rather than dropping it.
func alarmInput(props map[string]any) (*cloudwatch.PutMetricAlarmInput, error) {
	in := &cloudwatch.PutMetricAlarmInput{}
	str := func(v any) *string { s := fmt.Sprint(v); return &s }
	num := func(k string, v any) (float64, error) {
		switch n := v.(type) {
		case int:
			return float64(n), nil
		case float64:
			return n, nil
		case string:
			return strconv.ParseFloat(n, 64)
		}
		return 0, fmt.Errorf("alarm property %s: %v is not a number", k, v)
	}
	strs := func(v any) []string {
		var out []string
		l, _ := v.([]any)
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	for k, v := range props {
		var err error
		var n float64
		switch k {
		case "AlarmName":
			in.AlarmName = str(v)
		case "AlarmDescription":
			in.AlarmDescription = str(v)
		case "Namespace":
			in.Namespace = str(v)
		case "MetricName":
			in.MetricName = str(v)
		case "Statistic":
			in.Statistic = cwtypes.Statistic(fmt.Sprint(v))
		case "ComparisonOperator":
			in.ComparisonOperator = cwtypes.ComparisonOperator(fmt.Sprint(v))
		case "TreatMissingData":
			in.TreatMissingData = str(v)
		case "Unit":
			in.Unit = cwtypes.StandardUnit(fmt.Sprint(v))
		case "ActionsEnabled":
			b, _ := v.(bool)
			in.ActionsEnabled = aws.Bool(b)
		case "AlarmActions":
			in.AlarmActions = strs(v)
		case "OKActions":
			in.OKActions = strs(v)
		case "InsufficientDataActions":
			in.InsufficientDataActions = strs(v)
		case "Dimensions":
			l, _ := v.([]any)
			for _, d := range l {
				dm := asMap(d)
				in.Dimensions = append(in.Dimensions, cwtypes.Dimension{Name: str(dm["Name"]), Value: str(dm["Value"])})
			}
		case "Threshold":
			n, err = num(k, v)
			in.Threshold = aws.Float64(n)
		case "Period":
			n, err = num(k, v)
			in.Period = aws.Int32(int32(n))
		case "EvaluationPeriods":
			n, err = num(k, v)
			in.EvaluationPeriods = aws.Int32(int32(n))
		case "DatapointsToAlarm":
			n, err = num(k, v)
			in.DatapointsToAlarm = aws.Int32(int32(n))
		default:
			return nil, fmt.Errorf("alarm property %s: the drill does not map it onto PutMetricAlarm; extend alarmInput", k)
		}
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}

// setUpDetection creates each region's alarm in localcloud from the template and routes its
// state changes to the region's failover-trigger through the template's rule pattern.
func (e *Env) setUpDetection(ctx context.Context) error {
	det, err := loadDetection()
	if err != nil {
		return err
	}
	e.det = det
	for _, r := range []*Region{e.A, e.B} {
		if err := e.setUpAlarm(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) setUpAlarm(ctx context.Context, r *Region) error {
	refs := map[string]string{"AWS::StackName": "switchyard-" + r.Name, "AWS::Region": r.AWSRegion,
		"AWS::AccountId": e.Cloud.Account(), "AWS::Partition": "aws", "NotificationTopic": e.notificationTopic(r),
		"FailoverStateMachine": r.Machine}
	var err error
	if r.Alarm, err = e.putAlarm(ctx, r, e.det.alarm, refs); err != nil {
		return err
	}
	if e.det.watchdog != nil {
		if r.WatchdogAlarm, err = e.putAlarm(ctx, r, e.det.watchdog, refs); err != nil {
			return err
		}
	}
	pattern, err := resolve(e.det.pattern, refs)
	if err != nil {
		return fmt.Errorf("template.yaml failover-trigger rule: %w", err)
	}
	ended, err := resolve(e.det.ended, refs)
	if err != nil {
		return fmt.Errorf("template.yaml failover-trigger rule: %w", err)
	}
	rawEnded, _ := json.Marshal(ended)
	// A failed or aborted run's status change goes to the trigger, which re-drives the incident.
	if err := e.Cloud.AddEventRule(r.AWSRegion, "failover-trigger-execution-ended", rawEnded, func(ctx context.Context, event []byte) error {
		return e.invokeTarget(ctx, r, event)
	}); err != nil {
		return err
	}
	raw, _ := json.Marshal(pattern)
	return e.Cloud.AddEventRule(r.AWSRegion, "failover-trigger-peer-alarm", raw, func(ctx context.Context, event []byte) error {
		e.mu.Lock()
		e.alarms = append(e.alarms, alarmEvent{At: time.Now(), Region: r.Name})
		e.mu.Unlock()
		var ev struct {
			Detail struct {
				AlarmName string `json:"alarmName"`
			} `json:"detail"`
		}
		_ = json.Unmarshal(event, &ev)
		e.progress("%s: alarm %s → ALARM; its EventBridge rule invokes %s's failover-trigger", r.Name, ev.Detail.AlarmName, r.Name)
		return e.invokeTarget(ctx, r, event)
	})
}

// putAlarm creates the template's alarm props (resolved with refs) in r's region and returns its name.
func (e *Env) putAlarm(ctx context.Context, r *Region, alarm map[string]any, refs map[string]string) (string, error) {
	props, err := resolve(alarm, refs)
	if err != nil {
		return "", fmt.Errorf("template.yaml alarm: %w", err)
	}
	in, err := alarmInput(asMap(props))
	if err != nil {
		return "", fmt.Errorf("template.yaml alarm: %w", err)
	}
	if _, err := cloudwatch.NewFromConfig(e.Cloud.Config(r.AWSRegion)).PutMetricAlarm(ctx, in); err != nil {
		return "", fmt.Errorf("%s: PutMetricAlarm %s from template.yaml: %w", r.Name, aws.ToString(in.AlarmName), err)
	}
	return aws.ToString(in.AlarmName), nil
}

// setAlarmState sets one of r's alarms as SetAlarmState does: OK has a standing condition looked at
// again (if the samples still breach, the next evaluation raises a new ALARM transition); ALARM is a
// new transition at once. Either change reaches the trigger through EventBridge as AWS delivers it.
func (e *Env) setAlarmState(ctx context.Context, r *Region, alarm string, state cwtypes.StateValue, reason string) error {
	_, err := cloudwatch.NewFromConfig(e.Cloud.Config(r.AWSRegion)).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(alarm), StateValue: state, StateReason: aws.String(reason),
	})
	if err != nil {
		return fmt.Errorf("%s: SetAlarmState %s: %w", r.Name, alarm, err)
	}
	return nil
}

// startDetection runs each region's peer-prober on the template's schedule, compressed, as
// EventBridge Scheduler invokes it: asynchronously, with a Scheduled Event.
func (e *Env) startDetection() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopProb = cancel
	// Aurora publishes the secondary's lag continuously; sampling keeps the last value known when
	// the primary goes silent.
	e.probers.Go(func() {
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
	for _, r := range []*Region{e.A, e.B} {
		e.probers.Go(func() { e.runProber(ctx, r) })
	}
}

// runProber invokes r's peer-prober on the template's schedule, compressed, as EventBridge
// Scheduler does: asynchronously, with a Scheduled Event, whether or not the last run ended.
func (e *Env) runProber(ctx context.Context, r *Region) {
	tick := time.NewTicker(time.Duration(float64(e.det.schedule) / e.opts.DetectionSpeedup))
	defer tick.Stop()
	for {
		ev, _ := json.Marshal(map[string]any{"version": "0", "id": fmt.Sprintf("drill-%d", time.Now().UnixNano()),
			"detail-type": "Scheduled Event", "source": "aws.events", "account": e.Cloud.Account(),
			"time": time.Now().UTC().Format(time.RFC3339), "region": r.AWSRegion,
			"resources": []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/switchyard-%s-peer-prober", r.AWSRegion, e.Cloud.Account(), r.Name)},
			"detail":    map[string]any{}})
		e.probers.Go(func() {
			res, err := r.Host.Invoke(ctx, "peer-prober", ev)
			if err == nil && res.FunctionError != nil {
				e.progress("%s's peer-prober failed: %s: %s", r.Name, res.FunctionError.Type, res.FunctionError.Message)
			}
		})
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
