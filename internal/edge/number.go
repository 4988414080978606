package edge

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
)

// UnmarshalJSON reads the origin's numbers the way JavaScript does. Lambda@Edge hands the event to the
// Node.js loader, which parses it into doubles before the WebAssembly build sees it, so 1000.0 and
// 1e3 reach that build as 1000, and 2^53+1 as 2^53; the native build reads them through float64 too,
// so both builds give the same answer for the same event. A number with a fraction is refused by both.
func (c *CustomOrigin) UnmarshalJSON(b []byte) error {
	type plain CustomOrigin
	var raw struct {
		plain
		KeepaliveTimeout json.RawMessage `json:"keepaliveTimeout"`
		Port             json.RawMessage `json:"port"`
		ReadTimeout      json.RawMessage `json:"readTimeout"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = CustomOrigin(raw.plain)
	for _, f := range []struct {
		name string
		in   json.RawMessage
		out  *int
	}{{"keepaliveTimeout", raw.KeepaliveTimeout, &c.KeepaliveTimeout}, {"port", raw.Port, &c.Port}, {"readTimeout", raw.ReadTimeout, &c.ReadTimeout}} {
		if len(f.in) == 0 || string(f.in) == "null" {
			continue
		}
		if f.in[0] == '"' || f.in[0] == '[' || f.in[0] == '{' || f.in[0] == 't' || f.in[0] == 'f' {
			return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[int](), Struct: "CustomOrigin", Field: f.name}
		}
		v, err := strconv.ParseFloat(string(f.in), 64)
		if err != nil || v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return &json.UnmarshalTypeError{Value: "number (not a whole number)", Type: reflect.TypeFor[int](), Struct: "CustomOrigin", Field: f.name}
		}
		*f.out = int(v)
	}
	return nil
}
