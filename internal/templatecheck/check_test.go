package templatecheck_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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

// Every ${Name} a deployed state machine's definition uses is one of its DefinitionSubstitutions, and
// every substitution is used, in the definition as the SAM translator hands it to CloudFormation.
func TestStateMachineSubstitutionsAreDefined(t *testing.T) {
	found := 0
	for _, s := range repoStacks(t) {
		for _, id := range s.OfType("AWS::StepFunctions::StateMachine") {
			found++
			p := s.Resources[id].Properties
			def, err := json.Marshal(p["DefinitionString"])
			if err != nil {
				t.Fatal(err)
			}
			used := map[string]bool{}
			for _, m := range regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(string(def), -1) {
				used[m[1]] = true
			}
			defined, _ := p["DefinitionSubstitutions"].(map[string]any)
			for name := range used {
				if _, ok := defined[name]; !ok {
					t.Errorf("%s: %s uses ${%s}, which DefinitionSubstitutions does not define", s.Name, id, name)
				}
			}
			for name := range defined {
				if !used[name] {
					t.Errorf("%s: %s: DefinitionSubstitutions defines %s, which the definition never uses", s.Name, id, name)
				}
			}
		}
	}
	if found == 0 {
		t.Fatal("no stack deploys a state machine")
	}
}

// Every Go function is built by `sam build` through the Makefile target that `make build` and the
// size benchmark run (BuildMethod makefile, Makefile and working directory at the project root), for
// arm64, and the target builds that function's folder with the deployment flags.
func TestFunctionsAreBuiltByTheirMakeTarget(t *testing.T) {
	root, tpl := repoTemplate(t)
	for _, f := range tpl.Functions() {
		r := tpl.Resources[f.LogicalID]
		for key, want := range map[string]string{"BuildMethod": "makefile", "ContextPath": ".", "WorkingDirectory": "."} {
			if got := r.Metadata[key]; got != want {
				t.Errorf("%s: Metadata.%s = %v, want %s", f.LogicalID, key, got, want)
			}
		}
		if arch, _ := r.Properties["Architectures"].([]any); len(arch) != 1 || arch[0] != "arm64" {
			t.Errorf("%s: Architectures = %v, want [arm64]", f.LogicalID, r.Properties["Architectures"])
		}
		// make -n prints what SAM's builder would run: `make --makefile <root>/Makefile build-<id>`
		// in the project root with ARTIFACTS_DIR set.
		cmd := exec.Command("make", "-n", "--makefile", filepath.Join(root, "Makefile"), "build-"+f.LogicalID)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "ARTIFACTS_DIR=/artifacts/"+f.LogicalID)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%s: make build-%s: %v\n%s", f.LogicalID, f.LogicalID, err, out)
			continue
		}
		got := strings.Join(strings.Fields(strings.ReplaceAll(string(out), "\\\n", " ")), " ")
		for _, want := range []string{"GOOS=linux GOARCH=arm64 CGO_ENABLED=0", "-tags lambda.norpc -trimpath -ldflags \"-s -w\"",
			"-o \"/artifacts/" + f.LogicalID + "/bootstrap\"", "./" + strings.TrimSuffix(f.CodeURI, "/")} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: make build-%s runs %q, which lacks %q", f.LogicalID, f.LogicalID, got, want)
			}
		}
	}
	g, _ := tpl.Globals["Function"].(map[string]any)
	for key, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap", "Tracing": "Active"} {
		if got := g[key]; got != want {
			t.Errorf("Globals.Function.%s = %v, want %s", key, got, want)
		}
	}
	for key, v := range g {
		if _, isList := v.([]any); isList {
			t.Errorf("Globals.Function.%s is a list: SAM appends each function's own list to it", key)
		}
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

// The HTTP API routes every regional stack deploys (as CloudFormation sees them) are exactly the
// routes the todo-api handler answers; so are those the local Lambda host reads from template.yaml.
func TestTemplateRoutesMatchTheHandler(t *testing.T) {
	want := todoapi.Routes()
	sort.Strings(want)
	for _, s := range repoStacks(t) {
		if len(s.OfType("AWS::ApiGatewayV2::Api")) == 0 {
			continue
		}
		var got []string
		for _, id := range s.OfType("AWS::ApiGatewayV2::Route") {
			p := s.Resources[id].Properties
			target, _ := p["Target"].(map[string]any)["Fn::Sub"].(string)
			integration := strings.TrimSuffix(strings.TrimPrefix(target, "integrations/${"), "}")
			uri, _ := s.Resources[integration].Properties["IntegrationUri"].(map[string]any)["Fn::GetAtt"].([]any)
			if len(uri) == 2 && uri[0] == "TodoApiFunction" {
				got = append(got, fmt.Sprint(p["RouteKey"]))
			}
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: todo-api routes = %v, want %v", s.Name, got, want)
		}
	}
	_, tpl := repoTemplate(t)
	f, ok := tpl.Function("todo-api")
	if !ok {
		t.Fatal("template.yaml has no functions/todo-api/ function")
	}
	var local []string
	for _, r := range f.Routes {
		local = append(local, r.Method+" "+r.Path)
	}
	sort.Strings(local)
	if strings.Join(local, ",") != strings.Join(want, ",") {
		t.Errorf("routes the local host reads = %v, want %v", local, want)
	}
}

// The edge function is what Lambda@Edge accepts and what `make build` produces, and the
// distribution runs its published version on origin-request.
func TestEdgeFunctionDeploysTheBundle(t *testing.T) {
	_, tpl := repoTemplate(t)
	f := tpl.Resources["EdgeRewriteFunction"].Properties
	for key, want := range map[string]string{"CodeUri": "cmd/edgebundle/", "Runtime": "nodejs22.x",
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
	cmd := exec.Command("make", "-n", "--makefile", filepath.Join(root, "Makefile"), "build-EdgeRewriteFunction")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARTIFACTS_DIR=/artifacts/edge")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "run ./cmd/edgebundle -out \"/artifacts/edge\"") {
		t.Errorf("make build-EdgeRewriteFunction does not bundle into ARTIFACTS_DIR as sam build runs it: %v\n%s", err, out)
	}
	if meta := tpl.Resources["EdgeRewriteFunction"].Metadata; meta["BuildMethod"] != "makefile" || meta["ContextPath"] != "." || meta["WorkingDirectory"] != "." {
		t.Errorf("EdgeRewriteFunction Metadata = %v, want BuildMethod makefile with ContextPath and WorkingDirectory \".\"", meta)
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

// The migrate function's test seam (responses to a local HTTPS host) is configuration that only
// tests set: no deployed function carries it, nor a database CA override it does not need.
func TestNoDeployedFunctionCarriesTheTestSeam(t *testing.T) {
	for _, s := range repoStacks(t) {
		for _, id := range s.OfType("AWS::Lambda::Function") {
			envBlock, _ := s.Resources[id].Properties["Environment"].(map[string]any)
			vars, _ := envBlock["Variables"].(map[string]any)
			for name := range vars {
				if strings.HasPrefix(name, "CFN_RESPONSE_TEST_") {
					t.Errorf("%s: %s sets %s, which widens where custom resource responses may go", s.Name, id, name)
				}
			}
		}
	}
}
