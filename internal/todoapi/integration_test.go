package todoapi_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
	"github.com/switchyard-dr/switchyard/internal/todoapi"
)

// mariaAPI is the API over a private MariaDB, as deployed but for the DSN.
type mariaAPI struct {
	srv  *mariadb.Server
	dsn  string
	pool *sql.DB
}

func startMaria(t testing.TB) *mariaAPI {
	t.Helper()
	srv, dsn := mariadbtest.App(t)
	m := &mariaAPI{srv: srv, dsn: dsn}
	m.pool = m.open(t)
	if _, err := schema.Migrate(context.Background(), m.pool); err != nil {
		t.Fatal(err)
	}
	return m
}

// open returns a new pool: one per simulated Lambda execution environment.
func (m *mariaAPI) open(t testing.TB) *sql.DB {
	t.Helper()
	pool, err := db.Open(context.Background(), config.DB{Auth: config.DBAuthDSN, DSN: m.dsn, QueryTimeout: 3 * time.Second}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func (m *mariaAPI) handler(pool *sql.DB) *todoapi.Handler {
	return newHandler(mysqlstore.New(pool, 3*time.Second), nil)
}

// reset empties the tables and stores the todo the fixtures refer to, at version 1.
func (m *mariaAPI) reset(t testing.TB) {
	t.Helper()
	for _, q := range []string{"DELETE FROM todos", "DELETE FROM idempotency_keys"} {
		if _, err := m.pool.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	seed := todo.Todo{ID: seedID, Task: "Buy milk", Status: todo.StatusTodo, CreatedAt: seedTime, UpdatedAt: seedTime, Version: 1}
	if _, _, err := mysqlstore.New(m.pool, time.Second).Create(context.Background(), seed, nil); err != nil {
		t.Fatal(err)
	}
}

func (m *mariaAPI) snapshot(t testing.TB) string {
	t.Helper()
	rows, err := m.pool.Query("SELECT id, task, status, version, updated_at FROM todos ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, task, status string
		var version int64
		var updated time.Time
		if err := rows.Scan(&id, &task, &status, &version, &updated); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s|%s|%s|%d|%s\n", id, task, status, version, updated)
	}
	return b.String()
}

func TestMariaDB(t *testing.T) {
	m := startMaria(t)
	h := m.handler(m.pool)

	t.Run("every fixture", func(t *testing.T) {
		for name, w := range fixtures {
			m.reset(t)
			if resp := invoke(t, h, fixture(t, name)); resp.StatusCode != w.status {
				t.Errorf("%s: status %d, want %d; body %s", name, resp.StatusCode, w.status, resp.Body)
			}
		}
	})

	t.Run("read-only database", func(t *testing.T) {
		// Its own handler: the "no writer" its store learns here is remembered for
		// mysqlstore.NoWriterMemory, which the next subtests must not inherit.
		h := m.handler(m.pool)
		m.reset(t)
		before := m.snapshot(t)
		ctx := context.Background()
		if err := m.srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
			t.Fatal(err)
		}
		defer m.srv.Exec(ctx, "SET GLOBAL read_only=OFF")
		for _, name := range []string{"create", "create-base64", "put", "patch", "delete", "v1-create", "v1-update", "v1-delete"} {
			resp := invoke(t, h, fixture(t, name))
			var p todoapi.Problem
			json.Unmarshal([]byte(resp.Body), &p)
			if resp.StatusCode != 503 || p.Type != todoapi.ProblemRegionNotWriter || resp.Headers["Retry-After"] == "" {
				t.Errorf("%s: %d %s Retry-After %q; want 503 %s with Retry-After", name, resp.StatusCode, p.Type, resp.Headers["Retry-After"], todoapi.ProblemRegionNotWriter)
			}
		}
		for _, name := range []string{"list", "list-filtered", "get", "v1-get"} {
			if resp := invoke(t, h, fixture(t, name)); resp.StatusCode != 200 {
				t.Errorf("%s: %d, want 200", name, resp.StatusCode)
			}
		}
		resp := invoke(t, h, fixture(t, "health"))
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"role":"reader"`) {
			t.Errorf("health on read-only: %d %s, want 200 with role reader", resp.StatusCode, resp.Body)
		}
		if after := m.snapshot(t); after != before {
			t.Errorf("rows changed on a read-only database:\nbefore %s\nafter  %s", before, after)
		}
	})

	t.Run("concurrent creates with one Idempotency-Key", func(t *testing.T) {
		m.reset(t)
		const n = 20
		resps := concurrently(t, m, n, fixture(t, "create"))
		for i, r := range resps {
			if r.StatusCode != 201 {
				t.Fatalf("response %d: %d %s, want 201", i, r.StatusCode, r.Body)
			}
			if r.Body != resps[0].Body || r.Headers["ETag"] != resps[0].Headers["ETag"] || r.Headers["Location"] != resps[0].Headers["Location"] {
				t.Errorf("response %d differs:\n%s %v\n%s %v", i, r.Body, r.Headers, resps[0].Body, resps[0].Headers)
			}
		}
		var rows int
		m.pool.QueryRow("SELECT COUNT(*) FROM todos WHERE id <> ?", seedID).Scan(&rows)
		if rows != 1 {
			t.Errorf("%d todos created, want 1", rows)
		}
		// Same key, different body: 422.
		var ev events.APIGatewayV2HTTPRequest
		json.Unmarshal(fixture(t, "create"), &ev)
		ev.Body = `{"task":"Buy bread"}`
		payload, _ := json.Marshal(ev)
		if r := invoke(t, h, payload); r.StatusCode != 422 {
			t.Errorf("same key, other body: %d %s, want 422", r.StatusCode, r.Body)
		}
	})

	t.Run("concurrent PUTs with one If-Match", func(t *testing.T) {
		m.reset(t)
		const n = 20
		resps := concurrently(t, m, n, fixture(t, "put"))
		count := map[int]int{}
		for _, r := range resps {
			count[r.StatusCode]++
		}
		if count[200] != 1 || count[412] != n-1 {
			t.Errorf("statuses %v, want one 200 and %d 412", count, n-1)
		}
		var version int64
		m.pool.QueryRow("SELECT version FROM todos WHERE id = ?", seedID).Scan(&version)
		if version != 2 {
			t.Errorf("version = %d, want 2", version)
		}
	})

	t.Run("database down", func(t *testing.T) {
		if err := m.srv.Stop(); err != nil {
			t.Fatal(err)
		}
		defer m.srv.Restart(context.Background())
		for _, name := range []string{"get", "create", "health"} {
			resp := invoke(t, h, fixture(t, name))
			if resp.StatusCode != 503 || resp.Headers["Retry-After"] == "" {
				t.Errorf("%s with the database down: %d %s, want 503 with Retry-After", name, resp.StatusCode, resp.Body)
			}
		}
	})
}

// concurrently sends payload n times at once, each through its own handler and pool as n Lambda
// execution environments would.
func concurrently(t *testing.T, m *mariaAPI, n int, payload []byte) []events.APIGatewayV2HTTPResponse {
	t.Helper()
	handlers := make([]*todoapi.Handler, n)
	for i := range handlers {
		pool := m.open(t)
		if err := pool.Ping(); err != nil { // connect before the race starts
			t.Fatal(err)
		}
		handlers[i] = m.handler(pool)
	}
	resps := make([]events.APIGatewayV2HTTPResponse, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, err := lambda.NewHandler(handlers[i].Handle).Invoke(context.Background(), payload)
			if err == nil {
				err = json.Unmarshal(out, &resps[i])
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return resps
}
