package tracing

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func mysqlConn(t *testing.T, dsn string) *mysqlConnector {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &mysqlConnector{c}
}

type mysqlConnector struct{ driver.Connector }

func TestDisabledIsAPassThrough(t *testing.T) {
	tr := New(false)
	var cfg aws.Config
	tr.InstrumentAWS(&cfg)
	if len(cfg.APIOptions) != 0 {
		t.Errorf("disabled tracer added %d API options", len(cfg.APIOptions))
	}
	c := &mysqlConnector{}
	if got := tr.Connector(c, SQLInfo{}); got != c {
		t.Errorf("disabled tracer wrapped the connector: %T", got)
	}
}

// captureStderr runs fn and returns what it wrote to the process's stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	defer func() { os.Stderr = old }()
	fn()
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

func TestEnabled(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	var tr *Tracer
	info := SQLInfo{Name: "switchyard@127.0.0.1", URL: "127.0.0.1/switchyard", User: "todo_app"}

	t.Run("outside a trace: queries work and nothing is logged", func(t *testing.T) {
		t.Setenv("AWS_XRAY_CONTEXT_MISSING", "")
		out := captureStderr(t, func() {
			tr = New(true)
			var cfg aws.Config
			tr.InstrumentAWS(&cfg)
			if len(cfg.APIOptions) == 0 {
				t.Error("enabled tracer did not instrument the AWS config")
			}
			pool := sql.OpenDB(tr.Connector(mysqlConn(t, dsn), info))
			defer pool.Close()
			exercise(t, context.Background(), pool)
		})
		if out != "" {
			t.Errorf("tracing outside a trace wrote to stderr:\n%s", out)
		}
	})

	t.Run("inside a segment: SQL subsegments reach the daemon", func(t *testing.T) {
		daemon, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer daemon.Close()
		if err := xray.Configure(xray.Config{DaemonAddr: daemon.LocalAddr().String()}); err != nil {
			t.Fatal(err)
		}
		pool := sql.OpenDB(tr.Connector(mysqlConn(t, dsn), info))
		defer pool.Close()
		ctx, seg := xray.BeginSegment(context.Background(), "todo-api-test")
		exercise(t, ctx, pool)
		seg.Close(nil)

		buf := make([]byte, 64<<10)
		daemon.SetReadDeadline(time.Now().Add(5 * time.Second))
		var got strings.Builder
		for !strings.Contains(got.String(), "SELECT id FROM probe") {
			n, err := daemon.Read(buf)
			if err != nil {
				t.Fatalf("no segment with the query reached the daemon: %v\nreceived: %s", err, got.String())
			}
			got.Write(buf[:n])
		}
		for _, want := range []string{`"sanitized_query":"SELECT id FROM probe WHERE id = ?"`, `"database_type":"MySQL"`, `"name":"switchyard@127.0.0.1"`, `"namespace":"remote"`} {
			if !strings.Contains(got.String(), want) {
				t.Errorf("segment lacks %s:\n%s", want, got.String())
			}
		}
		if strings.Contains(got.String(), "todo-app-password") {
			t.Error("segment holds the password")
		}
	})
}

// exercise runs every kind of call the store makes: exec, query, transaction, ping.
func exercise(t *testing.T, ctx context.Context, pool *sql.DB) {
	t.Helper()
	if err := pool.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT IGNORE INTO probe (id) VALUES (?)", 7); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var id int
	if err := pool.QueryRowContext(ctx, "SELECT id FROM probe WHERE id = ?", 7).Scan(&id); err != nil || id != 7 {
		t.Fatalf("query = %d, %v; want 7", id, err)
	}
}
