package awsusage_test

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/awsusage"
	"github.com/switchyard-dr/switchyard/internal/devtools"
	"github.com/switchyard-dr/switchyard/internal/samtemplate"
)

// managedPolicies are the AWS managed policies a function may carry without its code calling
// them: the Lambda service itself uses them on the function's behalf.
var managedPolicies = map[string]string{
	"AWSLambdaVPCAccessExecutionRole": "Lambda creates and deletes the function's network interfaces in the VPC",
}

// Least privilege: every AWS operation a function's code can reach is allowed by that function's
// policy in template.yaml, and the policy allows nothing the code does not call.
func TestPoliciesAllowExactlyWhatTheCodeCalls(t *testing.T) {
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
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
			called := map[string]bool{}
			for _, c := range calls {
				called[c.Action] = true
				if !allowed[c.Action] {
					t.Errorf("%s calls %s (%s) but its policy does not allow it", f.LogicalID, c.Action, c.At)
				}
			}
			var extra []string
			for a := range allowed {
				if !called[a] {
					extra = append(extra, a)
				}
			}
			sort.Strings(extra)
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
			stmts, ok := p["Statement"].([]any)
			if !ok {
				return nil, fmt.Errorf("policy %v is not an inline policy document", p)
			}
			for _, s := range stmts {
				st, _ := s.(map[string]any)
				if st["Effect"] != "Allow" {
					continue
				}
				switch a := st["Action"].(type) {
				case string:
					actions[a] = true
				case []any:
					for _, x := range a {
						actions[fmt.Sprint(x)] = true
					}
				}
			}
		default:
			return nil, fmt.Errorf("policy %v: unsupported form", p)
		}
	}
	return actions, nil
}
