// Package templatecheck reads Switchyard's SAM template (template.yaml) for local tooling and checks
// it as AWS will see it. Load/Parse read the source template: the local Lambda host derives functions
// and routes from it. RenderStacks has stacks.py decide each parameter combination's conditions,
// evaluate the Rules, load it as `sam build` does and translate it with aws-sam-translator; Check then
// applies the deploy-time rules that neither cfn-lint (run by `make lint`) nor SAM knows.
//
// CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) become their long forms ({"Ref": x},
// {"Fn::Sub": x}, {"Fn::GetAtt": [resource, attribute]}), so values are plain JSON-like Go values:
// map[string]any, []any, string, int, float64, bool and nil. Nothing deployed imports this package.
package templatecheck

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Template is a parsed SAM template.
type Template struct {
	Parameters map[string]any
	Conditions map[string]any
	Globals    map[string]any
	Resources  map[string]Resource
	Outputs    map[string]any
	// Doc is the whole document as JSON-like values.
	Doc map[string]any
}

// Resource is one entry of Resources.
type Resource struct {
	Type       string
	Properties map[string]any
	Condition  string
	Metadata   map[string]any
	// Raw is the resource's whole entry, DependsOn and policies included.
	Raw map[string]any
}

// Function is an AWS::Serverless::Function with a CodeUri of functions/<name>/, with Globals merged.
type Function struct {
	LogicalID string
	// Name is the function's folder under functions/ (and events/).
	Name        string
	CodeURI     string
	Timeout     time.Duration
	MemoryMB    int
	Environment map[string]string // literal values only; intrinsic-valued variables are left out
	Routes      []Route
}

// Route is an HTTP API route served by a function: an HttpApi event of the function, or an
// AWS::ApiGatewayV2::Route whose integration invokes it.
type Route struct {
	Method string // upper case; "ANY" matches every method
	Path   string // "/todos/{id}"
}

// Load reads and parses a template file.
func Load(file string) (*Template, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read SAM template: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return t, nil
}

// Parse parses a template's YAML (or JSON) text.
func Parse(b []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("parse: empty template")
	}
	v, err := value(root.Content[0])
	if err != nil {
		return nil, err
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse: the template is not a mapping")
	}
	t := &Template{
		Doc:        doc,
		Parameters: mapping(doc["Parameters"]),
		Conditions: mapping(doc["Conditions"]),
		Globals:    mapping(doc["Globals"]),
		Outputs:    mapping(doc["Outputs"]),
		Resources:  map[string]Resource{},
	}
	for id, raw := range mapping(doc["Resources"]) {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("resource %s: not a mapping", id)
		}
		typ, _ := m["Type"].(string)
		if typ == "" {
			return nil, fmt.Errorf("resource %s: no Type", id)
		}
		cond, _ := m["Condition"].(string)
		t.Resources[id] = Resource{Type: typ, Properties: mapping(m["Properties"]), Condition: cond,
			Metadata: mapping(m["Metadata"]), Raw: m}
	}
	return t, nil
}

func mapping(v any) map[string]any {
	m, _ := v.(map[string]any)
	if m == nil {
		m = map[string]any{}
	}
	return m
}

// shortForms maps CloudFormation's YAML tags to their long-form keys.
var shortForms = map[string]string{
	"!Ref": "Ref", "!Condition": "Condition", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt",
	"!Join": "Fn::Join", "!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If",
	"!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And", "!Or": "Fn::Or",
	"!FindInMap": "Fn::FindInMap", "!ImportValue": "Fn::ImportValue", "!Base64": "Fn::Base64",
	"!GetAZs": "Fn::GetAZs", "!Cidr": "Fn::Cidr", "!ToJsonString": "Fn::ToJsonString",
	"!Length": "Fn::Length", "!Contains": "Fn::Contains", "!EachMemberEquals": "Fn::EachMemberEquals",
	"!EachMemberIn": "Fn::EachMemberIn", "!RefAll": "Fn::RefAll", "!ValueOf": "Fn::ValueOf", "!ValueOfAll": "Fn::ValueOfAll",
}

func value(n *yaml.Node) (any, error) {
	if n.Kind == yaml.AliasNode {
		return value(n.Alias)
	}
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", n.Content[i].Line, k)
			}
			val, err := value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[k] = val
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			val, err := value(c)
			if err != nil {
				return nil, err
			}
			s = append(s, val)
		}
		v = s
	case yaml.ScalarNode:
		v = scalar(n)
	default:
		return nil, fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
		key, ok := shortForms[n.Tag]
		if !ok {
			return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, n.Tag)
		}
		if s, isStr := v.(string); isStr && key == "Fn::GetAtt" {
			res, attr, _ := strings.Cut(s, ".")
			v = []any{res, attr}
		}
		v = map[string]any{key: v}
	}
	return v, nil
}

func scalar(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!int":
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return f
		}
	case "!!bool":
		return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	case "!!null":
		return nil
	}
	return n.Value
}

// Functions lists the Go functions (CodeUri functions/<name>/) in logical-ID order, with
// Globals.Function's Timeout, MemorySize and Environment merged in as SAM does.
func (t *Template) Functions() []Function {
	g := mapping(t.Globals["Function"])
	var out []Function
	for _, id := range t.sortedIDs() {
		r := t.Resources[id]
		if r.Type != "AWS::Serverless::Function" {
			continue
		}
		uri, _ := r.Properties["CodeUri"].(string)
		name := path.Base(strings.TrimSuffix(uri, "/"))
		if !strings.HasPrefix(uri, "functions/") {
			continue
		}
		f := Function{LogicalID: id, Name: name, CodeURI: uri, Timeout: 3 * time.Second, MemoryMB: 128,
			Environment: map[string]string{}}
		for _, props := range []map[string]any{g, r.Properties} {
			if s, ok := number(props["Timeout"]); ok {
				f.Timeout = time.Duration(s * float64(time.Second))
			}
			if m, ok := number(props["MemorySize"]); ok {
				f.MemoryMB = int(m)
			}
			for k, v := range mapping(mapping(props["Environment"])["Variables"]) {
				if s, ok := v.(string); ok {
					f.Environment[k] = s
				} else if n, ok := number(v); ok {
					f.Environment[k] = strconv.FormatFloat(n, 'f', -1, 64)
				}
			}
		}
		for _, ev := range mapping(r.Properties["Events"]) {
			e := mapping(ev)
			if e["Type"] != "HttpApi" {
				continue
			}
			p := mapping(e["Properties"])
			method, _ := p["Method"].(string)
			route, _ := p["Path"].(string)
			f.Routes = append(f.Routes, Route{Method: strings.ToUpper(method), Path: route})
		}
		f.Routes = append(f.Routes, t.apiRoutes(id)...)
		sort.Slice(f.Routes, func(i, j int) bool {
			if f.Routes[i].Path != f.Routes[j].Path {
				return f.Routes[i].Path < f.Routes[j].Path
			}
			return f.Routes[i].Method < f.Routes[j].Method
		})
		out = append(out, f)
	}
	return out
}

// Function returns the function whose folder is functions/<name>/.
func (t *Template) Function(name string) (Function, bool) {
	for _, f := range t.Functions() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

func (t *Template) sortedIDs() []string {
	ids := make([]string, 0, len(t.Resources))
	for id := range t.Resources {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil
	}
	return 0, false
}

// apiRoutes finds the AWS::ApiGatewayV2::Route resources whose target integration invokes the
// function with logical ID fn.
func (t *Template) apiRoutes(fn string) []Route {
	var out []Route
	for _, id := range t.sortedIDs() {
		r := t.Resources[id]
		if r.Type != "AWS::ApiGatewayV2::Route" {
			continue
		}
		key, _ := r.Properties["RouteKey"].(string)
		method, path, ok := strings.Cut(key, " ")
		if !ok {
			continue
		}
		integration := strings.TrimSuffix(strings.TrimPrefix(subString(r.Properties["Target"]), "integrations/${"), "}")
		in, ok := t.Resources[integration]
		if !ok || in.Type != "AWS::ApiGatewayV2::Integration" || referencedResource(in.Properties["IntegrationUri"]) != fn {
			continue
		}
		out = append(out, Route{Method: strings.ToUpper(method), Path: path})
	}
	return out
}

// subString returns the template string of a !Sub (or a plain string).
func subString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	s, _ := mapping(v)["Fn::Sub"].(string)
	return s
}

// referencedResource names the resource a !Ref or !GetAtt points at.
func referencedResource(v any) string {
	m := mapping(v)
	if ref, ok := m["Ref"].(string); ok {
		return ref
	}
	if ga, ok := m["Fn::GetAtt"].([]any); ok && len(ga) == 2 {
		s, _ := ga[0].(string)
		return s
	}
	return ""
}
