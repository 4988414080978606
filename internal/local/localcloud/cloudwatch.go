package localcloud

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Aurora global database lag metrics, which the emulator reads from the GlobalDatabase backend
// of a secondary cluster whenever they are queried.
const (
	metricReplicationLag = "AuroraGlobalDBReplicationLag"
	metricRPOLag         = "AuroraGlobalDBRPOLag"
)

// Datapoint is one stored metric sample (or pre-aggregated statistic set).
type Datapoint struct {
	Timestamp   time.Time
	SampleCount float64
	Sum         float64
	Minimum     float64
	Maximum     float64
	Unit        string
	// HighResolution says the datapoint was stored with StorageResolution 1; others count at
	// one-minute resolution only.
	HighResolution bool
}

type metricSeries struct {
	region, namespace, name, dims string
}

type cloudwatchService struct {
	s *Server

	mu     sync.Mutex
	series map[metricSeries][]Datapoint
	alarms map[string]map[string]*metricAlarm // by region, then name
	// evaluating says the alarm evaluation loop has started (with the first alarm).
	evaluating bool
}

func newCloudWatchService(s *Server) *cloudwatchService {
	return &cloudwatchService{s: s, series: map[metricSeries][]Datapoint{}, alarms: map[string]map[string]*metricAlarm{}}
}

// dimensionKey is the canonical form of a dimension set: CloudWatch treats each distinct set as a
// different metric, regardless of order.
func dimensionKey(dims map[string]string) string {
	parts := make([]string, 0, len(dims))
	for k, v := range dims {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// MetricData returns the datapoints stored for a metric in a region, oldest first.
func (s *Server) MetricData(region, namespace, name string, dims map[string]string) []Datapoint {
	c := s.cloudwatch
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Datapoint(nil), c.series[metricSeries{region, namespace, name, dimensionKey(dims)}]...)
}

func (c *cloudwatchService) put(key metricSeries, d Datapoint) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.series[key] = append(c.series[key], d)
}

func cwError(status int, shape, queryCode, message string) *APIError {
	return &APIError{Status: status, Code: queryCode, Message: message, shape: shape}
}

func cloudwatchThrottle() *APIError {
	return cwError(http.StatusBadRequest, "Throttling", "Throttling", "Rate exceeded")
}

func missingParameter(format string, args ...any) *APIError {
	return cwError(http.StatusBadRequest, "MissingRequiredParameterException", "MissingParameter", fmt.Sprintf(format, args...))
}

func (c *cloudwatchService) serve(w http.ResponseWriter, req *request) {
	requestID := c.s.requestID()
	proto, op := cloudwatchRequest(req)
	body, err := readBody(req)
	if err != nil {
		writeCloudWatchError(w, proto, requestID, cwError(http.StatusBadRequest, "InvalidFormatFault", "InvalidFormat", err.Error()))
		return
	}
	in, action, err := decodeCloudWatch(proto, req, body)
	if proto == cwQuery {
		op = action
	}
	if e := c.s.admit(req, "cloudwatch:"+op, cloudwatchThrottle); e != nil {
		writeCloudWatchError(w, proto, requestID, e)
		return
	}
	if err != nil {
		writeCloudWatchError(w, proto, requestID, cwError(http.StatusBadRequest, "InvalidFormatFault", "InvalidFormat", err.Error()))
		return
	}
	var out map[string]any
	switch op {
	case "PutMetricData":
		err = c.putMetricData(req, in)
	case "GetMetricData":
		out, err = c.getMetricData(req, in)
	case "GetMetricStatistics":
		out, err = c.getMetricStatistics(req, in)
	case "PutMetricAlarm":
		err = c.putMetricAlarm(req, in)
	case "DescribeAlarms":
		out, err = c.describeAlarms(req, in)
	case "DeleteAlarms":
		err = c.deleteAlarms(req, in)
	case "SetAlarmState":
		err = c.setAlarmState(req, in)
	default:
		err = cwError(http.StatusBadRequest, "InvalidAction", "InvalidAction", fmt.Sprintf("The action %s is not valid for this web service: "+
			"localcloud emulates PutMetricData, GetMetricData, GetMetricStatistics, PutMetricAlarm, DescribeAlarms, DeleteAlarms and SetAlarmState.", op))
	}
	if err != nil {
		writeCloudWatchError(w, proto, requestID, asAPIError(err))
		return
	}
	writeCloudWatchResult(w, proto, op, requestID, out)
}

// readBody reads the request body, gunzipping it when the client compressed it: the SDK
// compresses PutMetricData (its requestCompression trait) by default.
func readBody(req *request) ([]byte, error) {
	var r io.Reader = req.Body
	if strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	return io.ReadAll(r)
}

func invalidParameter(format string, args ...any) *APIError {
	return cwError(http.StatusBadRequest, "InvalidParameterValueException", "InvalidParameterValue", fmt.Sprintf(format, args...))
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func list(m map[string]any, k string) []any {
	l, _ := m[k].([]any)
	return l
}

func dimensions(m map[string]any) map[string]string {
	dims := map[string]string{}
	for _, d := range list(m, "Dimensions") {
		if dm, ok := d.(map[string]any); ok {
			dims[str(dm, "Name")] = str(dm, "Value")
		}
	}
	return dims
}

func (c *cloudwatchService) putMetricData(req *request, in map[string]any) error {
	ns := str(in, "Namespace")
	if ns == "" {
		return missingParameter("The parameter Namespace is required.")
	}
	if strings.HasPrefix(ns, "AWS/") {
		return invalidParameter("The value AWS/ for parameter Namespace is invalid.")
	}
	// Validate every datum before storing any: a refused call stores nothing.
	type put struct {
		key metricSeries
		d   []Datapoint
	}
	var puts []put
	for i, item := range list(in, "MetricData") {
		md, _ := item.(map[string]any)
		name := str(md, "MetricName")
		if name == "" {
			return missingParameter("The parameter MetricData.member.%d.MetricName is required.", i+1)
		}
		ts := time.Now().UTC()
		if v, present := md["Timestamp"]; present {
			var ok bool
			if ts, ok = timestamp(v); !ok {
				return invalidParameter("The parameter MetricData.member.%d.Timestamp must be a timestamp.", i+1)
			}
		}
		highRes := false
		if v, present := md["StorageResolution"]; present {
			r, _ := num(v)
			if r != 1 && r != 60 {
				return invalidParameter("The value %v for parameter MetricData.member.%d.StorageResolution is invalid: use 1 (high resolution) or 60.", v, i+1)
			}
			highRes = r == 1
		}
		p := put{key: metricSeries{req.region, ns, name, dimensionKey(dimensions(md))}}
		unit := str(md, "Unit")
		if raw, present := md["Value"]; present {
			v, ok := num(raw)
			if !ok {
				return invalidParameter("The parameter MetricData.member.%d.Value must be a number.", i+1)
			}
			p.d = append(p.d, Datapoint{Timestamp: ts, SampleCount: 1, Sum: v, Minimum: v, Maximum: v, Unit: unit, HighResolution: highRes})
		}
		counts := list(md, "Counts")
		values := list(md, "Values")
		if len(counts) > 0 && len(counts) != len(values) {
			return cwError(http.StatusBadRequest, "InvalidParameterCombinationException", "InvalidParameterCombination",
				fmt.Sprintf("The parameters MetricData.member.%d.Values and MetricData.member.%d.Counts must be of the same size.", i+1, i+1))
		}
		for j, vv := range values {
			v, ok := num(vv)
			n := 1.0
			if j < len(counts) {
				n, _ = num(counts[j])
			}
			if !ok {
				return invalidParameter("The parameter MetricData.member.%d.Values.member.%d must be a number.", i+1, j+1)
			}
			p.d = append(p.d, Datapoint{Timestamp: ts, SampleCount: n, Sum: v * n, Minimum: v, Maximum: v, Unit: unit, HighResolution: highRes})
		}
		if sv, ok := md["StatisticValues"].(map[string]any); ok {
			d := Datapoint{Timestamp: ts, Unit: unit, HighResolution: highRes}
			d.SampleCount, _ = num(sv["SampleCount"])
			d.Sum, _ = num(sv["Sum"])
			d.Minimum, _ = num(sv["Minimum"])
			d.Maximum, _ = num(sv["Maximum"])
			p.d = append(p.d, d)
		}
		puts = append(puts, p)
	}
	for _, p := range puts {
		for _, d := range p.d {
			c.put(p.key, d)
		}
	}
	return nil
}

// sampleLag records the current lag of the secondary cluster named by a DBClusterIdentifier
// dimension, as Aurora publishes it from secondary regions only.
func (c *cloudwatchService) sampleLag(ctx context.Context, region, namespace, name string, dims map[string]string) error {
	if namespace != "AWS/RDS" || (name != metricReplicationLag && name != metricRPOLag) || len(dims) != 1 || dims["DBClusterIdentifier"] == "" {
		return nil
	}
	c.s.rds.mu.Lock()
	var gcs []*globalCluster
	for _, gc := range c.s.rds.globals {
		gcs = append(gcs, gc)
	}
	c.s.rds.mu.Unlock()
	for _, gc := range gcs {
		st, err := gc.db.Describe(ctx)
		if err != nil {
			return fmt.Errorf("read lag of %s: %w", dims["DBClusterIdentifier"], err)
		}
		for _, m := range st.Members {
			a, _ := parseClusterARN(m.ARN)
			if a.region != region || a.id != dims["DBClusterIdentifier"] || m.Writer {
				continue
			}
			lag, err := gc.db.ReplicationLag(ctx, m.ARN)
			if err != nil {
				return fmt.Errorf("read lag of %s: %w", m.ARN, err)
			}
			ms := float64(lag) / float64(time.Millisecond)
			c.put(metricSeries{region, namespace, name, dimensionKey(dims)},
				Datapoint{Timestamp: time.Now().UTC(), SampleCount: 1, Sum: ms, Minimum: ms, Maximum: ms, Unit: "Milliseconds"})
		}
	}
	return nil
}

// bucket aggregates the datapoints in [start, end) into period-long buckets aligned to start.
func (c *cloudwatchService) bucket(key metricSeries, start, end time.Time, period time.Duration) map[time.Time]Datapoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[time.Time]Datapoint{}
	for _, d := range c.series[key] {
		if d.Timestamp.Before(start) || !d.Timestamp.Before(end) {
			continue
		}
		b := start.Add(d.Timestamp.Sub(start) / period * period)
		agg, ok := out[b]
		if !ok {
			agg = Datapoint{Timestamp: b, Minimum: math.Inf(1), Maximum: math.Inf(-1), Unit: d.Unit}
		}
		agg.SampleCount += d.SampleCount
		agg.Sum += d.Sum
		agg.Minimum = math.Min(agg.Minimum, d.Minimum)
		agg.Maximum = math.Max(agg.Maximum, d.Maximum)
		out[b] = agg
	}
	return out
}

func statistic(d Datapoint, stat string) (float64, bool) {
	switch stat {
	case "Average":
		return d.Sum / d.SampleCount, d.SampleCount > 0
	case "Sum":
		return d.Sum, true
	case "Minimum":
		return d.Minimum, true
	case "Maximum":
		return d.Maximum, true
	case "SampleCount":
		return d.SampleCount, true
	}
	return 0, false
}

func timeRange(in map[string]any) (time.Time, time.Time, error) {
	start, ok1 := timestamp(in["StartTime"])
	end, ok2 := timestamp(in["EndTime"])
	if !ok1 || !ok2 {
		return start, end, missingParameter("StartTime and EndTime are required.")
	}
	if !start.Before(end) {
		return start, end, invalidParameter("The parameter StartTime must be less than the parameter EndTime.")
	}
	return start, end, nil
}

func period(v any) (time.Duration, error) {
	p, ok := num(v)
	if !ok || p < 1 {
		return 0, invalidParameter("The parameter Period must be a positive number of seconds.")
	}
	return time.Duration(p) * time.Second, nil
}

func (c *cloudwatchService) getMetricData(req *request, in map[string]any) (map[string]any, error) {
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	descending := str(in, "ScanBy") != "TimestampAscending"
	var results []any
	for _, q := range list(in, "MetricDataQueries") {
		qm, _ := q.(map[string]any)
		id := str(qm, "Id")
		ms, ok := qm["MetricStat"].(map[string]any)
		if !ok {
			return nil, invalidParameter("Query %s: localcloud supports MetricStat queries only, not Expression.", id)
		}
		metric, _ := ms["Metric"].(map[string]any)
		stat := str(ms, "Stat")
		if _, ok := statistic(Datapoint{SampleCount: 1}, stat); !ok {
			return nil, invalidParameter("Query %s: statistic %q is not supported (use Average, Sum, Minimum, Maximum or SampleCount).", id, stat)
		}
		p, err := period(ms["Period"])
		if err != nil {
			return nil, err
		}
		ns, name, dims := str(metric, "Namespace"), str(metric, "MetricName"), dimensions(metric)
		if err := c.sampleLag(req.Context(), req.region, ns, name, dims); err != nil {
			return nil, err
		}
		buckets := c.bucket(metricSeries{req.region, ns, name, dimensionKey(dims)}, start, end, p)
		times := make([]time.Time, 0, len(buckets))
		for t := range buckets {
			times = append(times, t)
		}
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) != descending })
		values := make([]float64, 0, len(times))
		for _, t := range times {
			v, _ := statistic(buckets[t], stat)
			values = append(values, v)
		}
		label := str(qm, "Label")
		if label == "" {
			label = name
		}
		if rd, ok := boolean(qm["ReturnData"]); ok && !rd {
			continue
		}
		results = append(results, map[string]any{
			"Id": id, "Label": label, "Timestamps": times, "Values": values, "StatusCode": "Complete",
		})
	}
	if results == nil {
		results = []any{}
	}
	return map[string]any{"MetricDataResults": results, "Messages": []any{}}, nil
}

func (c *cloudwatchService) getMetricStatistics(req *request, in map[string]any) (map[string]any, error) {
	start, end, err := timeRange(in)
	if err != nil {
		return nil, err
	}
	p, err := period(in["Period"])
	if err != nil {
		return nil, err
	}
	stats := list(in, "Statistics")
	if len(stats) == 0 {
		return nil, missingParameter("Statistics or ExtendedStatistics is required; localcloud supports Statistics only.")
	}
	ns, name, dims := str(in, "Namespace"), str(in, "MetricName"), dimensions(in)
	if err := c.sampleLag(req.Context(), req.region, ns, name, dims); err != nil {
		return nil, err
	}
	buckets := c.bucket(metricSeries{req.region, ns, name, dimensionKey(dims)}, start, end, p)
	points := []any{}
	for t, d := range buckets {
		dp := map[string]any{"Timestamp": t, "Unit": d.Unit}
		if dp["Unit"] == "" {
			dp["Unit"] = "None"
		}
		for _, s := range stats {
			st, _ := s.(string)
			v, ok := statistic(d, st)
			if !ok {
				return nil, invalidParameter("Statistic %q is not valid (use Average, Sum, Minimum, Maximum or SampleCount).", st)
			}
			dp[st] = v
		}
		points = append(points, dp)
	}
	return map[string]any{"Label": name, "Datapoints": points}, nil
}
