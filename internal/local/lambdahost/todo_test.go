package lambdahost_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

var (
	buildReal    sync.Once
	realBinDir   string
	realBuildErr error
)

// todoFunctions builds functions/todo-api and functions/migrate (once per test binary) and
// configures them from the repository's template.yaml, so the routes tested are the deployed ones.
func todoFunctions(t testing.TB, dsn string) []lambdahost.Function {
	t.Helper()
	buildReal.Do(func() {
		realBinDir = filepath.Join(binDir, "real")
		for _, fn := range []string{"todo-api", "migrate"} {
			if _, realBuildErr = devtools.BuildFunction(context.Background(), fn, realBinDir); realBuildErr != nil {
				return
			}
		}
	})
	if realBuildErr != nil {
		t.Fatal(realBuildErr)
	}
	root, err := devtools.Root()
	if err != nil {
		t.Fatal(err)
	}
	all, err := lambdahost.TemplateFunctions(filepath.Join(root, "template.yaml"), realBinDir)
	if err != nil {
		t.Fatal(err)
	}
	var fns []lambdahost.Function
	for _, f := range all {
		if f.Name == "todo-api" || f.Name == "migrate" {
			f.Env["DB_AUTH"], f.Env["DB_DSN"] = "dsn", dsn
			// One region and no lease renewer: the writer-lease check is the drill's to exercise.
			f.Env["WRITER_LEASE"] = "off"
			f.Env["CURSOR_KEY"] = "lambdahost tests' cursor key, 32+ bytes"
			fns = append(fns, f)
		}
	}
	if len(fns) != 2 {
		t.Fatalf("template.yaml gave %d of the functions todo-api and migrate", len(fns))
	}
	return fns
}

// todoHost serves the real ToDo API over a private MariaDB with the migrations applied.
func todoHost(t testing.TB) *lambdahost.Host {
	_, dsn := mariadbtest.App(t)
	h := startHost(t, lambdahost.Config{Region: "eu-west-1", Functions: todoFunctions(t, dsn)})
	res, err := h.Invoke(context.Background(), "migrate", []byte(`{"action":"migrate"}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.FunctionError != nil {
		t.Fatalf("migrate: %v", res.FunctionError)
	}
	return h
}

type todoItem struct {
	ID     string `json:"id"`
	Task   string `json:"task"`
	Status string `json:"status"`
}

// TestToDo runs the real ToDo API over a private MariaDB (one server for both subtests: starting
// MariaDB is the slow part).
func TestToDo(t *testing.T) {
	h := todoHost(t)
	t.Run("CRUD round trip over HTTP", func(t *testing.T) { crudRoundTrip(t, h) })
	t.Run("Invoke through the SDK client by name and by ARN", func(t *testing.T) { invokeThroughSDK(t, h) })
}

func crudRoundTrip(t *testing.T, h *lambdahost.Host) {
	call := func(method, path, body string, wantStatus int) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, h.HTTPURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.StatusCode, wantStatus, b)
		}
		if got := resp.Header.Get("X-Switchyard-Region"); got != "eu-west-1" {
			t.Errorf("%s %s: X-Switchyard-Region = %q, want the host's region eu-west-1", method, path, got)
		}
		return resp, b
	}
	decode := func(b []byte) todoItem {
		t.Helper()
		var it todoItem
		if err := json.Unmarshal(b, &it); err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		return it
	}

	_, b := call("GET", "/health", "", http.StatusOK)
	var health struct{ Region, Role, DB string }
	if json.Unmarshal(b, &health); health.Role != "writer" || health.DB != "ok" {
		t.Errorf("GET /health = %s, want role writer, db ok", b)
	}

	resp, b := call("POST", "/todos", `{"task":"buy milk"}`, http.StatusCreated)
	created := decode(b)
	if created.ID == "" || created.Task != "buy milk" || resp.Header.Get("Location") != "/todos/"+created.ID {
		t.Fatalf("POST /todos = %s (Location %q), want the new todo and its Location", b, resp.Header.Get("Location"))
	}
	path := "/todos/" + created.ID

	if got := decode(second(call("GET", path, "", http.StatusOK))); got.Task != "buy milk" {
		t.Errorf("GET %s task = %q, want buy milk", path, got.Task)
	}
	if got := decode(second(call("PUT", path, `{"task":"buy oat milk","status":"wip"}`, http.StatusOK))); got.Task != "buy oat milk" || got.Status != "wip" {
		t.Errorf("PUT %s = %+v, want task buy oat milk, status wip", path, got)
	}
	if got := decode(second(call("PATCH", path, `{"status":"done"}`, http.StatusOK))); got.Task != "buy oat milk" || got.Status != "done" {
		t.Errorf("PATCH %s = %+v, want status done with the task kept", path, got)
	}
	var list struct{ Items []todoItem }
	if err := json.Unmarshal(second(call("GET", "/todos", "", http.StatusOK)), &list); err != nil || len(list.Items) != 1 || list.Items[0].ID != created.ID {
		t.Errorf("GET /todos = %+v (%v), want the one todo", list, err)
	}
	call("DELETE", path, "", http.StatusNoContent)
	call("GET", path, "", http.StatusNotFound)
}

func second(_ *http.Response, b []byte) []byte { return b }

// invokeThroughSDK is the orchestrator's view: a Lambda client with a custom endpoint reaches the
// real function.
func invokeThroughSDK(t *testing.T, h *lambdahost.Host) {
	client := sdkClient(h, "eu-west-1")
	ev := `{"version":"2.0","routeKey":"GET /health","rawPath":"/health","requestContext":{"http":{"method":"GET","path":"/health"}}}`
	for _, fn := range []string{"todo-api", h.FunctionARN("todo-api")} {
		out, err := client.Invoke(context.Background(), invokeInput(fn, ev))
		if err != nil {
			t.Fatalf("Invoke(%s): %v", fn, err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Body, `"role":"writer"`) {
			t.Errorf("Invoke(%s) = %s (%v), want a 200 health response from the writer", fn, out.Payload, err)
		}
	}
}

func invokeInput(function, payload string) *lambda.InvokeInput {
	return &lambda.InvokeInput{FunctionName: aws.String(function), Payload: []byte(payload)}
}

// BenchmarkToDoColdStart measures a cold start of the real todo-api: from exec until it asks for
// its first event (init-ms/op; target ≤ 50 ms). Each iteration uses a fresh host, so every
// invocation starts a process.
func BenchmarkToDoColdStart(b *testing.B) {
	_, dsn := mariadbtest.App(b)
	fns := todoFunctions(b, dsn)
	ev := []byte(`{"version":"2.0","rawPath":"/nothing","requestContext":{"http":{"method":"GET","path":"/nothing"}}}`)
	var inits []time.Duration
	for b.Loop() {
		b.StopTimer()
		h, err := lambdahost.New(lambdahost.Config{Functions: fns, Logger: slog.New(slog.DiscardHandler), FunctionOutput: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if err := h.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := h.Invoke(context.Background(), "todo-api", ev)
		b.StopTimer()
		if err != nil || res.FunctionError != nil || !res.ColdStart {
			b.Fatalf("Invoke = %+v, %v; want a cold start that answers", res, err)
		}
		inits = append(inits, res.InitDuration)
		if err := h.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportPercentiles(b, "init", inits)
}
