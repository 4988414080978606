package todoapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

const (
	seedID    = "01936b2a-7c00-7000-8000-000000000001"
	eventsDir = "../../events/todo-api"
	region    = "eu-west-1"
)

// cursorKey stands in for CURSOR_KEY.
var cursorKey = []byte("handler tests' cursor key, 32 B.")

var seedTime = time.Date(2026, 11, 21, 5, 0, 0, 0, time.UTC)

// seeded returns a store holding the todo the fixtures refer to, and a second, newer one.
func seeded(t testing.TB) *memstore.Store {
	t.Helper()
	s := memstore.New()
	for _, td := range []todo.Todo{
		{ID: seedID, Task: "Buy milk", Status: todo.StatusTodo, CreatedAt: seedTime, UpdatedAt: seedTime, Version: 1},
		{ID: "01936b2a-7c00-7000-8000-000000000002", Task: "Call mum", Status: todo.StatusTodo, CreatedAt: seedTime, UpdatedAt: seedTime, Version: 1},
	} {
		if _, _, err := s.Create(context.Background(), td, nil); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func newHandler(store todo.Store, log *slog.Logger) *todoapi.Handler {
	return todoapi.New(todo.NewService(store, cursorKey), todoapi.Options{Region: region, Version: "1.2.3", Logger: log})
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// invoke runs a fixture through the aws-lambda-go handler wrapper, so real JSON decoding happens.
func invoke(t testing.TB, h *todoapi.Handler, payload []byte) events.APIGatewayV2HTTPResponse {
	t.Helper()
	out, err := lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

type want struct {
	status  int
	problem string // problem type; "" for a success
	field   string // a word the problem detail must contain (the field at fault)
	headers []string
}

// fixtures maps every file in events/todo-api to what the API must answer.
var fixtures = map[string]want{
	"list":                       {status: 200},
	"list-filtered":              {status: 200},
	"list-bad-limit":             {400, todoapi.ProblemInvalidRequest, "limit", nil},
	"list-bad-status":            {400, todoapi.ProblemInvalidRequest, "status", nil},
	"list-bad-cursor":            {400, todoapi.ProblemInvalidRequest, "cursor", nil},
	"create":                     {201, "", "", []string{"Location", "ETag"}},
	"create-base64":              {201, "", "", []string{"Location", "ETag"}},
	"create-malformed-json":      {400, todoapi.ProblemInvalidRequest, "JSON", nil},
	"create-unknown-field":       {400, todoapi.ProblemInvalidRequest, "priority", nil},
	"create-wrong-type":          {400, todoapi.ProblemInvalidRequest, "task", nil},
	"create-invalid-status":      {400, todoapi.ProblemInvalidRequest, "status", nil},
	"create-empty-task":          {400, todoapi.ProblemInvalidRequest, "task", nil},
	"create-missing-task":        {400, todoapi.ProblemInvalidRequest, "task", nil},
	"create-not-object":          {400, todoapi.ProblemInvalidRequest, "object", nil},
	"create-too-large":           {413, todoapi.ProblemPayloadTooLarge, "65536", nil},
	"create-not-json":            {415, todoapi.ProblemUnsupportedMedia, "application/json", nil},
	"create-no-content-type":     {415, todoapi.ProblemUnsupportedMedia, "application/json", nil},
	"create-bad-idempotency-key": {400, todoapi.ProblemInvalidRequest, "Idempotency-Key", nil},
	"get":                        {200, "", "", []string{"ETag"}},
	"get-missing":                {404, todoapi.ProblemNotFound, "", nil},
	"get-bad-id":                 {400, todoapi.ProblemInvalidRequest, "id", nil},
	"put":                        {200, "", "", []string{"ETag"}},
	"put-stale-if-match":         {412, todoapi.ProblemPreconditionFailed, "version", nil},
	"put-missing-status":         {400, todoapi.ProblemInvalidRequest, "status", nil},
	"put-missing":                {404, todoapi.ProblemNotFound, "", nil},
	"patch":                      {200, "", "", []string{"ETag"}},
	"patch-null-task":            {400, todoapi.ProblemInvalidRequest, "task", nil},
	"patch-stale-if-match":       {412, todoapi.ProblemPreconditionFailed, "", nil},
	"delete":                     {status: 204},
	"delete-missing":             {404, todoapi.ProblemNotFound, "", nil},
	"health":                     {status: 200},
	"v1-get":                     {200, "", "", []string{"ETag"}},
	"v1-get-no-id":               {400, todoapi.ProblemInvalidRequest, "id", nil},
	"v1-create":                  {201, "", "", []string{"Location"}},
	"v1-update":                  {200, "", "", nil},
	"v1-update-missing":          {404, todoapi.ProblemNotFound, "", nil},
	"v1-delete":                  {status: 204},
	"v1-delete-no-id":            {400, todoapi.ProblemInvalidRequest, "id", nil},
}

func TestEveryFixtureIsChecked(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		seen[name] = true
		if _, ok := fixtures[name]; !ok {
			t.Errorf("%s has no expectation in the fixtures table", f)
		}
	}
	for name := range fixtures {
		if !seen[name] {
			t.Errorf("fixture %s.json is missing from %s", name, eventsDir)
		}
	}
}

func TestFixtures(t *testing.T) {
	for name, w := range fixtures {
		t.Run(name, func(t *testing.T) {
			resp := invoke(t, newHandler(seeded(t), nil), fixture(t, name))
			if resp.StatusCode != w.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, w.status, resp.Body)
			}
			if got := resp.Headers[todoapi.RegionHeader]; got != region {
				t.Errorf("%s = %q, want %q", todoapi.RegionHeader, got, region)
			}
			for _, hd := range w.headers {
				if resp.Headers[hd] == "" {
					t.Errorf("header %s missing; headers %v", hd, resp.Headers)
				}
			}
			if w.problem == "" {
				if resp.StatusCode != 204 && resp.Headers["Content-Type"] != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", resp.Headers["Content-Type"])
				}
				return
			}
			if got := resp.Headers["Content-Type"]; got != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", got)
			}
			var p todoapi.Problem
			if err := json.Unmarshal([]byte(resp.Body), &p); err != nil {
				t.Fatalf("problem body %q: %v", resp.Body, err)
			}
			if p.Type != w.problem || p.Status != w.status || p.Title == "" {
				t.Errorf("problem = %+v, want type %s status %d and a title", p, w.problem, w.status)
			}
			if !strings.Contains(p.Detail, w.field) {
				t.Errorf("detail %q does not mention %q", p.Detail, w.field)
			}
		})
	}
}

func decodeTodo(t *testing.T, body string) todo.Todo {
	t.Helper()
	var td todo.Todo
	if err := json.Unmarshal([]byte(body), &td); err != nil {
		t.Fatalf("decode todo %q: %v", body, err)
	}
	return td
}

func TestResponsesCarryTheChange(t *testing.T) {
	tests := []struct {
		fixture    string
		wantTask   string
		wantStatus todo.Status
		wantETag   string
	}{
		{"create", "Buy milk", todo.StatusTodo, `"1"`},
		{"create-base64", "Encoded by the client", todo.StatusTodo, `"1"`},
		{"put", "Buy oat milk", todo.StatusWIP, `"2"`},
		{"patch", "Buy milk", todo.StatusDone, `"2"`},
		{"v1-update", "Walk the cat", todo.StatusDone, `"2"`},
		{"get", "Buy milk", todo.StatusTodo, `"1"`},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			h := newHandler(seeded(t), nil)
			resp := invoke(t, h, fixture(t, tt.fixture))
			td := decodeTodo(t, resp.Body)
			if td.Task != tt.wantTask || td.Status != tt.wantStatus {
				t.Errorf("todo = %+v, want task %q status %q", td, tt.wantTask, tt.wantStatus)
			}
			if got := resp.Headers["ETag"]; got != tt.wantETag {
				t.Errorf("ETag = %s, want %s", got, tt.wantETag)
			}
			if loc := resp.Headers["Location"]; loc != "" && loc != "/todos/"+td.ID {
				t.Errorf("Location = %s, want /todos/%s", loc, td.ID)
			}
		})
	}
}

func TestListBody(t *testing.T) {
	h := newHandler(seeded(t), nil)
	resp := invoke(t, h, fixture(t, "list-filtered"))
	var page struct {
		Items      []todo.Todo `json:"items"`
		NextCursor *string     `json:"nextCursor"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != seedID || page.NextCursor == nil {
		t.Fatalf("first page = %s, want the seeded todo and a cursor", resp.Body)
	}
	var ev events.APIGatewayV2HTTPRequest
	json.Unmarshal(fixture(t, "list-filtered"), &ev)
	ev.QueryStringParameters["cursor"] = *page.NextCursor
	next, _ := json.Marshal(ev)
	resp = invoke(t, h, next)
	if err := json.Unmarshal([]byte(resp.Body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID == seedID || page.NextCursor != nil {
		t.Errorf("second page = %s, want the other todo and nextCursor null", resp.Body)
	}
}

func TestHealthBody(t *testing.T) {
	for _, role := range []todo.Role{todo.RoleWriter, todo.RoleReader} {
		t.Run(string(role), func(t *testing.T) {
			s := seeded(t)
			s.SetRole(role)
			resp := invoke(t, newHandler(s, nil), fixture(t, "health"))
			want := `{"region":"eu-west-1","role":"` + string(role) + `","db":"ok","version":"1.2.3"}`
			if resp.StatusCode != 200 || resp.Body != want {
				t.Errorf("health = %d %s, want 200 %s", resp.StatusCode, resp.Body, want)
			}
		})
	}
}

func TestReaderRegionRefusesWritesAndServesReads(t *testing.T) {
	writes := []string{"create", "put", "patch", "delete", "v1-create", "v1-update", "v1-delete"}
	reads := []string{"list", "get", "v1-get", "health"}
	for _, name := range writes {
		t.Run(name, func(t *testing.T) {
			s := seeded(t)
			s.SetRole(todo.RoleReader)
			resp := invoke(t, newHandler(s, nil), fixture(t, name))
			var p todoapi.Problem
			json.Unmarshal([]byte(resp.Body), &p)
			if resp.StatusCode != 503 || p.Type != todoapi.ProblemRegionNotWriter || resp.Headers["Retry-After"] == "" {
				t.Errorf("got %d %s Retry-After %q, want 503 %s with Retry-After", resp.StatusCode, p.Type, resp.Headers["Retry-After"], todoapi.ProblemRegionNotWriter)
			}
			got, err := s.Get(context.Background(), seedID)
			if err != nil || got.Version != 1 || got.Task != "Buy milk" {
				t.Errorf("seeded todo changed on a reader: %+v, %v", got, err)
			}
		})
	}
	for _, name := range reads {
		t.Run(name, func(t *testing.T) {
			s := seeded(t)
			s.SetRole(todo.RoleReader)
			if resp := invoke(t, newHandler(s, nil), fixture(t, name)); resp.StatusCode != 200 {
				t.Errorf("status = %d, want 200; body %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

// brokenStore fails every call with err: the database errors users cannot provoke on demand.
type brokenStore struct {
	todo.Store
	err error
}

func (b brokenStore) Get(context.Context, string) (todo.Todo, error) { return todo.Todo{}, b.err }
func (b brokenStore) Role(context.Context) (todo.Role, error)        { return "", b.err }

func TestFailuresHideInternals(t *testing.T) {
	secret := "dial tcp 10.0.0.5:3306 user=app password=hunter2"
	tests := []struct {
		name        string
		err         error
		fixture     string
		wantStatus  int
		wantProblem string
	}{
		{"internal", errors.New(secret), "get", 500, todoapi.ProblemInternal},
		{"unavailable", todo.Wrap(todo.EUNAVAILABLE, errors.New(secret), "get todo: the database did not answer in time"), "get", 503, todoapi.ProblemDatabaseUnavailable},
		{"health unavailable", todo.Wrap(todo.EUNAVAILABLE, errors.New(secret), "read role"), "health", 503, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			h := newHandler(brokenStore{Store: memstore.New(), err: tt.err}, slog.New(slog.NewJSONHandler(&logs, nil)))
			resp := invoke(t, h, fixture(t, tt.fixture))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if strings.Contains(resp.Body, "hunter2") || strings.Contains(resp.Body, "10.0.0.5") {
				t.Errorf("body leaks the internal error: %s", resp.Body)
			}
			if tt.wantStatus == 503 && resp.Headers["Retry-After"] == "" {
				t.Error("503 without Retry-After")
			}
			if tt.wantProblem != "" {
				var p todoapi.Problem
				json.Unmarshal([]byte(resp.Body), &p)
				if p.Type != tt.wantProblem {
					t.Errorf("problem type %q, want %q", p.Type, tt.wantProblem)
				}
			} else if want := `{"region":"eu-west-1","role":"unknown","db":"unavailable","version":"1.2.3"}`; resp.Body != want {
				t.Errorf("health body %s, want %s", resp.Body, want)
			}
			// The cause goes to the log, so an operator can find it.
			if !strings.Contains(logs.String(), "10.0.0.5") {
				t.Errorf("log lacks the cause: %s", logs.String())
			}
		})
	}
}

func TestOneLogLinePerRequest(t *testing.T) {
	var logs bytes.Buffer
	h := newHandler(seeded(t), slog.New(slog.NewJSONHandler(&logs, nil)))
	invoke(t, h, fixture(t, "get"))
	invoke(t, h, fixture(t, "create-unknown-field"))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want 2:\n%s", len(lines), logs.String())
	}
	wants := []map[string]any{
		{"method": "GET", "route": "/todos/{id}", "status": 200.0, "apiRequestId": "Ab1Cd2Ef3Gh="},
		{"method": "POST", "route": "/todos", "status": 400.0},
	}
	for i, line := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("line %d is not JSON: %s", i, line)
		}
		for k, v := range wants[i] {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[k], v)
			}
		}
		if _, ok := got["latencyMs"].(float64); !ok {
			t.Errorf("line %d has no numeric latencyMs: %s", i, line)
		}
	}
}

func TestIfMatchStar(t *testing.T) {
	var ev events.APIGatewayV2HTTPRequest
	json.Unmarshal(fixture(t, "put"), &ev)
	ev.Headers["if-match"] = "*"
	payload, _ := json.Marshal(ev)
	if resp := invoke(t, newHandler(seeded(t), nil), payload); resp.StatusCode != 200 {
		t.Errorf("If-Match: * on an existing todo: %d, want 200", resp.StatusCode)
	}
	json.Unmarshal(fixture(t, "put-missing"), &ev)
	ev.Headers["if-match"] = "*"
	payload, _ = json.Marshal(ev)
	if resp := invoke(t, newHandler(seeded(t), nil), payload); resp.StatusCode != 404 {
		t.Errorf("If-Match: * on a missing todo: %d, want 404", resp.StatusCode)
	}
}

// panickyStore panics, as a bug in a store would.
type panickyStore struct{ todo.Store }

func (panickyStore) Get(context.Context, string) (todo.Todo, error) { panic("index out of range") }

func TestPanicBecomesA500Problem(t *testing.T) {
	var logs bytes.Buffer
	h := newHandler(panickyStore{memstore.New()}, slog.New(slog.NewJSONHandler(&logs, nil)))
	resp := invoke(t, h, fixture(t, "get"))
	var p todoapi.Problem
	json.Unmarshal([]byte(resp.Body), &p)
	if resp.StatusCode != 500 || p.Type != todoapi.ProblemInternal || resp.Headers[todoapi.RegionHeader] != region {
		t.Errorf("got %d %s region %q, want 500 %s with the region header", resp.StatusCode, p.Type, resp.Headers[todoapi.RegionHeader], todoapi.ProblemInternal)
	}
	if strings.Contains(resp.Body, "index out of range") || !strings.Contains(logs.String(), "index out of range") {
		t.Errorf("panic text must reach the log only; body %s log %s", resp.Body, logs.String())
	}
}
