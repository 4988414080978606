package templatecheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Schemas validates resources against the SAM specification's schema and the CloudFormation
// resource provider schemas (shared/schemas: sam.schema.json and cloudformation/<Type>.json).
type Schemas struct {
	dir string
	sam map[string]any

	mu  sync.Mutex
	cfn map[string]map[string]any // by resource type; nil entry: no schema
	re  map[string]*regexp.Regexp
}

// LoadSchemas reads the SAM schema from dir; CloudFormation schemas are read when first needed.
func LoadSchemas(dir string) (*Schemas, error) {
	sam, err := readJSON(filepath.Join(dir, "sam.schema.json"))
	if err != nil {
		return nil, err
	}
	return &Schemas{dir: dir, sam: sam, cfn: map[string]map[string]any{}, re: map[string]*regexp.Regexp{}}, nil
}

func readJSON(file string) (map[string]any, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return m, nil
}

// Validate checks every resource and the Globals section, and returns one message per violation,
// each naming the resource and the property path.
func (s *Schemas) Validate(t *Template) []string {
	var problems []string
	if len(t.Globals) > 0 {
		glob := s.sam["properties"].(map[string]any)["Globals"].(map[string]any)
		problems = append(problems, s.check(s.sam, glob, t.Globals, "Globals")...)
	}
	for _, id := range t.sortedIDs() {
		r := t.Resources[id]
		switch {
		case strings.HasPrefix(r.Type, "AWS::Serverless::"):
			kind := strings.ToLower(strings.TrimPrefix(r.Type, "AWS::Serverless::"))
			def, ok := s.sam["definitions"].(map[string]any)["samtranslator__internal__schema_source__aws_serverless_"+kind+"__Resource"].(map[string]any)
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: unknown SAM resource type %s", id, r.Type))
				continue
			}
			problems = append(problems, s.check(s.sam, def, r.Raw, id)...)
		case strings.HasPrefix(r.Type, "Custom::") || r.Type == "AWS::CloudFormation::CustomResource":
			if _, ok := r.Properties["ServiceToken"]; !ok {
				problems = append(problems, fmt.Sprintf("%s: custom resource without ServiceToken", id))
			}
		default:
			root, err := s.cfnSchema(r.Type)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", id, err))
				continue
			}
			// Read-only properties appear only in Fn::GetAtt, never in Properties.
			for _, ro := range list(root["readOnlyProperties"]) {
				p := strings.TrimPrefix(ro.(string), "/properties/")
				if _, set := r.Properties[p]; set && !strings.Contains(p, "/") {
					problems = append(problems, fmt.Sprintf("%s.Properties.%s: read-only property", id, p))
				}
			}
			props := map[string]any{"type": "object", "properties": root["properties"],
				"required": root["required"], "additionalProperties": root["additionalProperties"]}
			problems = append(problems, s.check(root, props, r.Properties, id+".Properties")...)
		}
	}
	return problems
}

func (s *Schemas) cfnSchema(typ string) (map[string]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.cfn[typ]; ok {
		if m == nil {
			return nil, fmt.Errorf("unknown resource type %s", typ)
		}
		return m, nil
	}
	m, err := readJSON(filepath.Join(s.dir, "cloudformation", strings.ReplaceAll(typ, "::", "-")+".json"))
	if err != nil {
		s.cfn[typ] = nil
		return nil, fmt.Errorf("unknown resource type %s (no CloudFormation schema for it)", typ)
	}
	s.cfn[typ] = m
	return m, nil
}

// intrinsic reports whether v is a CloudFormation intrinsic function call, which stands for a value
// of any type until deployment.
func intrinsic(v any) bool {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// check validates v against schema (a subset of JSON Schema draft 7: the keywords these schemas use
// for structure and values). root resolves "#/definitions/..." references.
func (s *Schemas) check(root, schema map[string]any, v any, at string) []string {
	if intrinsic(v) {
		return nil
	}
	if ref, ok := schema["$ref"].(string); ok {
		target, err := resolve(root, ref)
		if err != nil {
			return []string{fmt.Sprintf("%s: %v", at, err)}
		}
		if p := s.check(root, target, v, at); len(p) > 0 {
			return p
		}
	}
	var problems []string
	for _, sub := range list(schema["allOf"]) {
		problems = append(problems, s.check(root, sub.(map[string]any), v, at)...)
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts := list(schema[key])
		if len(alts) == 0 {
			continue
		}
		var best []string
		matched := false
		for _, alt := range alts {
			p := s.check(root, alt.(map[string]any), v, at)
			if len(p) == 0 {
				matched = true
				break
			}
			if best == nil || len(p) < len(best) {
				best = p
			}
		}
		if !matched {
			problems = append(problems, best...)
		}
	}
	if t, ok := schema["type"]; ok && !typeMatches(t, v) {
		return append(problems, fmt.Sprintf("%s: got %s, want %v", at, describe(v), t))
	}
	if enum := list(schema["enum"]); len(enum) > 0 && !contains(enum, v) {
		problems = append(problems, fmt.Sprintf("%s: %v is not one of %v", at, v, enum))
	}
	if c, ok := schema["const"]; ok && fmt.Sprint(c) != fmt.Sprint(v) {
		problems = append(problems, fmt.Sprintf("%s: %v, want %v", at, v, c))
	}
	switch val := v.(type) {
	case map[string]any:
		problems = append(problems, s.object(root, schema, val, at)...)
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, it := range val {
				problems = append(problems, s.check(root, items, it, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		if n, ok := number(schema["minItems"]); ok && float64(len(val)) < n {
			problems = append(problems, fmt.Sprintf("%s: %d items, want at least %v", at, len(val), n))
		}
		if n, ok := number(schema["maxItems"]); ok && float64(len(val)) > n {
			problems = append(problems, fmt.Sprintf("%s: %d items, want at most %v", at, len(val), n))
		}
	case string:
		if n, ok := number(schema["maxLength"]); ok && float64(len([]rune(val))) > n {
			problems = append(problems, fmt.Sprintf("%s: longer than %v characters", at, n))
		}
		if p, ok := schema["pattern"].(string); ok && !s.matches(p, val) {
			problems = append(problems, fmt.Sprintf("%s: %q does not match %s", at, val, p))
		}
	}
	return problems
}

func (s *Schemas) object(root, schema map[string]any, val map[string]any, at string) []string {
	var problems []string
	props, _ := schema["properties"].(map[string]any)
	for _, r := range list(schema["required"]) {
		if _, ok := val[r.(string)]; !ok {
			problems = append(problems, fmt.Sprintf("%s: missing required property %s", at, r))
		}
	}
	keys := make([]string, 0, len(val))
	for k := range val {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if sub, ok := props[k].(map[string]any); ok {
			problems = append(problems, s.check(root, sub, val[k], at+"."+k)...)
			continue
		}
		matched := false
		for pat, sub := range mapping(schema["patternProperties"]) {
			if s.matches(pat, k) {
				matched = true
				problems = append(problems, s.check(root, sub.(map[string]any), val[k], at+"."+k)...)
			}
		}
		if matched {
			continue
		}
		switch ap := schema["additionalProperties"].(type) {
		case bool:
			if !ap {
				problems = append(problems, fmt.Sprintf("%s: unknown property %s", at, k))
			}
		case map[string]any:
			problems = append(problems, s.check(root, ap, val[k], at+"."+k)...)
		}
	}
	return problems
}

func resolve(root map[string]any, ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("unsupported $ref %s", ref)
	}
	var cur any = root
	for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("dangling $ref %s", ref)
		}
		cur = m[part]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("dangling $ref %s", ref)
	}
	return m, nil
}

// matches applies a schema pattern; patterns RE2 cannot compile (look-arounds) are not enforced.
func (s *Schemas) matches(pattern, v string) bool {
	s.mu.Lock()
	re, ok := s.re[pattern]
	if !ok {
		re, _ = regexp.Compile(pattern)
		s.re[pattern] = re
	}
	s.mu.Unlock()
	return re == nil || re.MatchString(v)
}

// typeMatches follows CloudFormation, which accepts strings for numbers and booleans.
func typeMatches(t any, v any) bool {
	if ts := list(t); len(ts) > 0 {
		for _, one := range ts {
			if typeMatches(one, v) {
				return true
			}
		}
		return false
	}
	switch t {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		switch v.(type) {
		case string, int, float64, bool:
			return true
		}
	case "integer", "number":
		switch n := v.(type) {
		case int:
			return true
		case float64:
			return t == "number" || n == float64(int64(n))
		case string:
			_, err := strconv.ParseFloat(n, 64)
			return err == nil
		}
	case "boolean":
		switch b := v.(type) {
		case bool:
			return true
		case string:
			return strings.EqualFold(b, "true") || strings.EqualFold(b, "false")
		}
	case "null":
		return v == nil
	}
	return false
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T %v", v, v)
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func contains(l []any, v any) bool {
	for _, x := range l {
		if fmt.Sprint(x) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}
