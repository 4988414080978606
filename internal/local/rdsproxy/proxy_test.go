package rdsproxy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/local/rdsproxy"
	"github.com/switchyard-dr/switchyard/internal/schema"
)

const (
	region    = "us-west-2"
	accessKey = "AKIALOCALPROXYTEST"
	secretKey = "local-secret-key"
	appUser   = "todo_app"
	appPass   = "todo-app-password"
)

type fixture struct {
	db        *mariadb.Server
	proxy     *rdsproxy.Proxy
	roots     *x509.CertPool
	promoting atomic.Bool
	skew      atomic.Int64 // the proxy's clock runs this far ahead
	mu        sync.Mutex
	queued    []rdsproxy.Queued
}

func start(t testing.TB, borrow time.Duration) *fixture {
	t.Helper()
	srv, _ := mariadbtest.App(t)
	if err := srv.Exec(context.Background(), "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-password'", "GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%'"); err != nil {
		t.Fatal(err)
	}
	ca, err := rdsproxy.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: srv, roots: x509.NewCertPool()}
	f.roots.AppendCertsFromPEM(ca.CertPEM())
	f.proxy, err = rdsproxy.Start(rdsproxy.Options{
		Name: "test", Region: region, Backend: fmt.Sprintf("127.0.0.1:%d", srv.Port), CA: ca,
		Users:         []rdsproxy.User{{Name: appUser, Password: appPass, IAM: true}, {Name: "admin", Password: "admin-password"}},
		Credentials:   map[string]string{accessKey: secretKey},
		BorrowTimeout: borrow, Promoting: f.promoting.Load, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Now: func() time.Time { return time.Now().Add(time.Duration(f.skew.Load())) },
		OnQueued: func(q rdsproxy.Queued) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.queued = append(f.queued, q)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.proxy.Close() })
	return f
}

// iamPool connects as the app user with a token built per connection by sign.
func (f *fixture) iamPool(t testing.TB, endpoint string, sign func(ctx context.Context, endpoint string) (string, error)) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.DBName = "tcp", endpoint, appUser, "switchyard"
	cfg.AllowCleartextPasswords, cfg.InterpolateParams, cfg.ParseTime = true, true, true
	cfg.TLS = &tls.Config{ServerName: "127.0.0.1", RootCAs: f.roots, MinVersion: tls.VersionTLS12}
	cfg.Timeout = 5 * time.Second
	if err := cfg.Apply(mysql.BeforeConnect(func(ctx context.Context, c *mysql.Config) error {
		tok, err := sign(ctx, endpoint)
		c.Passwd = tok
		return err
	})); err != nil {
		t.Fatal(err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(conn)
	t.Cleanup(func() { pool.Close() })
	return pool
}

func signWith(key, secret, signRegion, user string) func(context.Context, string) (string, error) {
	return func(ctx context.Context, endpoint string) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, signRegion, user, credentials.NewStaticCredentialsProvider(key, secret, ""))
	}
}

var goodToken = signWith(accessKey, secretKey, region, appUser)

func wantMySQLError(t *testing.T, err error, number uint16, text string) {
	t.Helper()
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != number || !strings.Contains(me.Message, text) {
		t.Fatalf("err = %v, want MySQL error %d containing %q", err, number, text)
	}
}

func TestAuthentication(t *testing.T) {
	f := start(t, time.Second)
	rw := f.proxy.ReadWriteEndpoint()
	t.Run("IAM token over TLS", func(t *testing.T) {
		for _, ep := range []string{rw, f.proxy.ReadOnlyEndpoint()} {
			var user string
			if err := f.iamPool(t, ep, goodToken).QueryRow("SELECT CURRENT_USER()").Scan(&user); err != nil || !strings.HasPrefix(user, appUser+"@") {
				t.Fatalf("%s: user %q, %v", ep, user, err)
			}
		}
	})
	refused := []struct {
		name string
		sign func(context.Context, string) (string, error)
	}{
		{"wrong secret key", signWith(accessKey, "not-the-secret", region, appUser)},
		{"unknown access key", signWith("AKIAUNKNOWN", secretKey, region, appUser)},
		{"other region", signWith(accessKey, secretKey, "eu-west-1", appUser)},
		{"other user", signWith(accessKey, secretKey, region, "admin")},
		{"other endpoint", func(ctx context.Context, _ string) (string, error) { return goodToken(ctx, f.proxy.ReadOnlyEndpoint()) }},
		{"the password instead of a token", func(context.Context, string) (string, error) { return appPass, nil }},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			err := f.iamPool(t, rw, tt.sign).Ping()
			wantMySQLError(t, err, 1045, "Access denied for user '"+appUser+"'")
		})
	}
	t.Run("token lifetime is 15 minutes", func(t *testing.T) {
		defer f.skew.Store(0)
		f.skew.Store(int64(14 * time.Minute))
		if err := f.iamPool(t, rw, goodToken).Ping(); err != nil {
			t.Fatalf("a 14-minute-old token: %v", err)
		}
		f.skew.Store(int64(16 * time.Minute))
		wantMySQLError(t, f.iamPool(t, rw, goodToken).Ping(), 1045, "Access denied for user '"+appUser+"'")
	})
	t.Run("refuses a client without TLS", func(t *testing.T) {
		for _, user := range []string{appUser, "admin"} {
			cfg := mysql.NewConfig()
			cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.AllowCleartextPasswords = "tcp", rw, user, "whatever", true
			c, _ := mysql.NewConnector(cfg)
			pool := sql.OpenDB(c)
			err := pool.Ping()
			pool.Close()
			wantMySQLError(t, err, rdsproxy.ErrRequiresTLS, "This RDS Proxy requires TLS connections")
		}
	})
	t.Run("password authentication for the admin", func(t *testing.T) {
		for pass, wantErr := range map[string]bool{"admin-password": false, "wrong": true} {
			cfg := mysql.NewConfig()
			cfg.Net, cfg.Addr, cfg.User, cfg.Passwd = "tcp", rw, "admin", pass
			cfg.TLS = &tls.Config{ServerName: "127.0.0.1", RootCAs: f.roots}
			c, _ := mysql.NewConnector(cfg)
			pool := sql.OpenDB(c)
			err := pool.Ping()
			pool.Close()
			if wantErr {
				wantMySQLError(t, err, 1045, "Access denied for user 'admin'")
			} else if err != nil {
				t.Fatal(err)
			}
		}
	})
}

// testWriter sends the proxy's log to the test's.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func TestEndpoints(t *testing.T) {
	f := start(t, 700*time.Millisecond)
	ctx := context.Background()
	rw := f.iamPool(t, f.proxy.ReadWriteEndpoint(), goodToken)
	ro := f.iamPool(t, f.proxy.ReadOnlyEndpoint(), goodToken)
	if _, err := rw.Exec("CREATE TABLE kv (k VARCHAR(10) PRIMARY KEY, v TEXT) DEFAULT CHARSET=utf8mb4"); err != nil {
		t.Fatal(err)
	}
	t.Run("read/write endpoint on a writer", func(t *testing.T) {
		if _, err := rw.Exec("INSERT INTO kv VALUES (?, ?)", "a", "Ünïcødé 🚀"); err != nil {
			t.Fatal(err)
		}
		var v string
		if err := ro.QueryRow("SELECT v FROM kv WHERE k = ?", "a").Scan(&v); err != nil || v != "Ünïcødé 🚀" {
			t.Fatalf("read back %q, %v", v, err)
		}
	})
	t.Run("read-only endpoint refuses writes", func(t *testing.T) {
		_, err := ro.Exec("INSERT INTO kv VALUES ('b', 'x')")
		wantMySQLError(t, err, 1792, "READ ONLY")
	})
	if err := f.db.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	t.Run("no writer: read/write endpoint refuses at once, read-only endpoint reads", func(t *testing.T) {
		time.Sleep(150 * time.Millisecond) // past the proxy's memory of the writer
		start := time.Now()
		_, err := rw.Exec("INSERT INTO kv VALUES ('c', 'x')")
		wantMySQLError(t, err, 1105, rdsproxy.NoWriterMessage)
		var n int
		err = rw.QueryRow("SELECT COUNT(*) FROM kv").Scan(&n)
		wantMySQLError(t, err, 1105, rdsproxy.NoWriterMessage)
		if took := time.Since(start); took > 500*time.Millisecond {
			t.Errorf("refusals took %v; the proxy must not queue without a promotion", took)
		}
		if err := ro.QueryRow("SELECT COUNT(*) FROM kv").Scan(&n); err != nil || n != 1 {
			t.Fatalf("read-only endpoint: %d rows, %v", n, err)
		}
		// The hourly idempotency sweep skips a reader region instead of failing there.
		if sw, err := schema.ExpireIdempotencyKeys(ctx, rw, time.Now()); err != nil || sw.Skipped == "" {
			t.Errorf("sweep through the read/write endpoint without a writer = %+v, %v; want skipped", sw, err)
		}
	})
	t.Run("promotion: queued, then served by the new writer", func(t *testing.T) {
		f.promoting.Store(true)
		go func() {
			time.Sleep(300 * time.Millisecond)
			f.db.Exec(context.Background(), "SET GLOBAL read_only=OFF") //nolint:errcheck // checked by the insert below
			f.promoting.Store(false)
		}()
		start := time.Now()
		if _, err := rw.Exec("INSERT INTO kv VALUES ('d', 'x')"); err != nil {
			t.Fatalf("queued write: %v", err)
		}
		if took := time.Since(start); took < 250*time.Millisecond {
			t.Errorf("write answered after %v, before the promotion ended", took)
		}
	})
	t.Run("promotion longer than the borrow timeout", func(t *testing.T) {
		if err := f.db.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
		f.promoting.Store(true)
		defer f.promoting.Store(false)
		start := time.Now()
		_, err := rw.Exec("INSERT INTO kv VALUES ('e', 'x')")
		wantMySQLError(t, err, rdsproxy.ErrBorrowTimeout, "Timed-out waiting to acquire database connection")
		if took := time.Since(start); took < 700*time.Millisecond {
			t.Errorf("gave up after %v, before the 700ms borrow timeout", took)
		}
	})
	if st := f.proxy.Stats(); st.NoWriterRefusals < 2 || st.BorrowTimeouts != 1 {
		t.Errorf("stats %+v: want ≥2 no-writer refusals and 1 borrow timeout", st)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var outcomes []string
	for _, q := range f.queued {
		outcomes = append(outcomes, q.Outcome)
	}
	if fmt.Sprint(outcomes) != "[served borrow timeout]" {
		t.Errorf("queued requests ended %v, want [served borrow timeout]", outcomes)
	}
}

func TestMultiplexing(t *testing.T) {
	f := start(t, time.Second)
	before := f.proxy.Stats()
	// Eight clients, each with its own connection, take turns: a transaction or a plain query
	// borrows a backend connection only while it runs.
	pools := make([]*sql.DB, 8)
	for i := range pools {
		pools[i] = f.iamPool(t, f.proxy.ReadWriteEndpoint(), goodToken)
		pools[i].SetMaxOpenConns(1)
	}
	for round := 0; round < 5; round++ {
		for _, p := range pools {
			tx, err := p.Begin()
			if err != nil {
				t.Fatal(err)
			}
			var one int
			if err := tx.QueryRow("SELECT 1").Scan(&one); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := f.proxy.Stats()
	if got := st.ClientConnectionsOpened - before.ClientConnectionsOpened; got != 8 {
		t.Errorf("%d client connections opened, want 8", got)
	}
	if got := st.BackendConnectionsOpened - before.BackendConnectionsOpened; got != 1 {
		t.Errorf("%d backend connections opened for 8 sequential clients, want 1", got)
	}
	// A prepared statement pins the session to its backend connection.
	p := pools[0]
	stmt, err := p.Prepare("SELECT ?")
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := stmt.QueryRow(7).Scan(&v); err != nil || v != 7 {
		t.Fatalf("prepared: %d, %v", v, err)
	}
	stmt.Close()
	if got := f.proxy.Stats().PinnedSessions; got != 1 {
		t.Errorf("%d pinned sessions after a prepared statement, want 1", got)
	}
}
