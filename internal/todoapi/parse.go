package todoapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
	"github.com/switchyard-dr/switchyard/internal/todo"
)

// fields are the members of a JSON object body, not yet decoded.
type fields map[string]json.RawMessage

// parseObject decodes a body that must be one JSON object whose member names are all allowed. Errors
// are EINVALID and name the field when there is one.
func parseObject(body []byte, allowed ...string) (fields, error) {
	var f fields
	// eventjson refuses what encoding/json lets through: invalid UTF-8 (silently replaced with
	// U+FFFD) and a member given twice (the last one silently winning).
	if err := eventjson.Unmarshal(body, &f); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, todo.Invalid("body", "the body must be a JSON object, not %s", typ.Value)
		}
		return nil, todo.Invalid("body", "the body is not acceptable JSON: %s", err.Error())
	}
	if f == nil {
		return nil, todo.Invalid("body", "the body must be a JSON object, not null")
	}
	names := make([]string, 0, len(f))
	for k := range f {
		names = append(names, k)
	}
	slices.Sort(names) // the same body always reports the same field
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			return nil, todo.Invalid(k, "unknown field %q; this request accepts %s", k, strings.Join(allowed, ", "))
		}
	}
	return f, nil
}

func (f fields) isNull(name string) bool {
	raw, ok := f[name]
	return ok && string(raw) == "null"
}

// str returns a string member; present is false when the member is absent.
func (f fields) str(name string) (value string, present bool, err error) {
	raw, ok := f[name]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil || string(raw) == "null" {
		return "", true, todo.Invalid(name, "%s must be a string, not %s", name, jsonKind(raw))
	}
	return value, true, nil
}

// jsonKind names the kind of a member already checked to be JSON, so raw is never empty.
func jsonKind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '"':
		return "a string"
	}
	return "a number"
}
