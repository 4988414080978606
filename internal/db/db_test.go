package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/local/localcloud"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func TestQueryContext(t *testing.T) {
	tests := []struct {
		name        string
		parent      time.Duration // 0: no deadline
		timeout     time.Duration
		wantAtMost  time.Duration
		wantAtLeast time.Duration
	}{
		{"no invocation deadline", 0, 3 * time.Second, 3 * time.Second, 2900 * time.Millisecond},
		{"invocation deadline further", 10 * time.Second, 3 * time.Second, 3 * time.Second, 2900 * time.Millisecond},
		{"invocation deadline sooner", time.Second, 3 * time.Second, time.Second - deadlineMargin, 600 * time.Millisecond},
		{"invocation nearly over", 100 * time.Millisecond, 3 * time.Second, time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := context.Background()
			if tt.parent > 0 {
				var cancel context.CancelFunc
				parent, cancel = context.WithTimeout(parent, tt.parent)
				defer cancel()
			}
			ctx, cancel := QueryContext(parent, tt.timeout)
			defer cancel()
			dl, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline")
			}
			left := time.Until(dl)
			if left > tt.wantAtMost || left < tt.wantAtLeast {
				t.Errorf("deadline in %v, want between %v and %v", left, tt.wantAtLeast, tt.wantAtMost)
			}
		})
	}
}

func TestDSNModeForcesOptionsAndPoolLimits(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	cfg, _ := mysql.ParseDSN(dsn)
	cfg.InterpolateParams, cfg.ParseTime = false, false // as a user might write it
	pool, err := Open(context.Background(), config.DB{Auth: config.DBAuthDSN, DSN: cfg.FormatDSN(), QueryTimeout: 2 * time.Second}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	conn, err := pool.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var now time.Time
	if err := conn.QueryRowContext(ctx, "SELECT NOW(6) + INTERVAL ? SECOND", 1).Scan(&now); err != nil {
		t.Fatalf("parameterised query scanning a time (needs parseTime): %v", err)
	}
	var name string
	var prepared int
	if err := conn.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'").Scan(&name, &prepared); err != nil {
		t.Fatal(err)
	}
	if prepared != 0 {
		t.Errorf("%d statements prepared; interpolateParams must keep it at 0 (prepared statements pin RDS Proxy connections)", prepared)
	}
	if got := pool.Stats().MaxOpenConnections; got != MaxOpenConns {
		t.Errorf("MaxOpenConnections = %d, want %d", got, MaxOpenConns)
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name string
		c    config.DB
		want string
	}{
		{"iam without AWS", config.DB{Auth: config.DBAuthIAM, Endpoint: "p:3306", User: "u", Name: "d", Region: "eu-west-1"}, "AWS"},
		{"secret without AWS", config.DB{Auth: config.DBAuthSecret, SecretARN: "arn"}, "AWS"},
		{"bad DSN", config.DB{Auth: config.DBAuthDSN, DSN: "user:hunter2@tcp(127.0.0.1:3306)"}, "DB_DSN"},
		{"unknown mode", config.DB{Auth: "kerberos"}, "DB_AUTH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.c, Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %s", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestIAMConfig(t *testing.T) {
	c := config.DB{Auth: config.DBAuthIAM, Endpoint: "switchyard.proxy-abc.eu-west-1.rds.amazonaws.com:3306", User: "todo_app", Name: "switchyard", Region: "eu-west-1", QueryTimeout: 3 * time.Second}
	creds := credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-key-example", "")
	cfg, err := iamConfig(c, creds)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.AllowCleartextPasswords || cfg.TLS == nil || cfg.TLS.InsecureSkipVerify || cfg.TLS.RootCAs == nil ||
		cfg.TLS.ServerName != "switchyard.proxy-abc.eu-west-1.rds.amazonaws.com" {
		t.Errorf("TLS/cleartext settings wrong: cleartext %v TLS %+v", cfg.AllowCleartextPasswords, cfg.TLS)
	}
	if !cfg.InterpolateParams || !cfg.ParseTime || cfg.Passwd != "" {
		t.Errorf("interpolateParams %v parseTime %v password set %v", cfg.InterpolateParams, cfg.ParseTime, cfg.Passwd != "")
	}
	conn := mysql.NewConfig()
	if err := iamToken(c.Endpoint, c.Region, c.User, creds)(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{c.Endpoint + "?Action=connect", "DBUser=todo_app", "X-Amz-Signature=", "X-Amz-Expires=900", "eu-west-1%2Frds-db"} {
		if !strings.Contains(conn.Passwd, part) {
			t.Errorf("token %q lacks %q", conn.Passwd, part)
		}
	}
}

// secretStore is one database secret in the local AWS emulator, reached through the real Secrets
// Manager client: set rotates it, fetches counts the GetSecretValue calls.
type secretStore struct {
	cloud *localcloud.Server
	arn   string
}

func newSecretStore(t *testing.T, value string) *secretStore {
	t.Helper()
	cloud, err := localcloud.Start(localcloud.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cloud.Close() })
	s := &secretStore{cloud: cloud}
	s.set(value)
	return s
}

func (s *secretStore) set(value string) { s.arn = s.cloud.AddSecret("eu-west-1", "db", value) }
func (s *secretStore) fetches() int     { return s.cloud.Calls("secretsmanager:GetSecretValue") }
func (s *secretStore) client() *secretsmanager.Client {
	return secretsmanager.NewFromConfig(s.cloud.Config("eu-west-1"))
}

func secretJSON(user, pass, host string, port any, dbname string) string {
	b, _ := json.Marshal(map[string]any{"username": user, "password": pass, "host": host, "port": port, "dbname": dbname, "engine": "mysql"})
	return string(b)
}

func openSecret(t *testing.T, sm *secretStore, endpoint, caFile string) (*sql.DB, error) {
	t.Helper()
	c := config.DB{Auth: config.DBAuthSecret, SecretARN: sm.arn, Endpoint: endpoint, Region: "eu-west-1", QueryTimeout: 2 * time.Second, CAFile: caFile}
	pool, err := Open(context.Background(), c, Deps{Secrets: sm.client()})
	if pool != nil {
		t.Cleanup(func() { pool.Close() })
	}
	return pool, err
}

// tlsApp is a private server that offers TLS, with an application database and user.
func tlsApp(t *testing.T) (*mariadb.Server, *mysql.Config) {
	t.Helper()
	srv := mariadbtest.Start(t, mariadb.Options{Name: t.Name(), TLS: true})
	dsn, err := srv.CreateApp(context.Background(), "switchyard", "todo_app", "todo-app-password")
	if err != nil {
		t.Fatal(err)
	}
	app, _ := mysql.ParseDSN(dsn)
	return srv, app
}

func TestSecretMode(t *testing.T) {
	srv, app := tlsApp(t)
	ca := srv.CAFile()
	host, port := "127.0.0.1", srv.Port
	right := secretJSON(app.User, app.Passwd, host, port, app.DBName)
	stale := secretJSON(app.User, "rotated-away-hunter2", host, port, app.DBName)

	t.Run("connects with the secret", func(t *testing.T) {
		sm := newSecretStore(t, secretJSON(app.User, app.Passwd, host, "3306-ignored", app.DBName))
		// The port is no number here, so DB_ENDPOINT must supply the address.
		pool, err := openSecret(t, sm, "127.0.0.1:"+strconv.Itoa(port), ca)
		if err != nil {
			t.Fatal(err)
		}
		if err := pool.Ping(); err != nil {
			t.Fatal(err)
		}
		if got := sm.fetches(); got != 1 {
			t.Errorf("%d secret fetches, want 1", got)
		}
	})
	t.Run("re-fetches once after a rotation", func(t *testing.T) {
		sm := newSecretStore(t, stale)
		pool, err := openSecret(t, sm, "", ca)
		if err != nil {
			t.Fatal(err)
		}
		sm.set(right) // rotated after the cold start read it
		if err := pool.Ping(); err != nil {
			t.Fatalf("ping after rotation: %v", err)
		}
		if got := sm.fetches(); got != 2 {
			t.Errorf("%d secret fetches, want 2", got)
		}
	})
	t.Run("gives up after one re-fetch", func(t *testing.T) {
		sm := newSecretStore(t, stale)
		pool, err := openSecret(t, sm, "", ca)
		if err != nil {
			t.Fatal(err)
		}
		pool.SetMaxOpenConns(1)
		err = pool.Ping()
		if err == nil || !strings.Contains(err.Error(), "Access denied") {
			t.Fatalf("ping = %v, want access denied", err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error leaks the password: %v", err)
		}
		if got := sm.fetches(); got != 2 {
			t.Errorf("%d secret fetches for one failed ping, want 2 (cold start and one re-fetch)", got)
		}
	})
	t.Run("an incomplete secret is rejected without echoing it", func(t *testing.T) {
		sm := newSecretStore(t, secretJSON("", "hunter2", host, port, ""))
		_, err := openSecret(t, sm, "", ca)
		if err == nil || !strings.Contains(err.Error(), "DB_SECRET_ARN") || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("err = %v, want one naming DB_SECRET_ARN without the password", err)
		}
	})
}

func TestOpenPools(t *testing.T) {
	awsCfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret-key-example", "")}
	c := config.DB{Auth: config.DBAuthIAM, Endpoint: "p.proxy-x.eu-west-1.rds.amazonaws.com:3306", User: "todo_app", Name: "switchyard", Region: "eu-west-1", QueryTimeout: time.Second}
	p, err := OpenPools(context.Background(), c, Deps{AWS: &awsCfg})
	if err != nil || p.ReadWrite == nil || p.ReadOnly != nil {
		t.Fatalf("without DB_READ_ONLY_ENDPOINT: %+v, %v; want the read/write pool only", p, err)
	}
	p.ReadWrite.Close()
	c.ReadOnlyEndpoint = "ro.endpoint.proxy-x.eu-west-1.rds.amazonaws.com:3306"
	p, err = OpenPools(context.Background(), c, Deps{AWS: &awsCfg})
	if err != nil || p.ReadWrite == nil || p.ReadOnly == nil {
		t.Fatalf("with DB_READ_ONLY_ENDPOINT: %+v, %v; want both pools", p, err)
	}
	p.ReadWrite.Close()
	p.ReadOnly.Close()
	if got := p.ReadOnly.Stats().MaxOpenConnections; got != MaxOpenConns {
		t.Errorf("read-only pool MaxOpenConnections = %d, want %d", got, MaxOpenConns)
	}
}

// The admin password never travels in clear nor to a server whose certificate is not trusted: secret
// mode has no plaintext fallback and verifies the certificate.
func TestSecretModeInsistsOnVerifiedTLS(t *testing.T) {
	plain, dsn := mariadbtest.App(t)
	app, _ := mysql.ParseDSN(dsn)
	sm := newSecretStore(t, secretJSON(app.User, app.Passwd, "127.0.0.1", plain.Port, app.DBName))
	pool, err := openSecret(t, sm, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(); err == nil || !strings.Contains(err.Error(), "TLS") {
		t.Errorf("ping a server without TLS = %v, want a TLS refusal", err)
	}

	srv, tlsUser := tlsApp(t)
	sm = newSecretStore(t, secretJSON(tlsUser.User, tlsUser.Passwd, "127.0.0.1", srv.Port, tlsUser.DBName))
	pool, err = openSecret(t, sm, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("ping a server whose certificate no trusted CA signed = %v, want a certificate error", err)
	}
}
