package schema_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
)

func TestEnsureAppUserGrantsRowAccessOnly(t *testing.T) {
	srv := mariadbtest.Start(t, mariadb.Options{Name: t.Name()})
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE DATABASE switchyard", "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-pw'",
		"GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION"); err != nil {
		t.Fatal(err)
	}
	admin := open(t, srv.DSN("admin", "admin-pw", "switchyard"))
	if _, err := schema.Migrate(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if err := schema.EnsureAppUser(ctx, admin, schema.AppUser{Name: "todo_app", Password: "first-pw"}); err != nil {
		t.Fatal(err)
	}
	app := open(t, srv.DSN("todo_app", "first-pw", "switchyard"))
	if _, err := app.ExecContext(ctx, "DELETE FROM todos WHERE id = 'none'"); err != nil {
		t.Errorf("app user cannot write rows: %v", err)
	}
	if _, err := app.ExecContext(ctx, "CREATE TABLE intruder (id INT)"); !isAccessDenied(err) {
		t.Errorf("app user CREATE TABLE: got %v, want access denied", err)
	}
	if err := srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	var me *mysql.MySQLError
	if _, err := app.ExecContext(ctx, "DELETE FROM todos WHERE id = 'none'"); !errors.As(err, &me) || me.Number != 1290 {
		t.Errorf("app user write on a read-only server: got %v, want error 1290", err)
	}
	if err := srv.Exec(ctx, "SET GLOBAL read_only=OFF"); err != nil {
		t.Fatal(err)
	}

	// A rotated password takes over; running again is harmless.
	for range 2 {
		if err := schema.EnsureAppUser(ctx, admin, schema.AppUser{Name: "todo_app", Password: "rotated-pw"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := open(t, srv.DSN("todo_app", "rotated-pw", "switchyard")).PingContext(ctx); err != nil {
		t.Errorf("rotated password refused: %v", err)
	}
	if err := open(t, srv.DSN("todo_app", "first-pw", "switchyard")).PingContext(ctx); err == nil {
		t.Error("the old password still works after rotation")
	}
}

func TestEnsureAppUserRejectsBadInput(t *testing.T) {
	for name, u := range map[string]schema.AppUser{
		"quote in name":  {Name: "x'; DROP", Password: "p"},
		"empty password": {Name: "todo_app"},
	} {
		// Input is checked before any statement: a nil pool is never touched.
		err := schema.EnsureAppUser(context.Background(), nil, u)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "p\"") {
			t.Errorf("%s: error %q shows the password", name, err)
		}
	}
}

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func isAccessDenied(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1142 || me.Number == 1044)
}

// The app user's password never reaches the server: MariaDB's general log, which records every
// statement as received, holds the account statements but not the password.
func TestEnsureAppUserNeverSendsThePassword(t *testing.T) {
	srv := mariadbtest.Start(t, mariadb.Options{Name: t.Name()})
	ctx := context.Background()
	if err := srv.Exec(ctx, "CREATE DATABASE switchyard", "CREATE USER 'admin'@'%' IDENTIFIED BY 'admin-pw'",
		"GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION",
		"SET GLOBAL log_output = 'TABLE'", "SET GLOBAL general_log = ON"); err != nil {
		t.Fatal(err)
	}
	admin := open(t, srv.DSN("admin", "admin-pw", "switchyard"))
	const password = "Sekr1t-app-password-7781"
	if err := schema.EnsureAppUser(ctx, admin, schema.AppUser{Name: "todo_app", Password: password}); err != nil {
		t.Fatal(err)
	}
	if err := open(t, srv.DSN("todo_app", password, "switchyard")).PingContext(ctx); err != nil {
		t.Fatalf("the app user cannot sign in with its password: %v", err)
	}
	rows, err := admin.QueryContext(ctx, "SELECT CONVERT(argument USING utf8mb4) FROM mysql.general_log")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	accountStatements := 0
	for rows.Next() {
		var stmt string
		if err := rows.Scan(&stmt); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stmt, password) {
			t.Errorf("the general log holds the password: %q", stmt)
		}
		if strings.Contains(stmt, "USER") && strings.Contains(stmt, "todo_app") {
			accountStatements++
		}
	}
	if accountStatements < 2 {
		t.Errorf("the general log shows %d account statements, want CREATE USER and ALTER USER: the check saw nothing", accountStatements)
	}
}

// The hash is MySQL's mysql_native_password string, as the server computes it.
func TestNativePasswordHash(t *testing.T) {
	if got, want := schema.NativePasswordHash("password"), "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"; got != want {
		t.Errorf("NativePasswordHash(password) = %s, want %s", got, want)
	}
}
