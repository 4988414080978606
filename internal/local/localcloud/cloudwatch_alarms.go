package localcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Alarm states.
const (
	AlarmOK               = "OK"
	AlarmAlarm            = "ALARM"
	AlarmInsufficientData = "INSUFFICIENT_DATA"
)

// metricAlarm is one alarm as PutMetricAlarm stored it, with its state.
type metricAlarm struct {
	region, name, arn, description          string
	actionsEnabled                          bool
	okActions, alarmActions, insufficient   []string
	namespace, metricName, statistic, unit  string
	dims                                    []any // as given, for DescribeAlarms
	dimKey                                  string
	period, evaluationPeriods, toAlarm      int
	threshold                               float64
	comparison, treatMissing                string
	state, reason, reasonData               string
	configUpdated, stateUpdated, transition time.Time
	nextEval                                time.Time
}

var comparisonOperators = map[string]func(v, threshold float64) bool{
	"GreaterThanOrEqualToThreshold": func(v, t float64) bool { return v >= t },
	"GreaterThanThreshold":          func(v, t float64) bool { return v > t },
	"LessThanThreshold":             func(v, t float64) bool { return v < t },
	"LessThanOrEqualToThreshold":    func(v, t float64) bool { return v <= t },
}

var comparisonWords = map[string]string{
	"GreaterThanOrEqualToThreshold": "greater than or equal to", "GreaterThanThreshold": "greater than",
	"LessThanThreshold": "less than", "LessThanOrEqualToThreshold": "less than or equal to",
}

func validationError(format string, args ...any) *APIError {
	return cwError(http.StatusBadRequest, "ValidationError", "ValidationError", fmt.Sprintf(format, args...))
}

func alarmNotFound(format string, args ...any) *APIError {
	return cwError(http.StatusNotFound, "ResourceNotFound", "ResourceNotFound", fmt.Sprintf(format, args...))
}

func strList(m map[string]any, k string) []string {
	var out []string
	for _, v := range list(m, k) {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// intParam reads a whole-number parameter; present says it was given at all.
func intParam(in map[string]any, k string) (n int, present bool, err error) {
	v, present := in[k]
	if !present {
		return 0, false, nil
	}
	f, ok := num(v)
	if !ok || f != math.Trunc(f) {
		return 0, true, invalidParameter("The parameter %s must be a whole number.", k)
	}
	return int(f), true, nil
}

// AlarmARN builds a metric alarm's ARN in the emulator's account.
func (s *Server) AlarmARN(region, name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", region, s.account, name)
}

func (c *cloudwatchService) putMetricAlarm(req *request, in map[string]any) error {
	a := &metricAlarm{region: req.region, name: str(in, "AlarmName"), description: str(in, "AlarmDescription"),
		namespace: str(in, "Namespace"), metricName: str(in, "MetricName"), statistic: str(in, "Statistic"),
		unit: str(in, "Unit"), comparison: str(in, "ComparisonOperator"), treatMissing: str(in, "TreatMissingData"),
		okActions: strList(in, "OKActions"), alarmActions: strList(in, "AlarmActions"), insufficient: strList(in, "InsufficientDataActions"),
		actionsEnabled: true, dims: list(in, "Dimensions")}
	switch {
	case a.name == "":
		return missingParameter("The parameter AlarmName is required.")
	case len(a.name) > 255:
		return validationError("The parameter AlarmName must be at most 255 characters long.")
	case in["Metrics"] != nil || in["EvaluationCriteria"] != nil:
		return validationError("localcloud emulates single-metric alarms only (MetricName, Namespace, Statistic), not metric math or Metrics Insights alarms.")
	case a.namespace == "" || a.metricName == "":
		return missingParameter("The parameters MetricName and Namespace are required for a single-metric alarm.")
	case in["ExtendedStatistic"] != nil:
		return validationError("localcloud does not emulate percentile alarms (ExtendedStatistic); use Statistic.")
	case a.statistic == "":
		return cwError(http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination",
			"Exactly one of the parameters Statistic or ExtendedStatistic must be specified.")
	}
	if _, ok := statistic(Datapoint{SampleCount: 1}, a.statistic); !ok {
		return validationError("1 validation error detected: Value '%s' at 'statistic' failed to satisfy constraint: Member must satisfy enum value set: [Maximum, SampleCount, Sum, Minimum, Average]", a.statistic)
	}
	if v, ok := boolean(in["ActionsEnabled"]); ok {
		a.actionsEnabled = v
	}
	var err error
	var present bool
	if a.period, present, err = intParam(in, "Period"); err != nil {
		return err
	} else if !present {
		return missingParameter("The parameter Period is required.")
	}
	if a.period != 10 && a.period != 20 && a.period != 30 && (a.period < 60 || a.period%60 != 0) {
		return validationError("The parameter Period must be 10, 20, 30 or a multiple of 60; %d is not.", a.period)
	}
	if a.evaluationPeriods, present, err = intParam(in, "EvaluationPeriods"); err != nil {
		return err
	} else if !present {
		return missingParameter("The parameter EvaluationPeriods is required.")
	} else if a.evaluationPeriods < 1 {
		return validationError("The parameter EvaluationPeriods must be at least 1.")
	}
	if limit := 86400; a.period < 3600 && a.period*a.evaluationPeriods > limit {
		return validationError("The total evaluation period (Period × EvaluationPeriods = %d s) of an alarm with a period under an hour cannot exceed one day (%d s).", a.period*a.evaluationPeriods, limit)
	} else if limit := 604800; a.period*a.evaluationPeriods > limit {
		return validationError("The total evaluation period (Period × EvaluationPeriods = %d s) cannot exceed seven days (%d s).", a.period*a.evaluationPeriods, limit)
	}
	a.toAlarm = a.evaluationPeriods
	if n, present, err := intParam(in, "DatapointsToAlarm"); err != nil {
		return err
	} else if present {
		if n < 1 || n > a.evaluationPeriods {
			return validationError("DatapointsToAlarm (%d) must be between 1 and EvaluationPeriods (%d).", n, a.evaluationPeriods)
		}
		a.toAlarm = n
	}
	threshold, present := in["Threshold"]
	if !present {
		return missingParameter("The parameter Threshold is required for an alarm on a static threshold.")
	}
	var ok bool
	if a.threshold, ok = num(threshold); !ok {
		return invalidParameter("The parameter Threshold must be a number.")
	}
	if comparisonOperators[a.comparison] == nil {
		if a.comparison == "" {
			return missingParameter("The parameter ComparisonOperator is required.")
		}
		return validationError("ComparisonOperator %q: localcloud evaluates GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold and LessThanOrEqualToThreshold (no anomaly detection bands).", a.comparison)
	}
	switch a.treatMissing {
	case "", "missing", "ignore", "breaching", "notBreaching":
	default:
		return validationError("TreatMissingData %q: use breaching, notBreaching, ignore or missing.", a.treatMissing)
	}
	if len(a.dims) > 30 {
		return validationError("An alarm's metric can have at most 30 dimensions.")
	}
	dims := map[string]string{}
	for i, d := range a.dims {
		dm, _ := d.(map[string]any)
		if str(dm, "Name") == "" || str(dm, "Value") == "" {
			return missingParameter("The parameters Dimensions.member.%d.Name and Dimensions.member.%d.Value are required.", i+1, i+1)
		}
		dims[str(dm, "Name")] = str(dm, "Value")
	}
	a.dimKey = dimensionKey(dims)
	for _, actions := range [][]string{a.okActions, a.alarmActions, a.insufficient} {
		if len(actions) > 5 {
			return validationError("An alarm can have at most 5 actions per state.")
		}
		for _, arn := range actions {
			p := strings.Split(arn, ":")
			if len(p) != 6 || p[0] != "arn" || p[2] != "sns" {
				return validationError("Invalid action %s: localcloud emulates SNS topic actions only.", arn)
			}
			if p[3] != req.region {
				return validationError("Invalid region %s specified. Only %s is supported.", p[3], req.region)
			}
		}
	}
	a.arn = c.s.AlarmARN(req.region, a.name)
	now := time.Now().UTC()
	a.configUpdated = now

	c.mu.Lock()
	if c.alarms[req.region] == nil {
		c.alarms[req.region] = map[string]*metricAlarm{}
	}
	if old, ok := c.alarms[req.region][a.name]; ok {
		// An update overwrites the configuration and keeps the state.
		a.state, a.reason, a.reasonData, a.stateUpdated, a.transition = old.state, old.reason, old.reasonData, old.stateUpdated, old.transition
	} else {
		a.state, a.reason, a.stateUpdated, a.transition = AlarmInsufficientData, "Unchecked: Initial alarm creation", now, now
	}
	c.alarms[req.region][a.name] = a
	startLoop := !c.evaluating
	c.evaluating = true
	c.mu.Unlock()
	if startLoop {
		c.s.goBackground(c.evaluateAlarms)
	}
	return nil
}

func (a *metricAlarm) describe() map[string]any {
	m := map[string]any{
		"AlarmName": a.name, "AlarmArn": a.arn, "AlarmConfigurationUpdatedTimestamp": a.configUpdated,
		"ActionsEnabled": a.actionsEnabled, "OKActions": stringsAny(a.okActions), "AlarmActions": stringsAny(a.alarmActions),
		"InsufficientDataActions": stringsAny(a.insufficient), "StateValue": a.state, "StateReason": a.reason,
		"StateUpdatedTimestamp": a.stateUpdated, "StateTransitionedTimestamp": a.transition,
		"MetricName": a.metricName, "Namespace": a.namespace, "Statistic": a.statistic, "Dimensions": a.dims,
		"Period": a.period, "EvaluationPeriods": a.evaluationPeriods, "DatapointsToAlarm": a.toAlarm,
		"Threshold": a.threshold, "ComparisonOperator": a.comparison,
	}
	if a.dims == nil {
		m["Dimensions"] = []any{}
	}
	optional := map[string]string{"AlarmDescription": a.description, "StateReasonData": a.reasonData, "TreatMissingData": a.treatMissing, "Unit": a.unit}
	for k, v := range optional {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func stringsAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (c *cloudwatchService) describeAlarms(req *request, in map[string]any) (map[string]any, error) {
	names, prefix := strList(in, "AlarmNames"), str(in, "AlarmNamePrefix")
	if len(names) > 0 && prefix != "" {
		return nil, cwError(http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination",
			"AlarmNames and AlarmNamePrefix cannot be specified together.")
	}
	if len(names) > 100 {
		return nil, validationError("AlarmNames can name at most 100 alarms.")
	}
	stateValue := str(in, "StateValue")
	switch stateValue {
	case "", AlarmOK, AlarmAlarm, AlarmInsufficientData:
	default:
		return nil, validationError("1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", stateValue)
	}
	maxRecords, present, err := intParam(in, "MaxRecords")
	if err != nil {
		return nil, err
	}
	if !present {
		maxRecords = 50
	} else if maxRecords < 1 || maxRecords > 100 {
		return nil, validationError("MaxRecords must be between 1 and 100.")
	}
	types := strList(in, "AlarmTypes")
	wantMetric := len(types) == 0
	for _, t := range types {
		wantMetric = wantMetric || t == "MetricAlarm"
	}
	after := ""
	if tok := str(in, "NextToken"); tok != "" {
		var ok bool
		if after, ok = strings.CutPrefix(tok, "after:"); !ok {
			return nil, cwError(http.StatusBadRequest, "InvalidNextToken", "InvalidNextToken", "The service returned an invalid next token.")
		}
	}
	wanted := map[string]bool{}
	for _, n := range names {
		wanted[n] = true
	}
	actionPrefix := str(in, "ActionPrefix")
	c.mu.Lock()
	var matched []map[string]any
	var matchedNames []string
	for _, a := range c.alarms[req.region] {
		if !wantMetric || (len(names) > 0 && !wanted[a.name]) || !strings.HasPrefix(a.name, prefix) ||
			(stateValue != "" && a.state != stateValue) || a.name <= after && after != "" ||
			(actionPrefix != "" && !hasActionPrefix(a, actionPrefix)) {
			continue
		}
		matched = append(matched, a.describe())
		matchedNames = append(matchedNames, a.name)
	}
	c.mu.Unlock()
	sort.Slice(matched, func(i, j int) bool { return matched[i]["AlarmName"].(string) < matched[j]["AlarmName"].(string) })
	sort.Strings(matchedNames)
	out := map[string]any{"CompositeAlarms": []any{}}
	if len(matched) > maxRecords {
		out["NextToken"] = "after:" + matchedNames[maxRecords-1]
		matched = matched[:maxRecords]
	}
	alarms := make([]any, len(matched))
	for i, m := range matched {
		alarms[i] = m
	}
	out["MetricAlarms"] = alarms
	return out, nil
}

func hasActionPrefix(a *metricAlarm, prefix string) bool {
	for _, actions := range [][]string{a.okActions, a.alarmActions, a.insufficient} {
		for _, arn := range actions {
			if strings.HasPrefix(arn, prefix) {
				return true
			}
		}
	}
	return false
}

func (c *cloudwatchService) deleteAlarms(req *request, in map[string]any) error {
	names := strList(in, "AlarmNames")
	if len(names) == 0 {
		return missingParameter("The parameter AlarmNames is required.")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// All or nothing: an unknown name deletes none.
	for _, n := range names {
		if c.alarms[req.region][n] == nil {
			return alarmNotFound("Alarm %s does not exist in %s.", n, req.region)
		}
	}
	for _, n := range names {
		delete(c.alarms[req.region], n)
	}
	return nil
}

// setAlarmState sets a state until the next evaluation, as AWS does for testing actions.
func (c *cloudwatchService) setAlarmState(req *request, in map[string]any) error {
	name, state, reason := str(in, "AlarmName"), str(in, "StateValue"), str(in, "StateReason")
	switch {
	case name == "" || state == "" || reason == "":
		return missingParameter("The parameters AlarmName, StateValue and StateReason are required.")
	case state != AlarmOK && state != AlarmAlarm && state != AlarmInsufficientData:
		return validationError("1 validation error detected: Value '%s' at 'stateValue' failed to satisfy constraint: Member must satisfy enum value set: [INSUFFICIENT_DATA, ALARM, OK]", state)
	}
	data := str(in, "StateReasonData")
	if data != "" && !json.Valid([]byte(data)) {
		return cwError(http.StatusBadRequest, "InvalidFormatFault", "InvalidFormat", "StateReasonData is not valid JSON.")
	}
	c.mu.Lock()
	a := c.alarms[req.region][name]
	if a == nil {
		c.mu.Unlock()
		return alarmNotFound("Alarm %s does not exist in %s.", name, req.region)
	}
	change := c.transition(a, state, reason, data, time.Now().UTC())
	c.mu.Unlock()
	c.act(change)
	return nil
}

// alarmChange is a state transition to act on once the lock is released.
type alarmChange struct {
	alarm            metricAlarm // a copy, as it was just after the change
	oldState, oldWhy string
	oldData          string
	oldAt            time.Time
	newState, newWhy string
	newData          string
	at               time.Time
	changed          bool
}

// transition must be called with c.mu held.
func (c *cloudwatchService) transition(a *metricAlarm, state, reason, data string, now time.Time) alarmChange {
	ch := alarmChange{oldState: a.state, oldWhy: a.reason, oldData: a.reasonData, oldAt: a.stateUpdated,
		newState: state, newWhy: reason, newData: data, at: now, changed: a.state != state}
	a.reason, a.reasonData, a.stateUpdated = reason, data, now
	if ch.changed {
		a.state, a.transition = state, now
	}
	ch.alarm = *a
	return ch
}

// alarmPeriod is an alarm's period on the emulator's clock.
func (c *cloudwatchService) alarmPeriod(a *metricAlarm) time.Duration {
	return time.Duration(float64(time.Duration(a.period)*time.Second) / c.s.timing.AlarmSpeedup)
}

// evaluateAlarms runs while the server does, evaluating each alarm at the end of each of its
// periods, as CloudWatch does.
func (c *cloudwatchService) evaluateAlarms(ctx context.Context) {
	tick := max(time.Duration(float64(10*time.Second)/c.s.timing.AlarmSpeedup)/4, 5*time.Millisecond)
	for sleep(ctx, tick) {
		now := time.Now().UTC()
		var changes []alarmChange
		c.mu.Lock()
		for _, byName := range c.alarms {
			for _, a := range byName {
				if now.Before(a.nextEval) {
					continue
				}
				p := c.alarmPeriod(a)
				a.nextEval = now.Truncate(p).Add(p)
				state, reason, data := c.evaluate(a, now)
				if state == a.state && reason == a.reason {
					continue
				}
				if ch := c.transition(a, state, reason, data, now); ch.changed {
					changes = append(changes, ch)
				}
			}
		}
		c.mu.Unlock()
		for _, ch := range changes {
			c.act(ch)
		}
	}
}

// evaluationRange is how many periods back an evaluation looks for real datapoints. CloudWatch
// retrieves more periods than EvaluationPeriods (how many more depends on the period; not
// documented exactly) so that late or missing datapoints do not count as missing while older
// real ones exist; the emulator looks back twice EvaluationPeriods.
const evaluationRange = 2

// evaluate applies the alarm's rule as CloudWatch documents it ("How CloudWatch alarms treat
// missing data"): over the evaluation range of complete periods, the most recent
// EvaluationPeriods real datapoints are evaluated; only when there are fewer than that are the
// missing ones filled in as TreatMissingData says. ALARM when DatapointsToAlarm of them breach.
// Must be called with c.mu held.
func (c *cloudwatchService) evaluate(a *metricAlarm, now time.Time) (state, reason, data string) {
	p := c.alarmPeriod(a)
	minute := time.Duration(float64(time.Minute) / c.s.timing.AlarmSpeedup)
	end := now.Truncate(p)
	start := end.Add(-time.Duration(evaluationRange*a.evaluationPeriods) * p)
	buckets := map[time.Time]Datapoint{}
	for _, d := range c.series[metricSeries{a.region, a.namespace, a.metricName, a.dimKey}] {
		ts := d.Timestamp
		if !d.HighResolution {
			// Standard-resolution data exists once a minute: a sub-minute alarm sees it only in
			// the period holding the minute's start, and lapses into missing data in the others.
			ts = ts.Truncate(minute)
		}
		if ts.Before(start) || !ts.Before(end) {
			continue
		}
		b := ts.Truncate(p)
		agg, ok := buckets[b]
		if !ok {
			agg = Datapoint{Timestamp: b, Minimum: math.Inf(1), Maximum: math.Inf(-1)}
		}
		agg.SampleCount += d.SampleCount
		agg.Sum += d.Sum
		agg.Minimum = math.Min(agg.Minimum, d.Minimum)
		agg.Maximum = math.Max(agg.Maximum, d.Maximum)
		buckets[b] = agg
	}
	breaches := comparisonOperators[a.comparison]
	var breaching, good, real int
	var shown []string
	evaluated := []any{}
	for t := end.Add(-p); !t.Before(start) && real < a.evaluationPeriods; t = t.Add(-p) {
		d, ok := buckets[t]
		if !ok {
			continue
		}
		real++
		v, _ := statistic(d, a.statistic)
		if breaches(v, a.threshold) {
			breaching++
		} else {
			good++
		}
		shown = append(shown, fmt.Sprintf("%s (%s)", strconv.FormatFloat(v, 'f', -1, 64), t.Format("02/01/06 15:04:05")))
		evaluated = append(evaluated, map[string]any{"timestamp": cwTime(t), "sampleCount": d.SampleCount, "value": v})
	}
	filled := a.evaluationPeriods - real
	switch a.treatMissing {
	case "breaching":
		breaching += filled
	case "notBreaching":
		good += filled
	}
	reasonData, _ := json.Marshal(map[string]any{"version": "1.0", "queryDate": cwTime(now), "startDate": cwTime(start),
		"statistic": a.statistic, "period": a.period, "recentDatapoints": evaluated, "threshold": a.threshold,
		"evaluatedDatapoints": evaluated})
	threshold := strconv.FormatFloat(a.threshold, 'f', -1, 64)
	switch {
	case breaching >= a.toAlarm:
		return AlarmAlarm, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] were %s the threshold (%s) (minimum %d datapoints for OK -> ALARM transition).",
			breaching, a.evaluationPeriods, strings.Join(shown, ", "), comparisonWords[a.comparison], threshold, a.toAlarm), string(reasonData)
	case breaching+good == 0 && a.treatMissing == "ignore":
		return a.state, a.reason, a.reasonData
	case breaching+good == 0:
		return AlarmInsufficientData, fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", filled), string(reasonData)
	}
	return AlarmOK, fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints were not %s the threshold (%s) (minimum %d datapoints for ALARM -> OK transition).",
		good, a.evaluationPeriods, comparisonWords[a.comparison], threshold, a.evaluationPeriods-a.toAlarm+1), string(reasonData)
}

// cwTime is CloudWatch's timestamp format in notifications and events: 2026-11-21T05:40:00.123+0000.
func cwTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

// act does what CloudWatch does on a state change: one "CloudWatch Alarm State Change" event to
// EventBridge in the alarm's region, always, and when actions are enabled a notification to each
// SNS topic of the new state's actions.
func (c *cloudwatchService) act(ch alarmChange) {
	if !ch.changed {
		return
	}
	a := &ch.alarm
	c.s.putEvent(a.region, "aws.cloudwatch", "CloudWatch Alarm State Change", []string{a.arn}, alarmEventDetail(ch))
	if !a.actionsEnabled {
		return
	}
	actions := map[string][]string{AlarmOK: a.okActions, AlarmAlarm: a.alarmActions, AlarmInsufficientData: a.insufficient}[ch.newState]
	for _, topic := range actions {
		msg := SNSMessage{MessageID: newUUID(), TopicARN: topic,
			Subject: fmt.Sprintf("%s: %q in %s", ch.newState, a.name, regionName(a.region)),
			Message: alarmNotification(c.s.account, ch), Attributes: map[string]SNSAttribute{}}
		if err := c.s.sns.deliver(msg); err != nil {
			// CloudWatch records a failed action in the alarm's history and carries on.
			c.s.log.Warn("localcloud: alarm action failed", "alarm", a.name, "topic", topic, "error", err.Error())
		}
	}
}

func alarmEventDetail(ch alarmChange) map[string]any {
	a := &ch.alarm
	dims := map[string]any{}
	for _, d := range a.dims {
		dm, _ := d.(map[string]any)
		dims[str(dm, "Name")] = str(dm, "Value")
	}
	state := func(value, reason, data string, at time.Time) map[string]any {
		s := map[string]any{"value": value, "reason": reason, "timestamp": cwTime(at)}
		if data != "" {
			s["reasonData"] = data
		}
		return s
	}
	config := map[string]any{"metrics": []any{map[string]any{
		"id": newUUID(), "returnData": true,
		"metricStat": map[string]any{"metric": map[string]any{"namespace": a.namespace, "name": a.metricName, "dimensions": dims},
			"period": a.period, "stat": a.statistic},
	}}}
	if a.description != "" {
		config["description"] = a.description
	}
	return map[string]any{
		"alarmName":     a.name,
		"state":         state(ch.newState, ch.newWhy, ch.newData, ch.at),
		"previousState": state(ch.oldState, ch.oldWhy, ch.oldData, ch.oldAt),
		"configuration": config,
	}
}

// alarmNotification is the JSON message CloudWatch publishes to an alarm action's SNS topic.
func alarmNotification(account string, ch alarmChange) string {
	a := &ch.alarm
	dims := []any{}
	for _, d := range a.dims {
		dm, _ := d.(map[string]any)
		dims = append(dims, map[string]any{"name": str(dm, "Name"), "value": str(dm, "Value")})
	}
	unit := any(nil)
	if a.unit != "" {
		unit = a.unit
	}
	treat := a.treatMissing
	if treat == "" {
		treat = "missing"
	}
	b, _ := json.Marshal(map[string]any{
		"AlarmName": a.name, "AlarmDescription": a.description, "AWSAccountId": account,
		"AlarmConfigurationUpdatedTimestamp": cwTime(a.configUpdated), "NewStateValue": ch.newState,
		"NewStateReason": ch.newWhy, "StateChangeTime": cwTime(ch.at), "Region": regionName(a.region),
		"AlarmArn": a.arn, "OldStateValue": ch.oldState, "OKActions": a.okActions, "AlarmActions": a.alarmActions,
		"InsufficientDataActions": a.insufficient,
		"Trigger": map[string]any{"MetricName": a.metricName, "Namespace": a.namespace, "StatisticType": "Statistic",
			"Statistic": strings.ToUpper(a.statistic), "Unit": unit, "Dimensions": dims, "Period": a.period,
			"EvaluationPeriods": a.evaluationPeriods, "DatapointsToAlarm": a.toAlarm, "ComparisonOperator": a.comparison,
			"Threshold": a.threshold, "TreatMissingData": treat, "EvaluateLowSampleCountPercentile": ""},
	})
	return string(b)
}

// regionName is the long region name CloudWatch writes in notifications.
func regionName(region string) string {
	names := map[string]string{"us-east-1": "US East (N. Virginia)", "us-east-2": "US East (Ohio)",
		"us-west-1": "US West (N. California)", "us-west-2": "US West (Oregon)", "eu-west-1": "EU (Ireland)",
		"eu-central-1": "EU (Frankfurt)", "ap-southeast-2": "Asia Pacific (Sydney)", "ap-northeast-1": "Asia Pacific (Tokyo)"}
	if n, ok := names[region]; ok {
		return n
	}
	return region
}

// AlarmState returns an alarm's current state and reason; ok is false when no such alarm exists.
func (s *Server) AlarmState(region, name string) (state, reason string, ok bool) {
	c := s.cloudwatch
	c.mu.Lock()
	defer c.mu.Unlock()
	a := c.alarms[region][name]
	if a == nil {
		return "", "", false
	}
	return a.state, a.reason, true
}
