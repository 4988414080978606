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
)

func readEvent(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return ev
}

// routeParams matches path against a route's path ("/todos/{id}") and returns its parameters.
func routeParams(route, path string) (map[string]any, bool) {
	pattern := "^" + regexp.MustCompile(`\\\{(\w+)\\\}`).ReplaceAllString(regexp.QuoteMeta(route), `(?P<$1>[^/]+)`) + "$"
	m := regexp.MustCompile(pattern).FindStringSubmatch(path)
	if m == nil {
		return nil, false
	}
	params := map[string]any{}
	for i, name := range regexp.MustCompile(pattern).SubexpNames() {
		if name != "" {
			params[name] = m[i]
		}
	}
	return params, true
}

// The ToDo API's fixtures are what API Gateway sends for the routes the template declares: the
// matched route as routeKey (in the event and its requestContext) and its path parameters; a request
// for an undeclared route never reaches the function, so no fixture has one.
func TestTodoAPIFixturesAreWhatAPIGatewaySends(t *testing.T) {
	root, tpl := repoTemplate(t)
	f, ok := tpl.Function("todo-api")
	if !ok {
		t.Fatal("template.yaml has no todo-api function")
	}
	files, _ := filepath.Glob(filepath.Join(root, "events", "todo-api", "*.json"))
	if len(files) == 0 {
		t.Fatal("no todo-api fixtures")
	}
	for _, file := range files {
		ev := readEvent(t, file)
		name := filepath.Base(file)
		rc, _ := ev["requestContext"].(map[string]any)
		httpCtx, _ := rc["http"].(map[string]any)
		method, _ := httpCtx["method"].(string)
		path, _ := ev["rawPath"].(string)
		var route string
		var want map[string]any
		for _, r := range f.Routes {
			if r.Method != method {
				continue
			}
			if params, ok := routeParams(r.Path, path); ok {
				route, want = r.Method+" "+r.Path, params
			}
		}
		if route == "" {
			t.Errorf("%s: %s %s matches no declared route: API Gateway answers 404 without invoking the function", name, method, path)
			continue
		}
		if ev["routeKey"] != route || rc["routeKey"] != route {
			t.Errorf("%s: routeKey %v, requestContext.routeKey %v; want %q", name, ev["routeKey"], rc["routeKey"], route)
		}
		got, _ := ev["pathParameters"].(map[string]any)
		if len(want) == 0 {
			want = nil
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: pathParameters %v, want %v", name, got, want)
		}
	}
}

// The migrate function's CloudFormation fixtures name the custom resource as the template declares
// it: its type, logical ID and properties (CloudFormation sends every property, and the service
// token, as ResourceProperties).
func TestMigrateFixturesMatchTheCustomResource(t *testing.T) {
	s := stackNamed(t, "primary-newdb-cloudfront-jwtoff")
	var id string
	for rid, r := range s.Resources {
		if strings.HasPrefix(r.Type, "Custom::") {
			id = rid
		}
	}
	if id == "" {
		t.Fatal("the primary stack has no custom resource")
	}
	var wantProps []string
	for k := range s.Resources[id].Properties {
		wantProps = append(wantProps, k)
	}
	sort.Strings(wantProps)
	root, _ := repoTemplate(t)
	files, _ := filepath.Glob(filepath.Join(root, "events", "migrate", "cfn-*.json"))
	if len(files) == 0 {
		t.Fatal("no CloudFormation fixtures for migrate")
	}
	for _, file := range files {
		ev := readEvent(t, file)
		name := filepath.Base(file)
		if ev["ResourceType"] != s.Resources[id].Type || ev["LogicalResourceId"] != id {
			t.Errorf("%s: ResourceType %v LogicalResourceId %v, want %s %s", name, ev["ResourceType"], ev["LogicalResourceId"], s.Resources[id].Type, id)
		}
		for _, key := range []string{"ResourceProperties", "OldResourceProperties"} {
			p, ok := ev[key].(map[string]any)
			if !ok {
				continue
			}
			var got []string
			for k := range p {
				got = append(got, k)
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(wantProps, ",") {
				t.Errorf("%s: %s has %v, want the template's %v", name, key, got, wantProps)
			}
		}
	}
}

// CloudFront puts the request body into an origin-request event only when the association sets
// IncludeBody, which the template's does not.
func TestEdgeFixturesCarryNoBody(t *testing.T) {
	s := stackNamed(t, "edge")
	cfg := props(s, "Distribution")["DistributionConfig"].(map[string]any)
	includeBody := false
	for _, a := range cfg["DefaultCacheBehavior"].(map[string]any)["LambdaFunctionAssociations"].([]any) {
		includeBody = includeBody || a.(map[string]any)["IncludeBody"] == true
	}
	root, _ := repoTemplate(t)
	files, _ := filepath.Glob(filepath.Join(root, "events", "edge-rewrite", "*.json"))
	for _, file := range files {
		ev := readEvent(t, file)
		for _, rec := range ev["Records"].([]any) {
			req, _ := rec.(map[string]any)["cf"].(map[string]any)["request"].(map[string]any)
			if _, ok := req["body"]; ok && !includeBody {
				t.Errorf("%s carries a body: CloudFront sends none without IncludeBody", filepath.Base(file))
			}
		}
	}
}
