package localcloud

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-dr/switchyard/internal/eventjson"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud/cbor"
)

// CloudWatch answers the same operations in three protocols, and each client picks one:
// aws-sdk-go-v2 sends Smithy RPC v2 CBOR, botocore (the AWS CLI) sends JSON 1.0 with the
// X-Amz-Target header, and older SDKs and hand-made requests send Query (form in, XML out).
// Every protocol decodes into the same map[string]any and encodes the same result map, so the
// operations are written once.
type cwProtocol int

const (
	cwCBOR cwProtocol = iota
	cwJSON
	cwQuery
)

const (
	cwTargetPrefix = "GraniteServiceVersion20100801."
	cwXMLNS        = "http://monitoring.amazonaws.com/doc/2010-08-01/"
)

// cloudwatchRequest tells the protocol from the request's own markers and names the operation.
func cloudwatchRequest(req *request) (cwProtocol, string) {
	if req.Header.Get("Smithy-Protocol") == "rpc-v2-cbor" {
		return cwCBOR, req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]
	}
	if target := req.Header.Get("X-Amz-Target"); target != "" {
		return cwJSON, strings.TrimPrefix(target, cwTargetPrefix)
	}
	return cwQuery, ""
}

// decodeCloudWatch reads the body in the request's protocol. For Query it also names the
// operation, which travels in the form's Action.
func decodeCloudWatch(proto cwProtocol, req *request, body []byte) (map[string]any, string, error) {
	in := map[string]any{}
	switch proto {
	case cwCBOR:
		if len(body) == 0 {
			return in, "", nil
		}
		v, err := cbor.Decode(body)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, "", fmt.Errorf("request body is not a CBOR map: %v", err)
		}
		return m, "", nil
	case cwJSON:
		if len(bytes.TrimSpace(body)) == 0 {
			return in, "", nil
		}
		if err := eventjson.Unmarshal(body, &in); err != nil {
			return nil, "", fmt.Errorf("request body is not a JSON object: %v", err)
		}
		return in, "", nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, "", fmt.Errorf("request body is not a form: %v", err)
	}
	for k, v := range req.URL.Query() {
		form[k] = append(form[k], v...)
	}
	if v := form.Get("Version"); v != "" && v != "2010-08-01" {
		return nil, "", fmt.Errorf("Version %q: CloudWatch's Query API version is 2010-08-01", v)
	}
	return queryTree(form), form.Get("Action"), nil
}

// queryTree turns Query's flattened names (MetricData.member.1.Dimensions.member.2.Name) into
// nested maps and lists. Values stay strings; the operations' accessors parse numbers, booleans
// and timestamps from strings too.
func queryTree(form url.Values) map[string]any {
	root := map[string]any{}
	for k, vs := range form {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		m := root
		parts := strings.Split(k, ".")
		for _, p := range parts[:len(parts)-1] {
			child, ok := m[p].(map[string]any)
			if !ok {
				child = map[string]any{}
				m[p] = child
			}
			m = child
		}
		m[parts[len(parts)-1]] = vs[0]
	}
	return listify(root).(map[string]any)
}

// listify replaces every {"member": {"1": a, "2": b}} with [a, b]; an empty value where a list
// is expected (AlarmActions=) is Query's empty list.
func listify(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if members, ok := m["member"].(map[string]any); ok && len(m) == 1 {
		idx := make([]int, 0, len(members))
		byIdx := map[int]any{}
		for k, mv := range members {
			n, err := strconv.Atoi(k)
			if err != nil || n < 1 {
				return m
			}
			idx = append(idx, n)
			byIdx[n] = listify(mv)
		}
		sort.Ints(idx)
		out := make([]any, 0, len(idx))
		for _, n := range idx {
			out = append(out, byIdx[n])
		}
		return out
	}
	for k, mv := range m {
		m[k] = listify(mv)
	}
	return m
}

// writeCloudWatch answers an operation in the request's protocol. A nil out is an operation
// with no output shape.
func writeCloudWatchResult(w http.ResponseWriter, proto cwProtocol, op, requestID string, out map[string]any) {
	w.Header().Set("x-amzn-RequestId", requestID)
	switch proto {
	case cwCBOR:
		if out == nil {
			out = map[string]any{}
		}
		body, err := cbor.Encode(out)
		if err != nil {
			writeCloudWatchError(w, proto, requestID, asAPIError(err))
			return
		}
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
		w.Write(body)
	case cwJSON:
		if out == nil {
			out = map[string]any{}
		}
		body, err := json.Marshal(jsonValue(out))
		if err != nil {
			writeCloudWatchError(w, proto, requestID, asAPIError(err))
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write(body)
	case cwQuery:
		var b strings.Builder
		fmt.Fprintf(&b, `%s<%sResponse xmlns="%s">`, xml.Header, op, cwXMLNS)
		if out != nil {
			writeQueryXML(&b, op+"Result", out)
		}
		fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, op)
		w.Header().Set("Content-Type", "text/xml")
		w.Write([]byte(b.String()))
	}
}

// writeCloudWatchError writes an error as each protocol shapes it. CloudWatch is
// query-compatible: CBOR and JSON errors carry the modelled shape in __type and the Query error
// code in X-Amzn-Query-Error, which the SDKs and botocore report as the error code.
func writeCloudWatchError(w http.ResponseWriter, proto cwProtocol, requestID string, e *APIError) {
	if proto == cwQuery {
		writeXMLError(w, cwXMLNS, requestID, e)
		return
	}
	shape := e.shape
	if shape == "" {
		shape = e.Code
	}
	var body []byte
	if proto == cwCBOR {
		body, _ = cbor.Encode(map[string]any{"__type": "com.amazonaws.cloudwatch#" + shape, "message": e.Message})
		w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
		w.Header().Set("Content-Type", "application/cbor")
	} else {
		body, _ = json.Marshal(map[string]any{"__type": "com.amazonaws.cloudwatch#" + shape, "message": e.Message})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	}
	w.Header().Set("X-Amzn-Query-Error", e.Code+";"+e.faultType())
	w.Header().Set("x-amzn-RequestId", requestID)
	w.WriteHeader(e.Status)
	w.Write(body)
}

// jsonValue converts timestamps to JSON 1.0's epoch seconds.
func jsonValue(v any) any {
	switch x := v.(type) {
	case time.Time:
		return epochSeconds(x)
	case []time.Time:
		out := make([]float64, len(x))
		for i, t := range x {
			out[i] = epochSeconds(t)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, mv := range x {
			out[k] = jsonValue(mv)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, lv := range x {
			out[i] = jsonValue(lv)
		}
		return out
	}
	return v
}

// writeQueryXML writes v as the Query protocol's XML: structures as elements in key order,
// lists as <member> elements, timestamps in ISO 8601.
func writeQueryXML(b *strings.Builder, name string, v any) {
	b.WriteString("<" + name + ">")
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			writeQueryXML(b, k, x[k])
		}
	case []any:
		for _, m := range x {
			writeQueryXML(b, "member", m)
		}
	case []string:
		for _, m := range x {
			writeQueryXML(b, "member", m)
		}
	case []float64:
		for _, m := range x {
			writeQueryXML(b, "member", m)
		}
	case []time.Time:
		for _, m := range x {
			writeQueryXML(b, "member", m)
		}
	case time.Time:
		b.WriteString(x.UTC().Format("2006-01-02T15:04:05.000Z"))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	case int:
		b.WriteString(strconv.Itoa(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		xml.EscapeText(b, []byte(x)) //nolint:errcheck // strings.Builder does not fail
	default:
		fmt.Fprint(b, x)
	}
	b.WriteString("</" + name + ">")
}

// num reads a number as any protocol sends it: CBOR integers or floats, JSON numbers, Query strings.
func num(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case uint64:
		return float64(n), true
	case int64:
		return float64(n), true
	case string:
		f, err := strconv.ParseFloat(n, 64)
		return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
	}
	return 0, false
}

// timestamp reads a timestamp: a CBOR tag 1 value, JSON epoch seconds or a Query ISO 8601 string.
func timestamp(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), true
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
			if p, err := time.Parse(layout, t); err == nil {
				return p.UTC(), true
			}
		}
		return time.Time{}, false
	}
	if f, ok := num(v); ok {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC().Round(time.Millisecond), true
	}
	return time.Time{}, false
}

// boolean reads a boolean, which Query sends as "true" or "false".
func boolean(v any) (value, ok bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		p, err := strconv.ParseBool(b)
		return p, err == nil
	}
	return false, false
}
