package localcloud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/awscli"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
)

// TestAWSCLI drives every operation localcloud serves with the AWS CLI and checks the parsed
// answers and the error codes AWS documents for them. Services run in parallel: each CLI call
// is a Python start-up.
func TestAWSCLI(t *testing.T) {
	awscli.Require(t)
	s := start(t, localcloud.Options{Timing: localcloud.Timing{AlarmSpeedup: 100}})
	url := s.URL()
	cli := func(t *testing.T, region string, args ...string) awscli.Result {
		t.Helper()
		return awscli.Run(t, url, region, args...)
	}

	t.Run("rds", func(t *testing.T) {
		t.Parallel()
		s.AddGlobalCluster(globalID, localcloud.NewMemoryGlobalDatabase(eastARN, westARN))
		out := cli(t, east, "rds", "describe-global-clusters", "--global-cluster-identifier", globalID).OK(t)
		gcs := out["GlobalClusters"].([]any)
		if len(gcs) != 1 || field(gcs[0], "GlobalClusterIdentifier") != globalID || len(field(gcs[0], "GlobalClusterMembers").([]any)) != 2 {
			t.Errorf("describe-global-clusters = %v, want %s with two members", out, globalID)
		}
		cli(t, east, "rds", "describe-global-clusters", "--global-cluster-identifier", "nope").WantError(t, "GlobalClusterNotFoundFault")
		out = cli(t, west, "rds", "describe-db-clusters", "--db-cluster-identifier", westARN).OK(t)
		if cs := out["DBClusters"].([]any); len(cs) != 1 || field(cs[0], "DBClusterArn") != westARN {
			t.Errorf("describe-db-clusters = %v, want %s", out, westARN)
		}
		out = cli(t, east, "rds", "switchover-global-cluster", "--global-cluster-identifier", globalID,
			"--target-db-cluster-identifier", westARN).OK(t)
		if field(out["GlobalCluster"], "GlobalClusterIdentifier") != globalID {
			t.Errorf("switchover-global-cluster = %v, want the global cluster", out)
		}
		// West is the writer once the switchover is done, and is promoting until then: refused either way.
		cli(t, west, "rds", "failover-global-cluster", "--global-cluster-identifier", globalID,
			"--target-db-cluster-identifier", westARN, "--allow-data-loss").WantError(t, "InvalidGlobalClusterStateFault")
		cli(t, west, "rds", "failover-global-cluster", "--global-cluster-identifier", globalID,
			"--target-db-cluster-identifier", localcloud.ClusterARN(west, localcloud.DefaultAccount, "stranger"), "--allow-data-loss").WantError(t, "DBClusterNotFoundFault")
	})

	t.Run("sns", func(t *testing.T) {
		t.Parallel()
		topic := s.TopicARN(west, "cli-topic")
		s.AddTopic(topic)
		for _, flag := range []string{"--topic-arn", "--target-arn"} {
			out := cli(t, west, "sns", "publish", flag, topic, "--subject", "hi", "--message", "hello",
				"--message-attributes", `{"severity":{"DataType":"String","StringValue":"high"}}`).OK(t)
			if id, _ := out["MessageId"].(string); len(id) != 36 {
				t.Errorf("publish %s: MessageId %q, want a UUID", flag, id)
			}
		}
		cli(t, west, "sns", "publish", "--topic-arn", s.TopicARN(west, "nope"), "--message", "m").WantError(t, "NotFound")
		cli(t, west, "sns", "publish", "--topic-arn", topic, "--target-arn", topic, "--message", "m").WantError(t, "InvalidParameter")
	})

	t.Run("cloudwatch", func(t *testing.T) {
		t.Parallel()
		topic := s.TopicARN(east, "cli-alarms")
		s.AddTopic(topic)
		now := time.Now().UTC()
		cli(t, east, "cloudwatch", "put-metric-data", "--namespace", "CLI", "--metric-data",
			fmt.Sprintf(`[{"MetricName":"Up","Value":1,"Timestamp":"%s","StorageResolution":1,"Dimensions":[{"Name":"Peer","Value":"west"}]}]`, now.Format(time.RFC3339))).OK(t)
		cli(t, east, "cloudwatch", "put-metric-data", "--namespace", "AWS/Reserved", "--metric-name", "x", "--value", "1").WantError(t, "InvalidParameterValue")
		out := cli(t, east, "cloudwatch", "get-metric-statistics", "--namespace", "CLI", "--metric-name", "Up",
			"--dimensions", "Name=Peer,Value=west", "--statistics", "Sum", "--period", "60",
			"--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Hour).Format(time.RFC3339)).OK(t)
		if dps := out["Datapoints"].([]any); len(dps) != 1 || field(dps[0], "Sum") != 1.0 {
			t.Errorf("get-metric-statistics = %v, want one datapoint with Sum 1", out)
		}
		out = cli(t, east, "cloudwatch", "get-metric-data", "--metric-data-queries",
			`[{"Id":"up","MetricStat":{"Metric":{"Namespace":"CLI","MetricName":"Up","Dimensions":[{"Name":"Peer","Value":"west"}]},"Period":60,"Stat":"Maximum"}}]`,
			"--start-time", now.Add(-time.Hour).Format(time.RFC3339), "--end-time", now.Add(time.Hour).Format(time.RFC3339)).OK(t)
		if rs := out["MetricDataResults"].([]any); len(rs) != 1 || fmt.Sprint(field(rs[0], "Values")) != "[1]" {
			t.Errorf("get-metric-data = %v, want values [1]", out)
		}
		cli(t, east, "cloudwatch", "get-metric-statistics", "--namespace", "CLI", "--metric-name", "Up", "--statistics", "Sum", "--period", "60",
			"--start-time", now.Format(time.RFC3339), "--end-time", now.Add(-time.Hour).Format(time.RFC3339)).WantError(t, "InvalidParameterValue")

		alarm := []string{"cloudwatch", "put-metric-alarm", "--alarm-name", "cli-alarm", "--namespace", "CLI", "--metric-name", "Up",
			"--dimensions", "Name=Peer,Value=west", "--statistic", "Average", "--threshold", "0.5",
			"--comparison-operator", "LessThanThreshold", "--evaluation-periods", "3", "--datapoints-to-alarm", "2",
			"--treat-missing-data", "breaching", "--alarm-actions", topic}
		cli(t, east, append(alarm, "--period", "10")...).OK(t)
		out = cli(t, east, "cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm").OK(t)
		as := out["MetricAlarms"].([]any)
		if len(as) != 1 || field(as[0], "Period") != 10.0 || field(as[0], "DatapointsToAlarm") != 2.0 ||
			field(as[0], "AlarmArn") != s.AlarmARN(east, "cli-alarm") || field(as[0], "TreatMissingData") != "breaching" {
			t.Errorf("describe-alarms = %v, want cli-alarm as put", out)
		}
		for _, bad := range []struct{ code, flag, value string }{
			{"ValidationError", "--period", "15"},
			{"ValidationError", "--alarm-actions", s.TopicARN(west, "other-region")},
		} {
			args := append(append([]string{}, alarm...), "--period", "10")
			if bad.flag == "--period" {
				args[len(args)-1] = bad.value
			} else {
				args = append(args, bad.flag, bad.value)
			}
			cli(t, east, args...).WantError(t, bad.code)
		}
		cli(t, east, "cloudwatch", "describe-alarms", "--alarm-names", "cli-alarm", "--alarm-name-prefix", "cli").WantError(t, "InvalidParameterCombination")
		cli(t, east, "cloudwatch", "set-alarm-state", "--alarm-name", "cli-alarm", "--state-value", "ALARM", "--state-reason", "from the CLI").OK(t)
		cli(t, east, "cloudwatch", "set-alarm-state", "--alarm-name", "nope", "--state-value", "ALARM", "--state-reason", "x").WantError(t, "ResourceNotFound")
		cli(t, east, "cloudwatch", "delete-alarms", "--alarm-names", "nope").WantError(t, "ResourceNotFound")
		cli(t, east, "cloudwatch", "delete-alarms", "--alarm-names", "cli-alarm").OK(t)
		if out := cli(t, east, "cloudwatch", "describe-alarms").OK(t); len(out["MetricAlarms"].([]any)) != 0 {
			t.Errorf("after delete-alarms: %v, want no alarms", out)
		}
		cli(t, east, "cloudwatch", "list-dashboards").WantError(t, "InvalidAction")
	})

	t.Run("cloudfront", func(t *testing.T) {
		t.Parallel()
		config, err := os.ReadFile("testdata/distribution-config.xml")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddDistribution(distributionID, config); err != nil {
			t.Fatal(err)
		}
		out := cli(t, east, "cloudfront", "get-distribution", "--id", distributionID).OK(t)
		if field(out["Distribution"], "Id") != distributionID || out["ETag"] == "" {
			t.Errorf("get-distribution = %v, want %s with an ETag", out, distributionID)
		}
		out = cli(t, east, "cloudfront", "get-distribution-config", "--id", distributionID).OK(t)
		etag, _ := out["ETag"].(string)
		file := filepath.Join(t.TempDir(), "config.json")
		b, _ := json.Marshal(out["DistributionConfig"])
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out = cli(t, east, "cloudfront", "update-distribution", "--id", distributionID, "--if-match", etag,
			"--distribution-config", "file://"+file).OK(t)
		if out["ETag"] == etag || out["ETag"] == "" {
			t.Errorf("update-distribution: ETag %v, want a new one", out["ETag"])
		}
		cli(t, east, "cloudfront", "update-distribution", "--id", distributionID, "--if-match", etag,
			"--distribution-config", "file://"+file).WantError(t, "PreconditionFailed")
		cli(t, east, "cloudfront", "get-distribution", "--id", "ENOPE").WantError(t, "NoSuchDistribution")
	})

	t.Run("route53", func(t *testing.T) {
		t.Parallel()
		s.AddHostedZone("ZCLI", "cli.example")
		batch := func(action, name, record string) string {
			return fmt.Sprintf(`{"Changes":[{"Action":%q,"ResourceRecordSet":%s}]}`, action,
				strings.ReplaceAll(record, "@NAME@", name))
		}
		cname := `{"Name":"@NAME@","Type":"CNAME","TTL":60,"ResourceRecords":[{"Value":"west.cli.example"}]}`
		alias := `{"Name":"@NAME@","Type":"A","AliasTarget":{"HostedZoneId":"Z2FDTNDATAQYW2","DNSName":"d111.cloudfront.net","EvaluateTargetHealth":false}}`
		out := cli(t, east, "route53", "change-resource-record-sets", "--hosted-zone-id", "ZCLI", "--change-batch", batch("CREATE", "api.cli.example", cname)).OK(t)
		id, _ := field(out["ChangeInfo"], "Id").(string)
		if field(out["ChangeInfo"], "Status") != "PENDING" || !strings.HasPrefix(id, "/change/") {
			t.Errorf("change-resource-record-sets = %v, want a PENDING change", out)
		}
		cli(t, east, "route53", "change-resource-record-sets", "--hosted-zone-id", "ZCLI", "--change-batch", batch("CREATE", "www.cli.example", alias)).OK(t)
		if out := cli(t, east, "route53", "get-change", "--id", id).OK(t); field(out["ChangeInfo"], "Id") != id {
			t.Errorf("get-change = %v, want %s", out, id)
		}
		out = cli(t, east, "route53", "list-resource-record-sets", "--hosted-zone-id", "ZCLI").OK(t)
		for _, rs := range out["ResourceRecordSets"].([]any) {
			_, hasRecords := rs.(map[string]any)["ResourceRecords"]
			if isAlias := field(rs, "AliasTarget") != nil; isAlias == hasRecords {
				t.Errorf("record %v: an alias has no ResourceRecords and a plain record has them", rs)
			}
		}
		msg := cli(t, east, "route53", "change-resource-record-sets", "--hosted-zone-id", "ZCLI", "--change-batch", batch("CREATE", "api.cli.example", cname)).WantError(t, "InvalidChangeBatch")
		if !strings.Contains(msg, "already exists") {
			t.Errorf("InvalidChangeBatch message %q does not say why", msg)
		}
		cli(t, east, "route53", "get-change", "--id", "CNOPE").WantError(t, "NoSuchChange")
		cli(t, east, "route53", "list-resource-record-sets", "--hosted-zone-id", "ZNOPE").WantError(t, "NoSuchHostedZone")
	})

	t.Run("stepfunctions", func(t *testing.T) {
		t.Parallel()
		arn := s.StateMachineARN(west, "cli-machine")
		s.AddStateMachine(arn, func(_ context.Context, _, _, input string) (string, error) { return input, nil })
		out := cli(t, west, "stepfunctions", "start-execution", "--state-machine-arn", arn, "--name", "cli-1", "--input", `{"a":1}`).OK(t)
		exec, _ := out["executionArn"].(string)
		if !strings.HasSuffix(exec, ":cli-1") {
			t.Fatalf("start-execution = %v, want an execution ARN ending :cli-1", out)
		}
		eventually(t, 5*time.Second, "execution to succeed", func() bool {
			return cli(t, west, "stepfunctions", "describe-execution", "--execution-arn", exec).OK(t)["status"] == "SUCCEEDED"
		})
		if out := cli(t, west, "stepfunctions", "list-executions", "--state-machine-arn", arn).OK(t); len(out["executions"].([]any)) != 1 {
			t.Errorf("list-executions = %v, want one", out)
		}
		cli(t, west, "stepfunctions", "start-execution", "--state-machine-arn", arn, "--name", "cli-1", "--input", `{"a":2}`).WantError(t, "ExecutionAlreadyExists")
		cli(t, west, "stepfunctions", "describe-execution", "--execution-arn", exec+"-nope").WantError(t, "ExecutionDoesNotExist")
	})

	t.Run("secretsmanager", func(t *testing.T) {
		t.Parallel()
		arn := s.AddSecret(west, "cli-secret", `{"k":"v"}`)
		for _, id := range []string{"cli-secret", arn, strings.TrimSuffix(arn, arn[len(arn)-7:])} {
			out := cli(t, west, "secretsmanager", "get-secret-value", "--secret-id", id).OK(t)
			if out["ARN"] != arn || out["Name"] != "cli-secret" || out["SecretString"] != `{"k":"v"}` {
				t.Errorf("get-secret-value %s = %v, want the secret's own ARN and name", id, out)
			}
		}
		cli(t, west, "secretsmanager", "get-secret-value", "--secret-id", "cli-secret", "--version-stage", "AWSPREVIOUS").WantError(t, "ResourceNotFoundException")
		cli(t, east, "secretsmanager", "get-secret-value", "--secret-id", arn).WantError(t, "ResourceNotFoundException")
	})
}

// field reads a key of a JSON object held as any.
func field(v any, k string) any {
	m, _ := v.(map[string]any)
	return m[k]
}
