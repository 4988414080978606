package awsusage_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
	"github.com/switchyard-dr/switchyard/internal/templatecheck/awsusage"
)

// managedPolicies are the AWS managed policies a function's role may carry without its code calling
// them: the Lambda service itself uses them on the function's behalf. SAM adds the first two to every
// function (and the X-Ray one with Tracing: Active).
var managedPolicies = map[string]string{
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole":     "Lambda writes the function's logs",
	"arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess":                       "Lambda sends the function's traces",
	"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole": "Lambda creates and deletes the function's network interfaces in the VPC",
}

// unreachableByConfig documents operations a function's code contains but a stack's configuration
// never takes: excused in a stack whose function sets variable to value, and only there.
var unreachableByConfig = map[string]map[string]struct{ variable, value, reason string }{
	"todo-api": {"secretsmanager:GetSecretValue": {"DB_AUTH", "iam",
		"the secret is read only with DB_AUTH=secret; the API connects with IAM tokens"}},
	"migrate": {"rds-db:connect": {"DB_AUTH", "secret",
		"IAM tokens are built only with DB_AUTH=iam; migrations connect as the admin from its secret"}},
	"failover-traffic": {
		"route53:ListResourceRecordSets":   {"TRAFFIC_MODE", "cloudfront", "TrafficMode=cloudfront moves traffic with CloudFront only"},
		"route53:ChangeResourceRecordSets": {"TRAFFIC_MODE", "cloudfront", "TrafficMode=cloudfront moves traffic with CloudFront only"},
		"cloudfront:GetDistributionConfig": {"TRAFFIC_MODE", "route53", "TrafficMode=route53 moves traffic with Route 53 only"},
		"cloudfront:UpdateDistribution":    {"TRAFFIC_MODE", "route53", "TrafficMode=route53 moves traffic with Route 53 only"},
	},
	"failover-verify": {"secretsmanager:GetSecretValue": {"CANARY_CLIENT_SECRET_ARN", "",
		"without a JWT issuer the canary needs no client secret"}},
	"lease-renewer": {"secretsmanager:GetSecretValue": {"DB_AUTH", "iam",
		"the secret is read only with DB_AUTH=secret; the renewer connects with IAM tokens"}},
}

// onBehalf are permissions a service checks on the caller when the caller's own call needs them: the
// code never calls them, the call it makes does.
var onBehalf = map[string]struct{ call, reason string }{
	"kms:GenerateDataKey": {"sns:Publish", "SNS encrypts a message for the topic's KMS key with the publisher's permissions"},
	"kms:Decrypt":         {"sns:Publish", "SNS encrypts a message for the topic's KMS key with the publisher's permissions"},
}

// Least privilege, on every stack as CloudFormation sees it (SAM's generated roles included): each
// AWS operation a function's code can reach is allowed by its role, unless that stack's configuration
// never takes it, and the role allows nothing the code does not call.
func TestPoliciesAllowExactlyWhatTheCodeCalls(t *testing.T) {
	if err := templatecheck.MissingSAMTools(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set and " + err.Error())
		}
		t.Skip(err.Error() + " (set CI=1 to make this a failure)")
	}
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	stacks, err := templatecheck.RepoStacks(root)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string][]awsusage.Call{} // by code folder, computed once
	for _, s := range stacks {
		for _, id := range s.OfType("AWS::Lambda::Function") {
			fn := s.Resources[id]
			folder, _ := fn.Metadata["SwitchyardCodeUri"].(string)
			if !strings.HasPrefix(folder, "functions/") {
				continue
			}
			name := strings.Trim(strings.TrimPrefix(folder, "functions/"), "/")
			if _, done := calls[folder]; !done {
				if calls[folder], err = awsusage.Operations(root, "./"+strings.TrimSuffix(folder, "/")); err != nil {
					t.Fatal(err)
				}
			}
			allowed, err := roleActions(s, fn.Properties["Role"])
			if err != nil {
				t.Errorf("%s: %s: %v", s.Name, id, err)
				continue
			}
			envBlock, _ := fn.Properties["Environment"].(map[string]any)
			vars, _ := envBlock["Variables"].(map[string]any)
			var must, may []string
			at := map[string]string{}
			called := map[string]bool{}
			for _, c := range calls[folder] {
				at[c.Action] = c.At
				called[c.Action] = true
				if ex, ok := unreachableByConfig[name][c.Action]; ok && fmt.Sprint(valueOr(vars[ex.variable])) == ex.value {
					may = append(may, c.Action)
					continue
				}
				must = append(must, c.Action)
			}
			for a, ob := range onBehalf {
				if called[ob.call] {
					may = append(may, a)
				}
			}
			gaps := awsusage.ComparePolicy(must, may, allowed)
			for _, a := range gaps.Missing {
				t.Errorf("%s: %s calls %s (%s) but its role does not allow it", s.Name, id, a, at[a])
			}
			for _, a := range gaps.Excess {
				t.Errorf("%s: %s's role allows %s, which covers actions its code never calls", s.Name, id, a)
			}
		}
	}
	if len(calls) == 0 {
		t.Fatal("no stack deploys a Go function")
	}
}

// valueOr reads a literal environment value; anything else (an intrinsic) is not a config value.
func valueOr(v any) any {
	if v == nil {
		return "<unset>"
	}
	return v
}

// roleActions collects what the role a function's Role points at allows: its inline statements, and
// the managed policies above (which add nothing the code must call). Anything else cannot be checked.
func roleActions(s templatecheck.Stack, roleRef any) ([]string, error) {
	ga, _ := roleRef.(map[string]any)["Fn::GetAtt"].([]any)
	if len(ga) != 2 {
		return nil, fmt.Errorf("role %v is not a role of this stack", roleRef)
	}
	role, ok := s.Resources[fmt.Sprint(ga[0])]
	if !ok || role.Type != "AWS::IAM::Role" {
		return nil, fmt.Errorf("role %v is not an AWS::IAM::Role of this stack", ga[0])
	}
	managed, _ := role.Properties["ManagedPolicyArns"].([]any)
	for _, m := range managed {
		if _, ok := managedPolicies[fmt.Sprint(m)]; !ok {
			return nil, fmt.Errorf("managed policy %v is not a documented exception", m)
		}
	}
	var actions []string
	policies, _ := role.Properties["Policies"].([]any)
	for _, p := range policies {
		doc, _ := p.(map[string]any)["PolicyDocument"].(map[string]any)
		statements, _ := doc["Statement"].([]any)
		for _, st := range statements {
			m, _ := st.(map[string]any)
			if m["Effect"] != "Allow" {
				continue
			}
			switch a := m["Action"].(type) {
			case string:
				actions = append(actions, a)
			case []any:
				for _, x := range a {
					actions = append(actions, fmt.Sprint(x))
				}
			}
		}
	}
	return actions, nil
}

// The comparison itself, on broken policies: each case names a gap in one direction or both, and a
// comparison that ignores a direction, or counts a service as allowed because one of its actions is,
// reports the wrong gaps.
func TestComparePolicyFindsGapsInBothDirections(t *testing.T) {
	tests := []struct {
		name            string
		must, may       []string
		allowed         []string
		missing, excess []string
	}{
		{
			name:    "exactly what the code calls",
			must:    []string{"dynamodb:GetItem", "rds:DescribeGlobalClusters"},
			allowed: []string{"rds:DescribeGlobalClusters", "dynamodb:GetItem"},
		},
		{
			name:    "a called action missing while another action of its service is allowed",
			must:    []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			allowed: []string{"dynamodb:GetItem"},
			missing: []string{"dynamodb:PutItem"},
		},
		{
			name:    "the only action of a service missing",
			must:    []string{"sns:Publish", "states:StartExecution"},
			allowed: []string{"states:StartExecution"},
			missing: []string{"sns:Publish"},
		},
		{
			name:    "an action allowed that no code calls",
			must:    []string{"rds:DescribeGlobalClusters"},
			allowed: []string{"rds:DescribeGlobalClusters", "rds:FailoverGlobalCluster"},
			excess:  []string{"rds:FailoverGlobalCluster"},
		},
		{
			name:    "missing and excess at once",
			must:    []string{"route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets"},
			allowed: []string{"route53:ListResourceRecordSets", "cloudfront:UpdateDistribution"},
			missing: []string{"route53:ChangeResourceRecordSets"},
			excess:  []string{"cloudfront:UpdateDistribution"},
		},
		{
			name:    "an action of the same name in another service does not cover the call",
			must:    []string{"sns:Publish"},
			allowed: []string{"iot:Publish"},
			missing: []string{"sns:Publish"},
			excess:  []string{"iot:Publish"},
		},
		{
			name:    "a role that allows nothing",
			must:    []string{"cloudwatch:PutMetricData"},
			missing: []string{"cloudwatch:PutMetricData"},
		},
		{
			name:    "code that calls nothing",
			allowed: []string{"secretsmanager:GetSecretValue"},
			excess:  []string{"secretsmanager:GetSecretValue"},
		},
		{
			name:    "IAM compares actions case-insensitively",
			must:    []string{"sns:Publish"},
			allowed: []string{"SNS:publish"},
		},
		{
			name:    "a service wildcard covers the calls but is excess",
			must:    []string{"dynamodb:GetItem", "dynamodb:PutItem"},
			allowed: []string{"dynamodb:*"},
			excess:  []string{"dynamodb:*"},
		},
		{
			name:    "a prefix wildcard covers only what it matches",
			must:    []string{"rds:DescribeDBClusters", "rds:DescribeGlobalClusters", "rds:SwitchoverGlobalCluster"},
			allowed: []string{"rds:Describe*"},
			missing: []string{"rds:SwitchoverGlobalCluster"},
			excess:  []string{"rds:Describe*"},
		},
		{
			name:    "a wildcard of another service covers nothing",
			must:    []string{"rds:DescribeGlobalClusters"},
			allowed: []string{"rds-db:*", "ec2:Describe*"},
			missing: []string{"rds:DescribeGlobalClusters"},
			excess:  []string{"ec2:Describe*", "rds-db:*"},
		},
		{
			name:    "a single-character wildcard is still a wildcard",
			must:    []string{"kms:Decrypt"},
			allowed: []string{"kms:Decryp?"},
			excess:  []string{"kms:Decryp?"},
		},
		{
			name:    "the everything wildcard",
			must:    []string{"sns:Publish"},
			allowed: []string{"*"},
			excess:  []string{"*"},
		},
		{
			name:    "an action the code may need is allowed but not required",
			must:    []string{"sns:Publish"},
			may:     []string{"kms:GenerateDataKey", "kms:Decrypt"},
			allowed: []string{"sns:Publish", "kms:GenerateDataKey"},
		},
		{
			name:    "a may action does not excuse a missing must action",
			must:    []string{"sns:Publish", "kms:Decrypt"},
			may:     []string{"kms:GenerateDataKey"},
			allowed: []string{"sns:Publish", "kms:GenerateDataKey"},
			missing: []string{"kms:Decrypt"},
		},
		{
			name:    "an action allowed twice is reported once",
			must:    []string{"sns:Publish"},
			allowed: []string{"sns:Publish", "states:StartExecution", "states:StartExecution"},
			excess:  []string{"states:StartExecution"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := awsusage.ComparePolicy(tt.must, tt.may, tt.allowed)
			if !slices.Equal(got.Missing, tt.missing) {
				t.Errorf("Missing = %q, want %q", got.Missing, tt.missing)
			}
			if !slices.Equal(got.Excess, tt.excess) {
				t.Errorf("Excess = %q, want %q", got.Excess, tt.excess)
			}
		})
	}
}
