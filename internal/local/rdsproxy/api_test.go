package rdsproxy_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/devtools"
	"github.com/switchyard-dr/switchyard/internal/local/lambdahost"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/local/rdsproxy"
	"github.com/switchyard-dr/switchyard/internal/local/replication"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
)

// apiRegion is one region of the two-region world: its database, its proxy and the real todo-api.
type apiRegion struct {
	name      string
	db        *mariadb.Server
	proxy     *rdsproxy.Proxy
	promoting atomic.Bool
	host      *lambdahost.Host
}

func (r *apiRegion) do(t *testing.T, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, r.host.HTTPURL()+path, strings.NewReader(body))
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
	var m map[string]any
	json.Unmarshal(b, &m) //nolint:errcheck // a non-JSON body leaves m nil, which the callers report
	return resp.StatusCode, resp.Header, m
}

func (r *apiRegion) wantHealth(t *testing.T, role string) {
	t.Helper()
	status, _, body := r.do(t, "GET", "/health", "")
	if status != 200 || body["role"] != role || body["db"] != "ok" {
		t.Errorf("%s /health = %d %v, want 200 with role %s", r.name, status, body, role)
	}
}

// TestAPIThroughProxy runs the real todo-api binary in two regions, each through its own local
// RDS Proxy with IAM authentication over TLS, over real MariaDB replication: the standby reads
// and refuses writes, a promotion queues writes, and /health follows the roles.
func TestAPIThroughProxy(t *testing.T) {
	mariadbtest.Require(t)
	ctx := context.Background()
	bin, err := devtools.BuildFunction(ctx, "todo-api", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &apiRegion{name: "us-east-1", db: mariadbtest.Start(t, mariadb.Options{Name: "proxy-a", ServerID: 1})}
	b := &apiRegion{name: "us-west-2", db: mariadbtest.Start(t, mariadb.Options{Name: "proxy-b", ServerID: 2})}
	pair, err := replication.Setup(ctx, a.db, b.db, replication.Options{User: "repl", Password: "repl-password", Databases: []string{"switchyard"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pair.Close)
	if _, err := a.db.CreateApp(ctx, "switchyard", appUser, appPass); err != nil {
		t.Fatal(err)
	}
	if err := migrate(ctx, a.db); err != nil {
		t.Fatal(err)
	}
	ca, err := rdsproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "local-rds-ca.pem")
	if err := ca.WriteFile(caFile); err != nil {
		t.Fatal(err)
	}
	const borrow = 1500 * time.Millisecond
	for _, r := range []*apiRegion{a, b} {
		r.proxy, err = rdsproxy.Start(rdsproxy.Options{
			Name: r.name, Region: r.name, Backend: fmt.Sprintf("127.0.0.1:%d", r.db.Port), CA: ca,
			Users: []rdsproxy.User{{Name: appUser, Password: appPass, IAM: true}}, Credentials: map[string]string{accessKey: secretKey},
			BorrowTimeout: borrow, Promoting: r.promoting.Load,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.proxy.Close() })
		env := r.proxy.FunctionEnv(appUser, "switchyard", caFile)
		env["CURSOR_KEY"] = "rdsproxy tests share this cursor key"
		maps.Copy(env, map[string]string{"AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey,
			"AWS_EC2_METADATA_DISABLED": "true", "DB_QUERY_TIMEOUT": "4s"})
		r.host, err = lambdahost.New(lambdahost.Config{Region: r.name, Logger: quiet(), FunctionOutput: io.Discard, Functions: []lambdahost.Function{{
			Name: "todo-api", Binary: bin, Env: env, Timeout: 6 * time.Second, Concurrency: 2,
			Routes: []lambdahost.Route{{Method: "ANY", Path: "/todos"}, {Method: "ANY", Path: "/todos/{id}"}, {Method: "GET", Path: "/health"}},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.host.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.host.Close() })
	}

	t.Run("before the switchover", func(t *testing.T) {
		a.wantHealth(t, "writer")
		b.wantHealth(t, "reader")
		status, _, created := a.do(t, "POST", "/todos", `{"task":"written in A"}`)
		if status != 201 {
			t.Fatalf("POST in the writer region = %d %v", status, created)
		}
		id := created["id"].(string)
		waitReplicated(t, b, id)
		refusalsBefore := b.proxy.Stats().NoWriterRefusals
		loopStart := time.Now()
		for i := 0; i < 5; i++ {
			status, h, body := b.do(t, "POST", "/todos", `{"task":"written in B"}`)
			if status != 503 || h.Get("Retry-After") == "" || !strings.HasSuffix(fmt.Sprint(body["type"]), "/region-not-writer") {
				t.Fatalf("POST in the standby = %d %v %v, want 503 region-not-writer with Retry-After", status, h, body)
			}
			if status, _, _ := b.do(t, "GET", "/todos/"+id, ""); status != 200 {
				t.Fatalf("GET in the standby = %d, want 200", status)
			}
		}
		// The read/write endpoint was asked at most once per warm process (two) and NoWriterMemory,
		// not once per request, and never waited out the borrow timeout.
		most := 2 * (1 + int(time.Since(loopStart)/mysqlstore.NoWriterMemory))
		if got := b.proxy.Stats().NoWriterRefusals - refusalsBefore; int(got) > most || b.proxy.Stats().NoWriterRefusals == 0 {
			t.Errorf("the standby's read/write endpoint refused %d times for 10 requests (%d in all); want at most %d", got, b.proxy.Stats().NoWriterRefusals, most)
		}
		if b.proxy.Stats().BorrowTimeouts != 0 {
			t.Errorf("the standby's requests waited out the borrow timeout")
		}
	})

	t.Run("writes wait for the new writer during the switchover", func(t *testing.T) {
		time.Sleep(mysqlstore.NoWriterMemory) // the standby looks at its read/write endpoint again
		b.promoting.Store(true)
		done := make(chan error, 1)
		go func() {
			defer b.promoting.Store(false)
			time.Sleep(300 * time.Millisecond)
			_, err := pair.Switchover(ctx)
			done <- err
		}()
		status, _, body := b.do(t, "POST", "/todos", `{"task":"queued during the switchover"}`)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if status != 201 {
			t.Fatalf("POST in the promoted region during the switchover = %d %v, want 201 once the new writer is up", status, body)
		}
		if b.proxy.Stats().BorrowTimeouts != 0 {
			t.Errorf("borrow timeouts: %d", b.proxy.Stats().BorrowTimeouts)
		}
	})

	t.Run("after the switchover", func(t *testing.T) {
		time.Sleep(mysqlstore.NoWriterMemory)
		b.wantHealth(t, "writer")
		a.wantHealth(t, "reader")
		if status, _, body := a.do(t, "POST", "/todos", `{"task":"old writer"}`); status != 503 || !strings.HasSuffix(fmt.Sprint(body["type"]), "/region-not-writer") {
			t.Errorf("POST in the old writer's region = %d %v, want 503 region-not-writer", status, body)
		}
	})

	t.Run("a promotion longer than the borrow timeout gives 503", func(t *testing.T) {
		time.Sleep(mysqlstore.NoWriterMemory)
		a.promoting.Store(true) // a promotion of A that does not finish
		defer a.promoting.Store(false)
		status, h, body := a.do(t, "POST", "/todos", `{"task":"never"}`)
		if status != 503 || h.Get("Retry-After") == "" || !strings.HasSuffix(fmt.Sprint(body["type"]), "/database-unavailable") {
			t.Errorf("POST = %d %v %v, want 503 database-unavailable with Retry-After", status, h, body)
		}
		if got := a.proxy.Stats().BorrowTimeouts; got != 1 {
			t.Errorf("%d borrow timeouts, want 1", got)
		}
	})

	// The function verifies the proxy's certificate through the system trust store, as in AWS:
	// without the local CA in it the connection fails, as it does with a wrongly signed token.
	otherCA, err := rdsproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	otherCAFile := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := otherCA.WriteFile(otherCAFile); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, variable, value string }{
		{"a function signing with the wrong secret key is refused", "AWS_SECRET_ACCESS_KEY", "not-the-local-secret"},
		{"a function that does not trust the proxy's CA refuses it", "SSL_CERT_FILE", otherCAFile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := b.proxy.FunctionEnv(appUser, "switchyard", caFile)
			maps.Copy(env, map[string]string{"AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey,
				"AWS_EC2_METADATA_DISABLED": "true", "DB_QUERY_TIMEOUT": "2s", "CURSOR_KEY": "rdsproxy tests share this cursor key"})
			env[tt.variable] = tt.value
			h, err := lambdahost.New(lambdahost.Config{Region: b.name, Logger: quiet(), FunctionOutput: io.Discard, Functions: []lambdahost.Function{{
				Name: "todo-api", Binary: bin, Env: env, Timeout: 6 * time.Second, Concurrency: 1,
				Routes: []lambdahost.Route{{Method: "GET", Path: "/health"}},
			}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			refused := &apiRegion{name: b.name, host: h}
			status, hdr, body := refused.do(t, "GET", "/health", "")
			if status != 503 || hdr.Get("Retry-After") == "" || body["db"] != "unavailable" {
				t.Errorf("/health = %d %v, want 503 with the database unavailable", status, body)
			}
		})
	}

	t.Run("connections are pooled", func(t *testing.T) {
		st := b.proxy.Stats()
		t.Logf("region B proxy: %+v", st)
		if st.BackendConnectionsOpened > st.ClientConnectionsOpened+2 || st.ClientConnectionsOpened > 8 {
			t.Errorf("stats %+v: want at most a few client connections (one pool per warm process) and no more backend ones", st)
		}
	})
}

func waitReplicated(t *testing.T, r *apiRegion, id string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if status, _, _ := r.do(t, "GET", "/todos/"+id, ""); status == 200 {
			return
		}
	}
	t.Fatalf("todo %s never reached %s", id, r.name)
}

func migrate(ctx context.Context, s *mariadb.Server) error {
	pool, err := sql.Open("mysql", s.DSN(appUser, appPass, "switchyard"))
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = schema.Migrate(ctx, pool)
	return err
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
