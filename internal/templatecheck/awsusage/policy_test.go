package awsusage_test

import (
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
	"github.com/switchyard-dr/switchyard/internal/templatecheck/awsusage"
)

// managedPolicies are the AWS managed policies a function may carry without its code calling
// them: the Lambda service itself uses them on the function's behalf.
var managedPolicies = map[string]string{
	"AWSLambdaVPCAccessExecutionRole": "Lambda creates and deletes the function's network interfaces in the VPC",
}

// unreachableByConfig documents operations a function's code contains but its template
// configuration never takes: the database package serves every auth mode, and each function is
// deployed with one. The test checks that the template really sets the variable that way.
var unreachableByConfig = map[string]map[string]struct{ variable, value, reason string }{
	"todo-api": {"secretsmanager:GetSecretValue": {"DB_AUTH", "iam",
		"the secret is read only with DB_AUTH=secret; the API connects with IAM tokens"}},
	"migrate": {"rds-db:connect": {"DB_AUTH", "secret",
		"IAM tokens are built only with DB_AUTH=iam; migrations connect as the admin from its secret"}},
}

// Least privilege: every AWS operation a function's code can reach is allowed by that function's
// policy in template.yaml, and the policy allows nothing the code does not call.
func TestPoliciesAllowExactlyWhatTheCodeCalls(t *testing.T) {
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tpl.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			calls, err := awsusage.Operations(root, "./"+strings.TrimSuffix(f.CodeURI, "/"))
			if err != nil {
				t.Fatal(err)
			}
			allowed, err := policyActions(tpl.Resources[f.LogicalID].Properties["Policies"])
			if err != nil {
				t.Fatalf("%s: %v", f.LogicalID, err)
			}
			missing, extra := leastPrivilege(calls, allowed, func(action string) bool {
				ex, ok := unreachableByConfig[f.Name][action]
				if ok && f.Environment[ex.variable] != ex.value {
					t.Errorf("%s: %s is excused because %s, but the template sets %s=%q", f.LogicalID, action, ex.reason, ex.variable, f.Environment[ex.variable])
				}
				return ok
			})
			for _, c := range missing {
				t.Errorf("%s calls %s (%s) but its policy does not allow it", f.LogicalID, c.Action, c.At)
			}
			for _, a := range extra {
				t.Errorf("%s's policy allows %s, which its code never calls", f.LogicalID, a)
			}
		})
	}
}

// policyActions collects the actions a SAM Policies list allows. Only inline statements and the
// documented managed policies are accepted: anything else cannot be checked.
func policyActions(v any) (map[string]bool, error) {
	actions := map[string]bool{}
	list, _ := v.([]any)
	for _, p := range list {
		switch p := p.(type) {
		case string:
			if _, ok := managedPolicies[p]; !ok {
				return nil, fmt.Errorf("policy %s is neither inline nor a documented exception", p)
			}
		case map[string]any:
			if branches, ok := p["Fn::If"].([]any); ok && len(branches) == 3 {
				// A conditional policy counts with both branches; AWS::NoValue adds nothing.
				for _, b := range branches[1:] {
					if ref, _ := b.(map[string]any)["Ref"].(string); ref == "AWS::NoValue" {
						continue
					}
					more, err := policyActions([]any{b})
					if err != nil {
						return nil, err
					}
					maps.Copy(actions, more)
				}
				continue
			}
			stmts, ok := p["Statement"].([]any)
			if !ok {
				return nil, fmt.Errorf("policy %v is not an inline policy document", p)
			}
			for _, s := range stmts {
				if err := allowStatement(s, actions); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("policy %v: unsupported form", p)
		}
	}
	return actions, nil
}

// allowStatement adds a statement's allowed actions; a conditional statement (Fn::If) counts with
// both branches, since the code can take either. An Allow with NotAction grants every action but a
// few, which no list of calls can be compared with: it is refused.
func allowStatement(s any, actions map[string]bool) error {
	st, _ := s.(map[string]any)
	if branches, ok := st["Fn::If"].([]any); ok && len(branches) == 3 {
		if err := allowStatement(branches[1], actions); err != nil {
			return err
		}
		return allowStatement(branches[2], actions)
	}
	if st["Effect"] != "Allow" {
		return nil
	}
	if _, ok := st["NotAction"]; ok {
		return fmt.Errorf("statement %v allows by NotAction: list the actions instead", st["Sid"])
	}
	switch a := st["Action"].(type) {
	case string:
		actions[a] = true
	case []any:
		for _, x := range a {
			actions[fmt.Sprint(x)] = true
		}
	}
	return nil
}
