package migratehandler_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/pem"
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

// cloudFormation records the custom resource responses PUT to it over HTTPS, answering with status;
// responder sends there, as CFN_RESPONSE_TEST_HOSTS and CFN_RESPONSE_TEST_CA_FILE allow.
type cloudFormation struct {
	srv       *httptest.Server
	status    int
	puts      []put
	responder *migratehandler.Responder
}

type put struct {
	method, contentType string
	body                map[string]any
}

func newCloudFormation(t *testing.T, status int) *cloudFormation {
	cf := &cloudFormation{status: status}
	cf.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p := put{method: r.Method, contentType: r.Header.Get("Content-Type")}
		if err := json.Unmarshal(b, &p.body); err != nil {
			t.Errorf("response body is not JSON: %s", b)
		}
		cf.puts = append(cf.puts, p)
		w.WriteHeader(cf.status)
	}))
	t.Cleanup(cf.srv.Close)
	cf.responder = migratehandler.NewResponder(testResponses(t, cf.srv))
	return cf
}

// testResponses is the test seam's configuration for an HTTPS test server.
func testResponses(t *testing.T, srv *httptest.Server) config.CustomResourceResponses {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return config.CustomResourceResponses{TestHosts: []string{srv.Listener.Addr().String()}, TestCAFile: ca}
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
		{"create without a database fails the resource", "cfn-create", unreachable(t), "FAILED", "see the migrate function's logs", migratehandler.PhysicalResourceID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := newCloudFormation(t, http.StatusOK)
			if _, err := invoke(migratehandler.New(tt.pool, cf.responder, nil), event(t, tt.fixture, cf.srv.URL)); err != nil {
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
			reason, _ := b["Reason"].(string)
			if !strings.Contains(reason, tt.wantReason) || (tt.wantStatus == "FAILED") != (reason != "") {
				t.Errorf("Reason %q, want one containing %q only when FAILED", reason, tt.wantReason)
			}
			for _, internal := range []string{"127.0.0.1", "connection refused", "dial"} {
				if strings.Contains(reason, internal) {
					t.Errorf("Reason %q shows the database error (%q): it belongs in the logs", reason, internal)
				}
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
	_, err := migratehandler.New(unreachable(t), cf.responder, nil).Handle(context.Background(), event(t, "cfn-delete", cf.srv.URL))
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

// Deployed (no test seam), only HTTPS URLs on CloudFormation's response hosts are accepted.
func TestResponseURLPolicy(t *testing.T) {
	r := migratehandler.NewResponder(config.CustomResourceResponses{})
	for _, u := range []string{
		"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation?X-Amz-Signature=x",
		"https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/x?X-Amz-Signature=x",
		"https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x",
		"https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x",
		"https://CloudFormation-Custom-Resource-Response-useast1.s3.amazonaws.com:443/x",
	} {
		if _, err := r.Check(u); err != nil {
			t.Errorf("Check(%s) = %v, want accepted", u, err)
		}
	}
	for _, u := range []string{
		"",
		"http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
		"https://user:pass@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
		"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/x",
		"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.example.com/x",
		"https://attacker-bucket.s3.amazonaws.com/x",
		"https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/x",
		"https://example.com/x",
		"https://127.0.0.1:8443/x",
		"file:///etc/passwd",
		"https://[::1]/x",
	} {
		if _, err := r.Check(u); err == nil {
			t.Errorf("Check(%q) accepted, want refused", u)
		} else if strings.Contains(err.Error(), "X-Amz-Signature") {
			t.Errorf("Check(%q) error repeats the URL: %v", u, err)
		}
	}
}

// A custom resource event that CloudFormation cannot have sent runs nothing and sends nothing: no
// migration, no request to the named host.
func TestForgedCustomResourceEventRunsNothing(t *testing.T) {
	hits := 0
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer plain.Close()
	opened := 0
	h := migratehandler.Deferred(func(context.Context) (migratehandler.Database, error) {
		opened++
		return migratehandler.Database{}, errors.New("must not be reached")
	}, nil, nil)
	for _, url := range []string{plain.URL, strings.Replace(plain.URL, "http://", "https://", 1)} {
		_, err := h.Handle(context.Background(), event(t, "cfn-create", url))
		var ie *migratehandler.InvalidInputError
		if !errors.As(err, &ie) {
			t.Errorf("ResponseURL %s: err = %T %v, want *InvalidInputError", url, err, err)
		}
	}
	if opened != 0 || hits != 0 {
		t.Errorf("forged events opened the database %d times and reached the named host %d times, want 0 and 0", opened, hits)
	}
	// Duplicate keys are how a forged field slips past a check: refused outright.
	dup := []byte(`{"RequestType":"Delete","RequestType":"Create","ResponseURL":"https://x"}`)
	if _, err := h.Handle(context.Background(), dup); err == nil {
		t.Error("an event with a duplicate key was accepted")
	}
}

// A redirect is not followed (the body would go elsewhere), and a refusal's body is never repeated.
func TestResponseNeitherFollowsRedirectsNorEchoesReplies(t *testing.T) {
	elsewhere := newCloudFormation(t, http.StatusOK)
	redirecting := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.srv.URL+"/stolen", http.StatusTemporaryRedirect)
	}))
	defer redirecting.Close()
	cfg := testResponses(t, redirecting)
	cfg.TestHosts = append(cfg.TestHosts, elsewhere.srv.Listener.Addr().String())
	_, err := migratehandler.New(unreachable(t), migratehandler.NewResponder(cfg), nil).Handle(context.Background(), event(t, "cfn-delete", redirecting.URL))
	if err == nil || !strings.Contains(err.Error(), "redirects are not followed") {
		t.Errorf("err = %v, want a refused redirect", err)
	}
	if len(elsewhere.puts) != 0 {
		t.Errorf("the redirect target received %d responses, want 0", len(elsewhere.puts))
	}

	talkative := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "<Error>internal-detail-4711</Error>")
	}))
	defer talkative.Close()
	_, err = migratehandler.New(unreachable(t), migratehandler.NewResponder(testResponses(t, talkative)), nil).Handle(context.Background(), event(t, "cfn-delete", talkative.URL))
	if err == nil || !strings.Contains(err.Error(), "403") || strings.Contains(err.Error(), "internal-detail-4711") {
		t.Errorf("err = %v, want the status without the reply's body", err)
	}
}
