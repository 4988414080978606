package samtemplate_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/devtools"
	"github.com/switchyard-dr/switchyard/internal/samtemplate"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

func repoTemplate(t *testing.T) (string, *samtemplate.Template) {
	t.Helper()
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
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
	s, err := samtemplate.LoadSchemas(dir)
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

func TestSamconfigHasTheThreeEnvironmentsAndNoCachedBuilds(t *testing.T) {
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
	if strings.Join(envs, ",") != "edge,primary,secondary" {
		t.Errorf("deploy environments = %v, want edge, primary, secondary", envs)
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
