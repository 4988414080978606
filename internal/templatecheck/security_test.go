package templatecheck_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/templatecheck"
)

// statements lists the inline policy statements of an IAM role.
func statements(r templatecheck.Resource) []map[string]any {
	var out []map[string]any
	pols, _ := r.Properties["Policies"].([]any)
	for _, p := range pols {
		doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
		sts, _ := doc["Statement"].([]any)
		for _, s := range sts {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func listOf(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// The promote role may switch over or fail over the global cluster and this region's member only:
// no wildcard resource, no other region's or account's clusters.
func TestPromoteRoleIsScopedToTheGlobalClusterAndItsMember(t *testing.T) {
	for _, s := range repoStacks(t) {
		role, ok := s.Resources["FailoverPromoteFunctionRole"]
		if !ok {
			continue
		}
		found := false
		for _, st := range statements(role) {
			actions := fmt.Sprint(st["Action"])
			if !strings.Contains(actions, "rds:FailoverGlobalCluster") && !strings.Contains(actions, "rds:SwitchoverGlobalCluster") {
				continue
			}
			found = true
			for _, res := range listOf(st["Resource"]) {
				text := fmt.Sprint(res)
				if strings.Contains(text, "*") {
					t.Errorf("%s: the promote role may promote %s: scope it to the global cluster and its member", s.Name, text)
				}
				if !strings.Contains(text, "global-cluster:${GlobalClusterIdentifier}") && !strings.Contains(text, "DatabaseCluster") &&
					!strings.HasPrefix(text, "arn:aws:rds:") {
					t.Errorf("%s: unexpected promote resource %s", s.Name, text)
				}
			}
		}
		if !found {
			t.Errorf("%s: the promote role allows no promotion", s.Name)
		}
	}
}

// Access logs on the HTTP API stage, an encrypted SNS topic with a policy that alarms can publish
// through, nothing of a run's data in the state machine's logs, and stateful resources kept when the
// stack goes.
func TestRegionalStackHardening(t *testing.T) {
	for _, s := range repoStacks(t) {
		if len(s.OfType("AWS::ApiGatewayV2::Api")) == 0 {
			continue
		}
		for _, id := range s.OfType("AWS::ApiGatewayV2::Stage") {
			als, _ := s.Resources[id].Properties["AccessLogSettings"].(map[string]any)
			if als["DestinationArn"] == nil || als["Format"] == nil {
				t.Errorf("%s: stage %s has no access logging", s.Name, id)
			}
		}
		topics := s.OfType("AWS::SNS::Topic")
		for _, id := range topics {
			key := s.Resources[id].Properties["KmsMasterKeyId"]
			if key == nil {
				t.Errorf("%s: topic %s is not encrypted", s.Name, id)
				continue
			}
			keyID := fmt.Sprint(key.(map[string]any)["Ref"])
			if !strings.Contains(fmt.Sprint(s.Resources[keyID].Properties["KeyPolicy"]), "cloudwatch.amazonaws.com") {
				t.Errorf("%s: the key of %s does not let CloudWatch alarms publish (an AWS managed key never does)", s.Name, id)
			}
			covered := false
			for _, pid := range s.OfType("AWS::SNS::TopicPolicy") {
				p := s.Resources[pid].Properties
				covered = covered || strings.Contains(fmt.Sprint(p["Topics"]), "Ref:"+id)
				if !strings.Contains(fmt.Sprint(p["PolicyDocument"]), "aws:SecureTransport") {
					t.Errorf("%s: %s does not refuse publishing without TLS", s.Name, pid)
				}
			}
			if !covered {
				t.Errorf("%s: topic %s has no topic policy", s.Name, id)
			}
		}
		for _, id := range s.OfType("AWS::StepFunctions::StateMachine") {
			lc, _ := s.Resources[id].Properties["LoggingConfiguration"].(map[string]any)
			if lc["IncludeExecutionData"] != false {
				t.Errorf("%s: %s logs execution data (inputs and outputs): set IncludeExecutionData false", s.Name, id)
			}
		}
		for _, typ := range []string{"AWS::SecretsManager::Secret", "AWS::Logs::LogGroup", "AWS::KMS::Key", "AWS::RDS::DBCluster"} {
			for _, id := range s.OfType(typ) {
				raw := s.Resources[id].Raw
				if raw["DeletionPolicy"] == nil || raw["UpdateReplacePolicy"] == nil {
					t.Errorf("%s: %s (%s) has no DeletionPolicy and UpdateReplacePolicy: deleting or replacing the stack would destroy it", s.Name, id, typ)
				}
			}
		}
	}
}
