package templatecheck_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// evalCondition evaluates the template's conditions for given parameter values (defaults
// otherwise); it knows the functions the template's Conditions use.
func evalCondition(t *testing.T, conds, params map[string]any, values map[string]string, v any) bool {
	t.Helper()
	param := func(name string) string {
		if val, ok := values[name]; ok {
			return val
		}
		p, _ := params[name].(map[string]any)
		return fmt.Sprint(p["Default"])
	}
	var value func(x any) string
	value = func(x any) string {
		switch x := x.(type) {
		case string:
			return x
		case map[string]any:
			if r, ok := x["Ref"].(string); ok {
				return param(r)
			}
			if j, ok := x["Fn::Join"].([]any); ok {
				var parts []string
				if l, ok := j[1].([]any); ok {
					for _, p := range l {
						parts = append(parts, value(p))
					}
				} else {
					parts = append(parts, strings.Trim(value(j[1]), "[]"))
				}
				return strings.Join(parts, fmt.Sprint(j[0]))
			}
		}
		return fmt.Sprint(x)
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("condition %v is not a function", v)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return evalCondition(t, conds, params, values, conds[arg.(string)])
		case "Fn::Equals":
			return value(args[0]) == value(args[1])
		case "Fn::Not":
			return !evalCondition(t, conds, params, values, args[0])
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, a := range args {
				if evalCondition(t, conds, params, values, a) != and {
					return !and
				}
			}
			return and
		}
		t.Fatalf("condition function %s is not known to this test", fn)
	}
	return false
}

// The witness stack (Role=witness) deploys the lease's third grantor and nothing of a region:
// no database, no API, no orchestrator, no edge.
func TestWitnessStackIsOnlyTheLeaseTable(t *testing.T) {
	_, tpl := repoTemplate(t)
	var created []string
	for id, r := range tpl.Resources {
		if r.Condition == "" || evalCondition(t, tpl.Conditions, tpl.Parameters, map[string]string{"Role": "witness"}, map[string]any{"Condition": r.Condition}) {
			created = append(created, id+" ("+r.Type+")")
		}
	}
	sort.Strings(created)
	if strings.Join(created, ",") != "LeaseTable (AWS::DynamoDB::Table)" {
		t.Errorf("Role=witness creates %v, want only LeaseTable", created)
	}
	// And the regional stacks keep theirs, with the renewer.
	for _, role := range []string{"primary", "secondary"} {
		for _, id := range []string{"LeaseTable", "LeaseRenewerFunction", "TodoApiFunction"} {
			r := tpl.Resources[id]
			if !evalCondition(t, tpl.Conditions, tpl.Parameters, map[string]string{"Role": role}, map[string]any{"Condition": r.Condition}) {
				t.Errorf("Role=%s does not create %s", role, id)
			}
		}
	}
}
