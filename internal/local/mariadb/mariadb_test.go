package mariadb_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func TestAppUserIsRefusedWritesWhenReadOnly(t *testing.T) {
	s, dsn := mariadbtest.App(t)
	ctx := context.Background()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if err := s.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1290 {
		t.Fatalf("insert on a read-only server: got %v, want MySQL error 1290", err)
	}
}

func TestKillAndRestartKeepsCommittedRows(t *testing.T) {
	s, dsn := mariadbtest.App(t)
	ctx := context.Background()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	if s.PID() != 0 {
		t.Fatalf("pid %d still running after Kill", pid)
	}
	if err := db.PingContext(ctx); err == nil {
		t.Fatal("ping succeeded with the server killed")
	}
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM t WHERE id = 7").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after restart: count=%d err=%v, want 1 row", n, err)
	}
}

func TestStartWithoutBinariesSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := mariadb.Start(context.Background(), mariadb.Options{})
	if !errors.Is(err, mariadb.ErrNotInstalled) {
		t.Fatalf("got %v, want ErrNotInstalled", err)
	}
}
