package templatecheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/templatecheck"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

func repoTemplate(t *testing.T) (string, *templatecheck.Template) {
	t.Helper()
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := templatecheck.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return root, tpl
}

// The template validates against the SAM and CloudFormation resource schemas in ../shared/schemas.
func TestTemplateMatchesTheSchemas(t *testing.T) {
	root, tpl := repoTemplate(t)
	dir := filepath.Join(root, "..", "shared", "schemas")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("schemas not found beside the checkout (%v): the template checks need ../shared/schemas", err)
	}
	s, err := templatecheck.LoadSchemas(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Validate(tpl) {
		t.Error(p)
	}
}

func TestEveryFunctionHasItsCodeAndEveryEventFolderAFunction(t *testing.T) {
	root, tpl := repoTemplate(t)
	fns := map[string]bool{}
	for _, f := range tpl.Functions() {
		fns[f.Name] = true
		if _, err := os.Stat(filepath.Join(root, f.CodeURI, "main.go")); err != nil {
			t.Errorf("%s: CodeUri %s has no main.go", f.LogicalID, f.CodeURI)
		}
	}
	if len(fns) == 0 {
		t.Fatal("the template declares no Go functions")
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "functions", "*"))
	for _, d := range dirs {
		if name := filepath.Base(d); !fns[name] {
			t.Errorf("functions/%s is not deployed by template.yaml", name)
		}
	}
	events, _ := filepath.Glob(filepath.Join(root, "events", "*"))
	for _, d := range events {
		if name := filepath.Base(d); !fns[name] {
			t.Errorf("events/%s matches no function in template.yaml", name)
		}
	}
}

// Every ${Name} the state machine definitions use is a DefinitionSubstitution of the state machine
// that deploys them, and every substitution is used.
func TestStateMachineSubstitutionsAreDefined(t *testing.T) {
	root, tpl := repoTemplate(t)
	found := 0
	for id, r := range tpl.Resources {
		if r.Type != "AWS::Serverless::StateMachine" {
			continue
		}
		uri, _ := r.Properties["DefinitionUri"].(string)
		b, err := os.ReadFile(filepath.Join(root, uri))
		if err != nil {
			t.Fatalf("%s: DefinitionUri: %v", id, err)
		}
		found++
		var def any
		if err := json.Unmarshal(b, &def); err != nil {
			t.Fatalf("%s: %s is not JSON: %v", id, uri, err)
		}
		used := map[string]bool{}
		for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		defined, _ := r.Properties["DefinitionSubstitutions"].(map[string]any)
		for name := range used {
			if _, ok := defined[name]; !ok {
				t.Errorf("%s: %s uses ${%s}, which DefinitionSubstitutions does not define", id, uri, name)
			}
		}
		for name := range defined {
			if !used[name] {
				t.Errorf("%s: DefinitionSubstitutions defines %s, which %s never uses", id, name, uri)
			}
		}
	}
	if found == 0 {
		t.Fatal("template.yaml deploys no state machine")
	}
}

func TestFunctionsCarryTheGoBuildSettings(t *testing.T) {
	_, tpl := repoTemplate(t)
	for _, f := range tpl.Functions() {
		r := tpl.Resources[f.LogicalID]
		if r.Metadata["BuildMethod"] != "go1.x" {
			t.Errorf("%s: Metadata.BuildMethod = %v, want go1.x (SAM builds it with go build in %s)", f.LogicalID, r.Metadata["BuildMethod"], f.CodeURI)
		}
	}
	g, _ := tpl.Globals["Function"].(map[string]any)
	for key, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "Tracing": "Active"} {
		if got := g[key]; got != want {
			t.Errorf("Globals.Function.%s = %v, want %s", key, got, want)
		}
	}
	if arch, _ := g["Architectures"].([]any); len(arch) != 1 || arch[0] != "arm64" {
		t.Errorf("Globals.Function.Architectures = %v, want [arm64]", g["Architectures"])
	}
}

func TestSamconfigHasTheFourEnvironmentsAndNoCachedBuilds(t *testing.T) {
	root, _ := repoTemplate(t)
	b, err := os.ReadFile(filepath.Join(root, "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var envs []string
	for _, m := range regexp.MustCompile(`(?m)^\[([a-z]+)\.deploy\.parameters\]`).FindAllStringSubmatch(text, -1) {
		envs = append(envs, m[1])
	}
	sort.Strings(envs)
	if strings.Join(envs, ",") != "edge,primary,secondary,witness" {
		t.Errorf("deploy environments = %v, want edge, primary, secondary, witness", envs)
	}
	if regexp.MustCompile(`(?m)^\s*cached\s*=\s*true`).MatchString(text) {
		t.Error("samconfig.toml enables cached builds: SAM's cache misses changes under internal/")
	}
}

// The HTTP API routes in template.yaml, which the local Lambda host serves too, are exactly the
// routes the todo-api handler answers.
func TestTemplateRoutesMatchTheHandler(t *testing.T) {
	_, tpl := repoTemplate(t)
	f, ok := tpl.Function("todo-api")
	if !ok {
		t.Fatal("template.yaml has no functions/todo-api/ function")
	}
	var got []string
	for _, r := range f.Routes {
		got = append(got, r.Method+" "+r.Path)
	}
	want := todoapi.Routes()
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("todo-api routes = %v, want %v", got, want)
	}
}

// The edge function is what Lambda@Edge accepts and what `make build` produces, and the
// distribution runs its published version on origin-request.
func TestEdgeFunctionDeploysTheBundle(t *testing.T) {
	_, tpl := repoTemplate(t)
	f := tpl.Resources["EdgeRewriteFunction"].Properties
	for key, want := range map[string]string{"CodeUri": ".build/edge-rewrite-edge/", "Runtime": "nodejs22.x",
		"Handler": "index.handler", "Tracing": "Disabled", "AutoPublishAlias": "live"} {
		if got := f[key]; got != want {
			t.Errorf("EdgeRewriteFunction.%s = %v, want %s", key, got, want)
		}
	}
	if arch, _ := f["Architectures"].([]any); len(arch) != 1 || arch[0] != "x86_64" {
		t.Errorf("EdgeRewriteFunction.Architectures = %v, want [x86_64]", f["Architectures"])
	}
	if _, set := f["Environment"]; set {
		t.Error("EdgeRewriteFunction has Environment: Lambda@Edge refuses environment variables")
	}
	if doc := fmt.Sprint(f["AssumeRolePolicyDocument"]); !strings.Contains(doc, "edgelambda.amazonaws.com") {
		t.Errorf("the edge role is not trusted by edgelambda.amazonaws.com: %s", doc)
	}
	root, _ := devtools.Root()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil || !strings.Contains(string(mk), "-out "+strings.TrimSuffix(f["CodeUri"].(string), "/")) {
		t.Errorf("the Makefile does not build the bundle into the edge function's CodeUri %v", f["CodeUri"])
	}
	dist := fmt.Sprint(tpl.Resources["Distribution"].Properties)
	if !strings.Contains(dist, "EventType:origin-request") || !strings.Contains(dist, "Ref:EdgeRewriteFunction.Version") {
		t.Errorf("the distribution does not run the function's published version on origin-request: %s", dist)
	}
}

// The orchestrator's settings that the issue fixes: a traced, logged Standard workflow, and a
// peer alarm that needs N of M datapoints and is the one the trigger acts on.
func TestOrchestratorSettings(t *testing.T) {
	_, tpl := repoTemplate(t)
	sm := tpl.Resources["FailoverStateMachine"].Properties
	if sm["Type"] != "STANDARD" || fmt.Sprint(sm["Tracing"]) != "map[Enabled:true]" {
		t.Errorf("state machine: Type %v, Tracing %v; want STANDARD with tracing enabled", sm["Type"], sm["Tracing"])
	}
	if logging, _ := sm["Logging"].(map[string]any); logging["Level"] != "ALL" {
		t.Errorf("state machine logging level = %v, want ALL", logging["Level"])
	}
	alarm := tpl.Resources["PeerWriterAlarm"].Properties
	n, _ := alarm["DatapointsToAlarm"].(int)
	m, _ := alarm["EvaluationPeriods"].(int)
	if n < 2 || n >= m {
		t.Errorf("peer alarm needs %d of %d datapoints: a flapping peer must not fire it (want 1 < N < M)", n, m)
	}
	trigger, _ := tpl.Function("failover-trigger")
	env := fmt.Sprint(tpl.Resources[trigger.LogicalID].Properties["Environment"])
	if !strings.Contains(env, fmt.Sprint(alarm["AlarmName"])) {
		t.Errorf("the trigger's ALARM_NAMES (%s) does not name the peer alarm %v", env, alarm["AlarmName"])
	}
}
