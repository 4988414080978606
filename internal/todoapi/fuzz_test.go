package todoapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

// FuzzWriteRequests feeds arbitrary bodies, media types and If-Match values to the write routes. Whatever
// comes in, the API must answer with a deliberate status (never a 500), a problem body for every error,
// and store only valid todos.
func FuzzWriteRequests(f *testing.F) {
	for _, seed := range []struct {
		method, contentType, ifMatch, body string
	}{
		{"POST", "application/json", "", `{"task":"Buy milk","status":"todo"}`},
		{"POST", "application/json; charset=utf-8", "", `{"task":"  spaced  "}`},
		{"POST", "application/json", "", `{"task":"Buy milk",`},
		{"POST", "application/json", "", `{"task":42}`},
		{"POST", "application/json", "", `{"task":"x","priority":1}`},
		{"POST", "application/json", "", `{"task":"x","task":"y"}`},
		{"POST", "application/json", "", `{"task":"\ud800"}`},
		{"POST", "application/json", "", "{\"task\":\"\xff\"}"},
		{"POST", "application/json", "", `null`},
		{"POST", "application/json", "", `[]`},
		{"POST", "text/plain", "", `{"task":"x"}`},
		{"PUT", "application/json", `"1"`, `{"task":"Buy oat milk","status":"wip"}`},
		{"PUT", "application/json", `W/"1"`, `{"task":"Buy oat milk","status":"wip"}`},
		{"PATCH", "application/merge-patch+json", `"1", "2"`, `{"status":"done"}`},
		{"PATCH", "application/merge-patch+json", `*`, `{"task":null}`},
		{"PATCH", "application/merge-patch+json", "", `{}`},
		{"POST", "application/json", "", `{"task":"` + strings.Repeat("é", 501) + `"}`},
	} {
		f.Add(seed.method, seed.contentType, seed.ifMatch, seed.body)
	}
	f.Fuzz(func(t *testing.T, method, contentType, ifMatch, body string) {
		path := "/todos"
		if method != "POST" {
			path = "/todos/" + seedID
		}
		req := events.APIGatewayV2HTTPRequest{
			RawPath: path,
			Headers: map[string]string{"content-type": contentType, "if-match": ifMatch},
			Body:    body,
		}
		req.RequestContext.HTTP.Method = method
		store := seeded(t)
		resp, err := newHandler(store, nil).Handle(context.Background(), req)
		if err != nil {
			t.Fatalf("Handle returned an error: %v", err)
		}
		switch resp.StatusCode {
		case 200, 201:
			var td todo.Todo
			if err := json.Unmarshal([]byte(resp.Body), &td); err != nil {
				t.Fatalf("success body is not a todo: %q", resp.Body)
			}
			if n := utf8.RuneCountInString(td.Task); n < 1 || n > todo.MaxTaskLength || !utf8.ValidString(td.Task) || strings.TrimSpace(td.Task) != td.Task {
				t.Errorf("stored an invalid task %q", td.Task)
			}
			if _, err := todo.ParseStatus(string(td.Status)); err != nil {
				t.Errorf("stored an invalid status %q", td.Status)
			}
		case 400, 404, 405, 412, 413, 415:
			var p todoapi.Problem
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Status != resp.StatusCode || !strings.HasPrefix(p.Type, todoapi.ProblemBase) || p.Detail == "" {
				t.Errorf("status %d with problem body %q", resp.StatusCode, resp.Body)
			}
		default:
			t.Errorf("%s %s -> %d %s", method, path, resp.StatusCode, resp.Body)
		}
		if resp.Headers[todoapi.RegionHeader] != region {
			t.Errorf("region header missing")
		}
	})
}
