package sfnlocal_test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// The failover state machine's structure, read from statemachine/failover.asl.json as deployed.
// These tests need no Node.js: they check the rules that keep a run safe whatever the steps
// answer, so that removing a Retry or a Catch, or rerouting a Choice, fails here at once.

const aslPath = "../../../statemachine/failover.asl.json"

type aslRule struct {
	ErrorEquals []string `json:"ErrorEquals"`
	Next        string   `json:"Next"`
}

type aslState struct {
	Type    string            `json:"Type"`
	Next    string            `json:"Next"`
	Default string            `json:"Default"`
	Choices []json.RawMessage `json:"Choices"`
	Retry   []aslRule         `json:"Retry"`
	Catch   []aslRule         `json:"Catch"`
}

type aslMachine struct {
	StartAt string              `json:"StartAt"`
	States  map[string]aslState `json:"States"`
}

func loadASL(t *testing.T) aslMachine {
	t.Helper()
	b, err := os.ReadFile(aslPath)
	if err != nil {
		t.Fatal(err)
	}
	var m aslMachine
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", aslPath, err)
	}
	if _, ok := m.States[m.StartAt]; !ok {
		t.Fatalf("StartAt %q is not a state", m.StartAt)
	}
	return m
}

func (m aslMachine) tasks() []string {
	var names []string
	for name, s := range m.States {
		if s.Type == "Task" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// edge is one way into a state: from a state's Next, Default, a Catch rule, or a Choice rule.
type edge struct {
	from, to, via string
	choice        json.RawMessage // the Choice rule, for via == "choice"
}

func (m aslMachine) edges(t *testing.T) []edge {
	t.Helper()
	var out []edge
	for name, s := range m.States {
		if s.Next != "" {
			out = append(out, edge{from: name, to: s.Next, via: "next"})
		}
		if s.Default != "" {
			out = append(out, edge{from: name, to: s.Default, via: "default"})
		}
		for _, c := range s.Catch {
			out = append(out, edge{from: name, to: c.Next, via: "catch"})
		}
		for _, raw := range s.Choices {
			var r struct{ Next string }
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, edge{from: name, to: r.Next, via: "choice", choice: raw})
		}
	}
	return out
}

// reachable lists the states reachable from StartAt without passing through avoid.
func (m aslMachine) reachable(t *testing.T, avoid string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	edges := m.edges(t)
	visit = func(s string) {
		if seen[s] || s == avoid {
			return
		}
		seen[s] = true
		for _, e := range edges {
			if e.from == s {
				visit(e.to)
			}
		}
	}
	visit(m.StartAt)
	return seen
}

// route is where a Choice state sends input: the first matching rule's Next, else Default.
func route(t *testing.T, s aslState, input map[string]any) string {
	t.Helper()
	for _, raw := range s.Choices {
		var rule map[string]any
		if err := json.Unmarshal(raw, &rule); err != nil {
			t.Fatal(err)
		}
		if matches(t, rule, input) {
			return rule["Next"].(string)
		}
	}
	return s.Default
}

// matches evaluates a Choice rule with the comparison operators this machine uses; any other
// makes the test fail so that it is extended rather than silently wrong.
func matches(t *testing.T, rule map[string]any, input map[string]any) bool {
	t.Helper()
	list := func(k string) []map[string]any {
		var out []map[string]any
		for _, r := range rule[k].([]any) {
			out = append(out, r.(map[string]any))
		}
		return out
	}
	switch {
	case rule["And"] != nil:
		for _, r := range list("And") {
			if !matches(t, r, input) {
				return false
			}
		}
		return true
	case rule["Or"] != nil:
		for _, r := range list("Or") {
			if matches(t, r, input) {
				return true
			}
		}
		return false
	case rule["Not"] != nil:
		return !matches(t, rule["Not"].(map[string]any), input)
	}
	v, present := lookup(input, rule["Variable"].(string))
	for op, want := range rule {
		switch op {
		case "Variable", "Next":
		case "IsPresent":
			return present == want.(bool)
		case "StringEquals", "BooleanEquals":
			// Step Functions fails a run whose compared variable is missing; as a route, that is
			// "not this rule", which is what the callers check.
			return present && v == want
		default:
			t.Fatalf("Choice operator %s is not known to this test: extend matches", op)
		}
	}
	t.Fatalf("Choice rule %v compares nothing", rule)
	return false
}

func lookup(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, p := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func names(rules []aslRule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, r.ErrorEquals...)
	}
	return out
}

// lambdaTransient are the Lambda service's own errors that any Task invoking a function must retry.
var lambdaTransient = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"}

func TestEveryTaskRetriesAndCatches(t *testing.T) {
	m := loadASL(t)
	if len(m.tasks()) < 6 {
		t.Fatalf("tasks: got %v, want at least preflight, promote, await, traffic, verify and notify", m.tasks())
	}
	for _, name := range m.tasks() {
		s := m.States[name]
		retried := names(s.Retry)
		if len(s.Retry) == 0 {
			t.Errorf("%s has no Retry", name)
		}
		for _, want := range append([]string{"ThrottledError", "TransientError"}, lambdaTransient...) {
			if !slices.Contains(retried, want) {
				t.Errorf("%s does not retry %s", name, want)
			}
		}
		if slices.Contains(retried, "States.ALL") || slices.Contains(retried, "States.TaskFailed") {
			t.Errorf("%s retries everything: a refusal or a timeout must not be retried", name)
		}
		if len(s.Catch) == 0 {
			t.Errorf("%s has no Catch: a failure would end the run without a notification", name)
			continue
		}
		last := s.Catch[len(s.Catch)-1]
		if !slices.Equal(last.ErrorEquals, []string{"States.ALL"}) {
			t.Errorf("%s: the last Catch matches %v, want States.ALL so that every failure is caught", name, last.ErrorEquals)
		}
		if target, ok := m.States[last.Next]; !ok || (target.Type != "Task" && target.Type != "Fail") {
			t.Errorf("%s: Catch goes to %q, want the failure notice (a Task) or a Fail state", name, last.Next)
		}
	}
	if r := names(m.States["SwapTraffic"].Retry); !slices.Contains(r, "PreconditionError") {
		t.Errorf("SwapTraffic retries %v, want PreconditionError too: a stale CloudFront ETag is re-read and retried", r)
	}
	for _, want := range []string{"TrafficNotShiftedError", "VerificationError"} {
		if r := names(m.States["Verify"].Retry); !slices.Contains(r, want) {
			t.Errorf("Verify retries %v, want %s too", r, want)
		}
	}
}

// TestSwapTrafficOnlyAfterTheWriterIsConfirmed: the only ways into SwapTraffic are Choices that
// require either $.promotion.done (set by AwaitPromotion when FailoverState is gone and this region
// writes) or a "none" decision (this region already writes: the run converges traffic and verifies);
// a promotion decision whose promotion is not done, or a refusal, never leads there. SwapTraffic then
// re-checks the writer itself (NotWriterError), which is the mechanism; this is the order.
func TestSwapTrafficOnlyAfterTheWriterIsConfirmed(t *testing.T) {
	m := loadASL(t)
	var into []edge
	for _, e := range m.edges(t) {
		if e.to == "SwapTraffic" {
			into = append(into, e)
		}
	}
	if len(into) == 0 {
		t.Fatal("nothing leads to SwapTraffic")
	}
	for _, e := range into {
		if e.via != "choice" || m.States[e.from].Type != "Choice" {
			t.Errorf("%s leads to SwapTraffic by its %s: only a Choice on the writer being confirmed may", e.from, e.via)
			continue
		}
		s := m.States[e.from]
		for _, in := range []map[string]any{
			{"decision": map[string]any{"action": "switchover"}, "promotion": map[string]any{"done": false}},
			{"decision": map[string]any{"action": "failover"}, "promotion": map[string]any{}},
			{"decision": map[string]any{"action": "refuse"}},
			{"decision": map[string]any{"action": "follow"}, "promotion": map[string]any{"done": false}},
		} {
			if route(t, s, in) == "SwapTraffic" {
				t.Errorf("%s with %v goes to SwapTraffic: the writer is not confirmed", e.from, in)
			}
		}
		confirmed := route(t, s, map[string]any{"decision": map[string]any{"action": "switchover"}, "promotion": map[string]any{"done": true}}) == "SwapTraffic" ||
			route(t, s, map[string]any{"decision": map[string]any{"action": "none"}}) == "SwapTraffic"
		if !confirmed {
			t.Errorf("%s leads to SwapTraffic neither on a finished promotion nor on a none decision", e.from)
		}
	}
	if !m.reachable(t, "")["SwapTraffic"] {
		t.Error("SwapTraffic is not reachable at all")
	}
}

// TestPromoteOnlyOnAPromotionDecision: only a switchover or failover decision reaches Promote; a
// "none" (this region already writes), a refusal or anything unexpected never does.
func TestPromoteOnlyOnAPromotionDecision(t *testing.T) {
	m := loadASL(t)
	found := false
	for _, e := range m.edges(t) {
		if e.to != "Promote" {
			continue
		}
		found = true
		if e.via != "choice" || m.States[e.from].Type != "Choice" {
			t.Errorf("%s leads to Promote by its %s: only a Choice on the decision may", e.from, e.via)
			continue
		}
		for action, want := range map[string]bool{"switchover": true, "failover": true, "none": false, "refuse": false, "": false, "promote": false} {
			in := map[string]any{"decision": map[string]any{"action": action}}
			if got := route(t, m.States[e.from], in) == "Promote"; got != want {
				t.Errorf("%s with decision %q: goes to Promote %t, want %t", e.from, action, got, want)
			}
		}
		if route(t, m.States[e.from], map[string]any{}) == "Promote" {
			t.Errorf("%s without a decision goes to Promote", e.from)
		}
	}
	if !found {
		t.Fatal("nothing leads to Promote")
	}
	if m.reachable(t, "Preflight")["Promote"] {
		t.Error("Promote is reachable without passing Preflight")
	}
}

// stepErrorTypes are the named error types of package failover (a type with an Error method),
// read from its source so that a new one cannot be missed.
func stepErrorTypes(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../failover/*.go")
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Name.Name != "Error" || fn.Type.Params.NumFields() != 0 {
				continue
			}
			recv := fn.Recv.List[0].Type
			if star, ok := recv.(*ast.StarExpr); ok {
				recv = star.X
			}
			if id, ok := recv.(*ast.Ident); ok {
				types[id.Name] = true
			}
		}
	}
	if len(types) == 0 {
		t.Fatal("found no error types in internal/failover")
	}
	return types
}

// notInTheMachine are error types the state machine never sees by name: the trigger's own.
var notInTheMachine = map[string]string{"ExecutionExistsError": "returned by the trigger, not by a step"}

// endsTheRun are the step errors that must not be retried: the Catch-all notifies and fails.
var endsTheRun = []string{"RefusedError", "NotWriterError", "InvalidInputError", "StepFailedError", "PromotionTimeoutError"}

// TestErrorNamesMatchTheGoErrorTypes is the contract between the ASL and the steps: every error
// name in a Retry or Catch is an error type of package failover, and every such type is either
// matched by name in the machine, deliberately left to the Catch-all (not retried), or not a step's.
// The table in errors.go's comment lists the same types.
func TestErrorNamesMatchTheGoErrorTypes(t *testing.T) {
	m := loadASL(t)
	goTypes := stepErrorTypes(t)
	named := map[string]bool{}
	for _, s := range m.States {
		for _, n := range append(names(s.Retry), names(s.Catch)...) {
			// States.*, Lambda.* and the runtime's own names for a crashed or timed-out
			// invocation (Runtime.ExitError, Sandbox.Timedout) are not the steps' to return.
			if strings.HasPrefix(n, "States.") || strings.HasPrefix(n, "Lambda.") || strings.HasPrefix(n, "Runtime.") || strings.HasPrefix(n, "Sandbox.") {
				continue
			}
			named[n] = true
			if !goTypes[n] {
				t.Errorf("the state machine matches %q, which no step returns: package failover has no error type of that name", n)
			}
		}
	}
	for _, n := range endsTheRun {
		if !goTypes[n] {
			t.Errorf("%s is listed as ending the run but is not an error type of package failover", n)
		}
		for name, s := range m.States {
			if slices.Contains(names(s.Retry), n) {
				t.Errorf("%s retries %s, which must end the run", name, n)
			}
		}
	}
	for n := range goTypes {
		_, other := notInTheMachine[n]
		if !named[n] && !slices.Contains(endsTheRun, n) && !other {
			t.Errorf("error type %s is neither matched by the state machine nor listed as ending the run: decide how the machine handles it", n)
		}
		if named[n] && other {
			t.Errorf("%s is matched by the state machine but is %s", n, notInTheMachine[n])
		}
	}

	src, err := os.ReadFile("../../failover/errors.go")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^//\t(\w+Error)\s`).FindAllStringSubmatch(string(src), -1) {
		documented[m[1]] = true
	}
	if fmt.Sprint(sortedKeys(documented)) != fmt.Sprint(sortedKeys(goTypes)) {
		t.Errorf("errors.go's contract table lists %v, the package has %v", sortedKeys(documented), sortedKeys(goTypes))
	}
}

func sortedKeys(m map[string]bool) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}
