package localcloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// speedup runs 10-second periods in 100 ms and minutes in 600 ms.
const speedup = 100

const scaledPeriod = 10 * time.Second / speedup

// eventLog collects the events a rule delivers.
type eventLog struct {
	mu     sync.Mutex
	events []map[string]any
}

func (l *eventLog) target(_ context.Context, ev []byte) error {
	var m map[string]any
	json.Unmarshal(ev, &m)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, m)
	return nil
}

func (l *eventLog) states() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, field(field(e["detail"], "state"), "value").(string))
	}
	return out
}

func alarmSetup(t *testing.T) (*localcloud.Server, *cloudwatch.Client) {
	t.Helper()
	s := start(t, localcloud.Options{Timing: localcloud.Timing{AlarmSpeedup: speedup}})
	return s, cloudwatchClient(s, east)
}

func peerAlarm(name, treat string) *cloudwatch.PutMetricAlarmInput {
	return &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("Switchyard"), MetricName: aws.String(name + "-metric"),
		Statistic: cwtypes.StatisticAverage, Period: aws.Int32(10), EvaluationPeriods: aws.Int32(6), DatapointsToAlarm: aws.Int32(4),
		Threshold: aws.Float64(0.5), ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
		TreatMissingData: aws.String(treat),
	}
}

// putSamples stores one sample per scaled period, the newest in the last complete period.
func putSamples(t *testing.T, c *cloudwatch.Client, metric string, highRes bool, values ...float64) {
	t.Helper()
	end := time.Now().Truncate(scaledPeriod)
	var data []cwtypes.MetricDatum
	for i, v := range values {
		at := end.Add(-time.Duration(len(values)-i) * scaledPeriod).Add(scaledPeriod / 2)
		d := cwtypes.MetricDatum{MetricName: aws.String(metric), Timestamp: aws.Time(at), Value: aws.Float64(v)}
		if highRes {
			d.StorageResolution = aws.Int32(1)
		}
		data = append(data, d)
	}
	if _, err := c.PutMetricData(ctx(t), &cloudwatch.PutMetricDataInput{Namespace: aws.String("Switchyard"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData: %v", err)
	}
}

func TestAlarmRaisedAndDelivered(t *testing.T) {
	s, c := alarmSetup(t)
	topic := s.TopicARN(east, "alarms")
	s.AddTopic(topic)
	notified := make(chan localcloud.SNSMessage, 4)
	s.SubscribeSNS(func(m localcloud.SNSMessage) { notified <- m })
	matched, other := &eventLog{}, &eventLog{}
	pattern := `{"source":["aws.cloudwatch"],"detail-type":["CloudWatch Alarm State Change"],"detail":{"alarmName":["peer"],"state":{"value":["ALARM"]}}}`
	for _, r := range []struct {
		region, pattern string
		log             *eventLog
	}{{east, pattern, matched}, {west, pattern, other}, {east, `{"detail":{"alarmName":["someone-else"]}}`, other}} {
		if err := s.AddEventRule(r.region, "rule", []byte(r.pattern), r.log.target); err != nil {
			t.Fatal(err)
		}
	}
	in := peerAlarm("peer", "notBreaching")
	in.AlarmActions, in.AlarmDescription = []string{topic}, aws.String("the peer stopped answering")
	if _, err := c.PutMetricAlarm(ctx(t), in); err != nil {
		t.Fatalf("PutMetricAlarm: %v", err)
	}
	// 4 failed samples of 6: ALARM.
	putSamples(t, c, "peer-metric", true, 1, 0, 1, 0, 0, 0)
	eventually(t, 5*time.Second, "the ALARM event", func() bool { return len(matched.states()) > 0 })
	if got := matched.states(); got[0] != "ALARM" {
		t.Errorf("delivered states %v, want ALARM", got)
	}
	matched.mu.Lock()
	ev := matched.events[0]
	matched.mu.Unlock()
	if ev["detail-type"] != "CloudWatch Alarm State Change" || ev["source"] != "aws.cloudwatch" || ev["region"] != east ||
		field(ev["detail"], "alarmName") != "peer" || field(field(ev["detail"], "previousState"), "value") == "ALARM" ||
		field(field(ev["detail"], "configuration"), "description") != "the peer stopped answering" ||
		len(ev["resources"].([]any)) != 1 || ev["resources"].([]any)[0] != s.AlarmARN(east, "peer") {
		t.Errorf("event = %v, want EventBridge's alarm state change shape", ev)
	}
	if ts, _ := field(field(ev["detail"], "state"), "timestamp").(string); len(ts) != len("2026-11-21T05:40:00.123+0000") {
		t.Errorf("state timestamp %q, want CloudWatch's 2026-11-21T05:40:00.123+0000 form", ts)
	}
	select {
	case m := <-notified:
		var n map[string]any
		if err := json.Unmarshal([]byte(m.Message), &n); err != nil || n["NewStateValue"] != "ALARM" || n["AlarmName"] != "peer" ||
			n["AlarmArn"] != s.AlarmARN(east, "peer") || m.TopicARN != topic || m.Subject != `ALARM: "peer" in US East (N. Virginia)` {
			t.Errorf("notification %+v (%v), want the ALARM notification on %s", m, err, topic)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no SNS notification for the ALARM action")
	}
	if got := other.states(); len(got) != 0 {
		t.Errorf("rules of another region or alarm got %v", got)
	}
	out, err := c.DescribeAlarms(ctx(t), &cloudwatch.DescribeAlarmsInput{StateValue: cwtypes.StateValueAlarm})
	if err != nil || len(out.MetricAlarms) != 1 || aws.ToString(out.MetricAlarms[0].StateReason) == "" {
		t.Errorf("DescribeAlarms(ALARM) = %+v, %v; want peer with a reason", out, err)
	}
}

func TestAlarmMissingDataAndFlapping(t *testing.T) {
	s, c := alarmSetup(t)
	for _, treat := range []string{"breaching", "notBreaching", "missing", "ignore"} {
		if _, err := c.PutMetricAlarm(ctx(t), peerAlarm(treat, treat)); err != nil {
			t.Fatalf("PutMetricAlarm %s: %v", treat, err)
		}
	}
	// A flap (every other sample failing) never reaches 4 of 6; standard-resolution samples
	// exist once a minute, so a 10-second alarm sees at most one of them per scaled minute.
	for _, name := range []string{"flap", "standard"} {
		if _, err := c.PutMetricAlarm(ctx(t), peerAlarm(name, "notBreaching")); err != nil {
			t.Fatal(err)
		}
	}
	putSamples(t, c, "flap-metric", true, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1)
	putSamples(t, c, "standard-metric", false, 0, 0, 0, 0, 0, 0)
	want := map[string]string{"breaching": "ALARM", "notBreaching": "OK", "missing": "INSUFFICIENT_DATA", "ignore": "INSUFFICIENT_DATA",
		"flap": "OK", "standard": "OK"}
	eventually(t, 5*time.Second, "every alarm evaluated", func() bool {
		for name, st := range want {
			if got, _, _ := s.AlarmState(east, name); got != st {
				return false
			}
		}
		return true
	})
	// Several periods later nothing has moved: no flap or lapse raised an alarm.
	time.Sleep(6 * scaledPeriod)
	for name, st := range want {
		if got, reason, _ := s.AlarmState(east, name); got != st {
			t.Errorf("%s: %s (%s), want %s", name, got, reason, st)
		}
	}
}

func TestPutMetricAlarmRefusals(t *testing.T) {
	s, c := alarmSetup(t)
	mod := func(f func(*cloudwatch.PutMetricAlarmInput)) *cloudwatch.PutMetricAlarmInput {
		in := peerAlarm("a", "notBreaching")
		f(in)
		return in
	}
	for _, tt := range []struct {
		name, code string
		in         *cloudwatch.PutMetricAlarmInput
	}{
		{"period 15", "ValidationError", mod(func(in *cloudwatch.PutMetricAlarmInput) { in.Period = aws.Int32(15) })},
		{"more datapoints than periods", "ValidationError", mod(func(in *cloudwatch.PutMetricAlarmInput) { in.DatapointsToAlarm = aws.Int32(7) })},
		{"longer than a day", "ValidationError", mod(func(in *cloudwatch.PutMetricAlarmInput) {
			in.Period, in.EvaluationPeriods = aws.Int32(60), aws.Int32(1441)
		})},
		{"action in another region", "ValidationError", mod(func(in *cloudwatch.PutMetricAlarmInput) { in.AlarmActions = []string{s.TopicARN(west, "t")} })},
		{"no threshold", "MissingParameter", mod(func(in *cloudwatch.PutMetricAlarmInput) { in.Threshold = nil })},
		{"unknown missing-data treatment", "ValidationError", mod(func(in *cloudwatch.PutMetricAlarmInput) { in.TreatMissingData = aws.String("maybe") })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.PutMetricAlarm(ctx(t), tt.in)
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Errorf("PutMetricAlarm = %v, want %s", err, tt.code)
			}
		})
	}
	if out, err := c.DescribeAlarms(ctx(t), &cloudwatch.DescribeAlarmsInput{}); err != nil || len(out.MetricAlarms) != 0 {
		t.Errorf("after refusals: %+v, %v; want no alarm stored", out, err)
	}
	if err := s.AddEventRule(east, "bad", []byte(`{"detail":{"alarmName":[{"prefix":"peer"}]}}`), (&eventLog{}).target); err == nil {
		t.Error("AddEventRule with a content filter: no error, want a refusal (localcloud matches exact values only)")
	}
}

// The Query protocol (form in, XML out) serves the same operations.
func TestCloudWatchQueryProtocol(t *testing.T) {
	s, _ := alarmSetup(t)
	post := func(form string) (int, string) {
		t.Helper()
		return postForm(t, s.URL(), east, "monitoring", form)
	}
	status, body := post("Action=PutMetricAlarm&Version=2010-08-01&AlarmName=q&Namespace=Switchyard&MetricName=M&Statistic=Average" +
		"&Period=10&EvaluationPeriods=6&DatapointsToAlarm=4&Threshold=0.5&ComparisonOperator=LessThanThreshold" +
		"&Dimensions.member.1.Name=Peer&Dimensions.member.1.Value=west&AlarmActions.member.1=" + s.TopicARN(east, "t"))
	if status != 200 || !contains(body, "<PutMetricAlarmResponse") {
		t.Fatalf("PutMetricAlarm over Query: %d %s", status, body)
	}
	status, body = post("Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=q")
	for _, want := range []string{"<DescribeAlarmsResult>", "<AlarmName>q</AlarmName>", "<Period>10</Period>", "<member>" + s.TopicARN(east, "t") + "</member>", "<Name>Peer</Name>"} {
		if status != 200 || !contains(body, want) {
			t.Errorf("DescribeAlarms over Query: %d, body lacks %s:\n%s", status, want, body)
		}
	}
	status, body = post("Action=PutMetricAlarm&Version=2010-08-01&AlarmName=q&Namespace=Switchyard&MetricName=M&Statistic=Average&Period=15&EvaluationPeriods=1&Threshold=1&ComparisonOperator=LessThanThreshold")
	if status != 400 || !contains(body, "<Code>ValidationError</Code>") || !contains(body, "<ErrorResponse") {
		t.Errorf("invalid period over Query: %d %s, want a 400 ErrorResponse with ValidationError", status, body)
	}
}

// postForm sends a Query protocol request signed (in form only: the emulator reads the scope,
// not the signature) for region and service.
func postForm(t *testing.T, url, region, service, form string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261129/"+region+"/"+service+"/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
