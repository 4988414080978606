//go:build !mutation

// The template's least-privilege test renders and translates every stack: minutes of work per run,
// so `make mutation` (build tag mutation) leaves it out and mutates against the fast tests.

package awsusage_test

import (
	"fmt"
	"os"
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
