package todoapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

// The handler's contract, checked against both stores: the in-memory store the handler tests use
// must answer exactly as the MySQL store does, or it hides the bugs it is there to find.

// httpRequest is one HTTP API request as the handler receives it.
type httpRequest struct {
	method, path string
	headers      map[string]string
	query        map[string]string
	body         string
	base64       bool
}

func (r httpRequest) event() events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: "$default", RawPath: r.path,
		Headers: map[string]string{"content-type": "application/json"}, QueryStringParameters: r.query,
		Body: r.body, IsBase64Encoded: r.base64}
	ev.RequestContext.HTTP.Method = r.method
	ev.RequestContext.HTTP.Path = r.path
	ev.RequestContext.RequestID = "contract"
	for k, v := range r.headers {
		ev.Headers[k] = v
	}
	return ev
}

// bodyOfSize is a create body of exactly n bytes: a valid todo padded with JSON white space.
func bodyOfSize(n int) string {
	const core = `{"task":"Sized body"`
	return core + strings.Repeat(" ", n-len(core)-1) + "}"
}

type contractCase struct {
	name    string
	req     httpRequest
	status  int
	problem string // problem type when status is an error
}

func contractCases() []contractCase {
	seedPath := "/todos/" + seedID
	ifMatch := func(method, tag string) httpRequest {
		r := httpRequest{method: method, path: seedPath, headers: map[string]string{"if-match": tag}}
		if method != "DELETE" {
			r.body = `{"task":"Changed","status":"wip"}`
		}
		return r
	}
	var cases []contractCase
	// If-Match: only a strong tag this API issued for the current version lets a change through. A
	// tag it could never have issued must fail, not turn the change into an unconditional one.
	for _, method := range []string{"DELETE", "PUT", "PATCH"} {
		for tag, status := range map[string]int{
			`"0"`: 412, `W/"1"`: 412, `"abc"`: 412, `"2"`: 412, `"-1"`: 412, `1`: 412, `""`: 412, `"01"`: 412, `"+1"`: 412,
			`"1"`: 204, `*`: 204, `"2", "1"`: 204, `"0", "abc"`: 412,
		} {
			if method != "DELETE" && status == 204 {
				status = 200
			}
			c := contractCase{name: method + " If-Match " + tag, req: ifMatch(method, tag), status: status}
			if status == 412 {
				c.problem = todoapi.ProblemPreconditionFailed
			}
			cases = append(cases, c)
		}
	}
	cases = append(cases,
		contractCase{name: "body of exactly MaxBodyBytes", req: httpRequest{method: "POST", path: "/todos", body: bodyOfSize(todoapi.MaxBodyBytes)}, status: 201},
		contractCase{name: "body one byte over", req: httpRequest{method: "POST", path: "/todos", body: bodyOfSize(todoapi.MaxBodyBytes + 1)}, status: 413, problem: todoapi.ProblemPayloadTooLarge},
		contractCase{name: "base64 body of exactly MaxBodyBytes", req: httpRequest{method: "POST", path: "/todos", base64: true,
			body: base64.StdEncoding.EncodeToString([]byte(bodyOfSize(todoapi.MaxBodyBytes)))}, status: 201},
		contractCase{name: "base64 body one byte over", req: httpRequest{method: "POST", path: "/todos", base64: true,
			body: base64.StdEncoding.EncodeToString([]byte(bodyOfSize(todoapi.MaxBodyBytes + 1)))}, status: 413, problem: todoapi.ProblemPayloadTooLarge},
		contractCase{name: "invalid UTF-8 in a string", req: httpRequest{method: "POST", path: "/todos", base64: true,
			body: base64.StdEncoding.EncodeToString([]byte("{\"task\":\"bad \xff byte\"}"))}, status: 400, problem: todoapi.ProblemInvalidRequest},
		contractCase{name: "invalid UTF-8 in a key", req: httpRequest{method: "PATCH", path: seedPath, base64: true,
			body: base64.StdEncoding.EncodeToString([]byte("{\"task\xc3\":\"x\"}"))}, status: 400, problem: todoapi.ProblemInvalidRequest},
		contractCase{name: "duplicate member", req: httpRequest{method: "POST", path: "/todos", body: `{"task":"a","task":"b"}`}, status: 400, problem: todoapi.ProblemInvalidRequest},
		contractCase{name: "duplicate status on replace", req: httpRequest{method: "PUT", path: seedPath, body: `{"task":"a","status":"done","status":"wip"}`}, status: 400, problem: todoapi.ProblemInvalidRequest},
		contractCase{name: "duplicate id on v1 delete", req: httpRequest{method: "DELETE", path: "/v1", body: `{"id":"` + seedID + `","id":"01936b2a-7c00-7000-8000-000000000009"}`}, status: 400, problem: todoapi.ProblemInvalidRequest},
		contractCase{name: "data after the object", req: httpRequest{method: "POST", path: "/todos", body: `{"task":"a"} {}`}, status: 400, problem: todoapi.ProblemInvalidRequest},
	)
	for limit, status := range map[string]int{
		"1": 200, "9": 200, "10": 200, "100": 200,
		"+5": 400, "05": 400, "0": 400, "00": 400, "101": 400, "1000": 400, "-1": 400, " 5": 400, "5 ": 400,
		"1e1": 400, "0x5": 400, "5.0": 400, "": 400, "٥": 400, "99999999999999999999": 400,
	} {
		c := contractCase{name: "limit " + limit, req: httpRequest{method: "GET", path: "/todos", query: map[string]string{"limit": limit}}, status: status}
		if status == 400 {
			c.problem = todoapi.ProblemInvalidRequest
		}
		cases = append(cases, c)
	}
	return cases
}

func checkContract(t *testing.T, h *todoapi.Handler, c contractCase) {
	t.Helper()
	resp, err := h.Handle(context.Background(), c.req.event())
	if err != nil {
		t.Fatalf("Handle returned %v", err)
	}
	if resp.StatusCode != c.status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, resp.Body)
	}
	if c.problem != "" {
		var p todoapi.Problem
		if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Type != c.problem {
			t.Errorf("problem %s (%v), want type %s", resp.Body, err, c.problem)
		}
	}
}

func TestContractInMemory(t *testing.T) {
	for _, c := range contractCases() {
		t.Run(c.name, func(t *testing.T) {
			checkContract(t, newHandler(seeded(t), nil), c)
		})
	}
}

func TestContractMariaDB(t *testing.T) {
	m := startMaria(t)
	h := m.handler(m.pool)
	for _, c := range contractCases() {
		t.Run(c.name, func(t *testing.T) {
			m.reset(t)
			checkContract(t, h, c)
		})
	}
}

// Invalid UTF-8 that reaches the handler in a plain (not base64) body is refused too: API Gateway
// passes text bodies on as they came, and the handler must not store a replacement character.
func TestInvalidUTF8InPlainBody(t *testing.T) {
	store := seeded(t)
	h := newHandler(store, nil)
	c := contractCase{req: httpRequest{method: "POST", path: "/todos", body: "{\"task\":\"caf\xe9\"}"}, status: 400, problem: todoapi.ProblemInvalidRequest}
	checkContract(t, h, c)
	resp, _ := h.Handle(context.Background(), httpRequest{method: "GET", path: "/todos"}.event())
	if strings.Contains(resp.Body, "caf") {
		t.Errorf("the refused todo was stored: %s", resp.Body)
	}
}
