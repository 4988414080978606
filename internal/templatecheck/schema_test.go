package templatecheck_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
)

func schemas(t *testing.T) *templatecheck.Schemas {
	t.Helper()
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	s, err := templatecheck.LoadSchemas(filepath.Join(root, "..", "shared", "schemas"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The validator must reject what CloudFormation or SAM would reject, or the template check proves nothing.
func TestValidateRejectsBrokenResources(t *testing.T) {
	s := schemas(t)
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown type", `
Resources:
  X: {Type: AWS::Nope::Thing, Properties: {}}`, "unknown resource type AWS::Nope::Thing"},
		{"unknown property", `
Resources:
  T: {Type: AWS::SNS::Topic, Properties: {TopicNam: x}}`, "unknown property TopicNam"},
		{"missing required", `
Resources:
  P: {Type: AWS::RDS::DBProxy, Properties: {DBProxyName: p, EngineFamily: MYSQL, RoleArn: arn:aws:iam::1:role/r}}`, "missing required property VpcSubnetIds"},
		{"wrong enum", `
Resources:
  P: {Type: AWS::RDS::DBProxy, Properties: {DBProxyName: p, EngineFamily: ORACLE, RoleArn: r, VpcSubnetIds: [a]}}`, "ORACLE is not one of"},
		{"wrong type", `
Resources:
  Q: {Type: AWS::SQS::Queue, Properties: {VisibilityTimeout: [1, 2]}}`, "VisibilityTimeout: got a list"},
		{"read-only property", `
Resources:
  T: {Type: AWS::SNS::Topic, Properties: {TopicArn: arn}}`, "read-only property"},
		{"SAM function unknown property", `
Resources:
  F: {Type: AWS::Serverless::Function, Properties: {CodeUri: x/, Handlr: bootstrap}}`, "Handlr"},
		{"SAM globals unknown key", `
Globals:
  Function: {Runtme: go}
Resources: {}`, "Runtme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := templatecheck.Parse([]byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(s.Validate(tpl), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems = %q, want one containing %q", got, tt.want)
			}
		})
	}
}

func TestValidateAcceptsIntrinsicsAndShortForms(t *testing.T) {
	s := schemas(t)
	tpl, err := templatecheck.Parse([]byte(`
Parameters:
  Name: {Type: String}
Resources:
  T:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${Name}-alerts"
      FifoTopic: !If [C, true, false]
  Q:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: "30"
      QueueName: !GetAtt T.TopicName
`))
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Validate(tpl); len(p) > 0 {
		t.Errorf("valid template rejected: %v", p)
	}
	q := tpl.Resources["Q"].Properties["QueueName"].(map[string]any)["Fn::GetAtt"].([]any)
	if q[0] != "T" || q[1] != "TopicName" {
		t.Errorf("!GetAtt T.TopicName = %v, want [T TopicName]", q)
	}
}

func TestParseRejectsUnknownTagsAndDuplicateKeys(t *testing.T) {
	for name, text := range map[string]string{
		"unknown tag":   "Resources:\n  X: !Nope y\n",
		"duplicate key": "Resources:\n  X: {Type: A}\n  X: {Type: B}\n",
	} {
		if _, err := templatecheck.Parse([]byte(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
