package migratehandler_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/schema/migratehandler"
)

const eventsDir = "../../../events/migrate"

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	pool, err := db.Open(context.Background(), config.DB{Auth: config.DBAuthDSN, DSN: dsn, QueryTimeout: 2 * time.Second}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

// unreachable is a pool whose server is not there: nothing listens on port 1.
func unreachable(t *testing.T) *sql.DB {
	return open(t, "app:pw@tcp(127.0.0.1:1)/switchyard")
}

// cloudFormation records the custom resource responses PUT to it, answering with status.
type cloudFormation struct {
	srv    *httptest.Server
	status int
	puts   []put
}

type put struct {
	method, contentType string
	body                map[string]any
}

func newCloudFormation(t *testing.T, status int) *cloudFormation {
	cf := &cloudFormation{status: status}
	cf.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p := put{method: r.Method, contentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(b, &p.body); err != nil {
			t.Errorf("response body is not JSON: %s", b)
		}
		cf.puts = append(cf.puts, p)
		w.WriteHeader(cf.status)
	}))
	t.Cleanup(cf.srv.Close)
	return cf
}

// event reads a fixture and points its ResponseURL at url.
func event(t *testing.T, name, url string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if url == "" {
		return b
	}
	var ev map[string]any
	json.Unmarshal(b, &ev)
	ev["ResponseURL"] = url + "/response?X-Amz-Signature=abc"
	out, _ := json.Marshal(ev)
	return out
}

// embedded names the embedded migrations and the latest version: what a first run applies.
func embedded(t *testing.T) ([]string, int) {
	t.Helper()
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names, ms[len(ms)-1].Version
}

func invoke(h *migratehandler.Handler, payload []byte) ([]byte, error) {
	return lambda.NewHandler(h.Handle).Invoke(context.Background(), payload)
}

func TestDirectInvocation(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	h := migratehandler.New(open(t, dsn), nil, nil)
	all, latest := embedded(t)
	for _, want := range []schema.Result{
		{Applied: all, Version: latest},
		{Applied: []string{}, Version: latest},
	} {
		out, err := invoke(h, event(t, "direct", ""))
		if err != nil {
			t.Fatal(err)
		}
		var got schema.Result
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("output %s: %v", out, err)
		}
		if strings.Join(got.Applied, ",") != strings.Join(want.Applied, ",") || got.Version != want.Version || got.Applied == nil {
			t.Errorf("output %s, want %+v", out, want)
		}
	}
}

func TestDirectInvocationErrors(t *testing.T) {
	h := migratehandler.New(unreachable(t), nil, nil)
	_, err := h.Handle(context.Background(), json.RawMessage(`{"action":"migrate"}`))
	var me *migratehandler.MigrationError
	if !errors.As(err, &me) {
		t.Errorf("unreachable database: %T %v, want *MigrationError", err, err)
	}
	for _, in := range []string{`{"action":"drop"}`, `{}`, `[1]`} {
		_, err := h.Handle(context.Background(), json.RawMessage(in))
		var ie *migratehandler.InvalidInputError
		if !errors.As(err, &ie) {
			t.Errorf("input %s: %T %v, want *InvalidInputError", in, err, err)
		}
	}
}

func TestCustomResource(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	good := open(t, dsn)
	_, latest := embedded(t)
	tests := []struct {
		name       string
		fixture    string
		pool       *sql.DB
		wantStatus string
		wantReason string
		wantPhys   string
		wantData   bool
	}{
		{"create migrates", "cfn-create", good, "SUCCESS", "", migratehandler.PhysicalResourceID, true},
		{"update migrates again, keeping the id", "cfn-update", good, "SUCCESS", "", "switchyard-schema", true},
		{"delete does nothing, even without a database", "cfn-delete", unreachable(t), "SUCCESS", "", "switchyard-schema", false},
		{"create without a database fails the resource", "cfn-create", unreachable(t), "FAILED", "migrate", migratehandler.PhysicalResourceID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := newCloudFormation(t, http.StatusOK)
			if _, err := invoke(migratehandler.New(tt.pool, nil, nil), event(t, tt.fixture, cf.srv.URL)); err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(cf.puts) != 1 {
				t.Fatalf("%d responses sent, want 1", len(cf.puts))
			}
			p := cf.puts[0]
			if p.method != http.MethodPut || p.contentType != "" {
				t.Errorf("sent %s with Content-Type %q, want PUT without one", p.method, p.contentType)
			}
			b := p.body
			if b["Status"] != tt.wantStatus || b["PhysicalResourceId"] != tt.wantPhys {
				t.Errorf("response %v, want Status %s PhysicalResourceId %s", b, tt.wantStatus, tt.wantPhys)
			}
			if reason, _ := b["Reason"].(string); !strings.Contains(reason, tt.wantReason) || (tt.wantStatus == "FAILED") != (reason != "") {
				t.Errorf("Reason %q, want one containing %q only when FAILED", reason, tt.wantReason)
			}
			for _, k := range []string{"StackId", "RequestId", "LogicalResourceId"} {
				if s, _ := b[k].(string); s == "" {
					t.Errorf("response lacks %s: %v", k, b)
				}
			}
			if data, _ := b["Data"].(map[string]any); tt.wantData != (data != nil) || (data != nil && data["Version"] != float64(latest)) {
				t.Errorf("Data = %v, want Version %d: %v", b["Data"], latest, tt.wantData)
			}
		})
	}
}

func TestCustomResourceResponseRefused(t *testing.T) {
	cf := newCloudFormation(t, http.StatusForbidden)
	_, err := migratehandler.New(unreachable(t), nil, nil).Handle(context.Background(), event(t, "cfn-delete", cf.srv.URL))
	var re *migratehandler.ResponseError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "403") {
		t.Errorf("err = %v, want *ResponseError mentioning 403", err)
	}
	if strings.Contains(err.Error(), "X-Amz-Signature") {
		t.Errorf("error repeats the signed URL: %v", err)
	}
}

func TestProvisionsTheAppUser(t *testing.T) {
	srv := mariadbtest.Start(t, mariadb.Options{Name: t.Name()})
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE DATABASE switchyard", "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-pw'",
		"GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION"); err != nil {
		t.Fatal(err)
	}
	admin := open(t, srv.DSN("admin", "admin-pw", "switchyard"))
	users := func(context.Context) (schema.AppUser, error) {
		return schema.AppUser{Name: "todo_app", Password: "from-the-secret"}, nil
	}
	if _, err := invoke(migratehandler.New(admin, nil, nil).WithAppUser(users), event(t, "direct", "")); err != nil {
		t.Fatal(err)
	}
	if err := open(t, srv.DSN("todo_app", "from-the-secret", "switchyard")).PingContext(ctx); err != nil {
		t.Errorf("the provisioned app user cannot connect: %v", err)
	}

	failing := func(context.Context) (schema.AppUser, error) {
		return schema.AppUser{}, errors.New("read secret arn:app (DB_APP_SECRET_ARN): access denied")
	}
	_, err := invoke(migratehandler.New(admin, nil, nil).WithAppUser(failing), event(t, "direct", ""))
	if err == nil || !strings.Contains(err.Error(), "DB_APP_SECRET_ARN") {
		t.Errorf("unreadable app secret: got %v, want the migration to fail naming DB_APP_SECRET_ARN", err)
	}
}

func TestExpireAction(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	pool := open(t, dsn)
	h := migratehandler.New(pool, nil, nil)
	if _, err := invoke(h, event(t, "direct", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec("INSERT INTO idempotency_keys VALUES (UNHEX(SHA2('k', 256)), UNHEX(SHA2('r', 256)), '{}', '2000-01-01')"); err != nil {
		t.Fatal(err)
	}
	out, err := invoke(h, event(t, "expire-idempotency-keys", ""))
	if err != nil {
		t.Fatal(err)
	}
	var sw schema.Sweep
	if err := json.Unmarshal(out, &sw); err != nil || sw.Deleted != 1 {
		t.Errorf("output %s (%v), want 1 deleted", out, err)
	}
}
