package schema

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
)

func TestEmbeddedMigrations(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, m := range ms {
		names = append(names, m.Name)
		if m.Version != i+1 {
			t.Errorf("migration %s has version %d, want %d (no gaps)", m.Name, m.Version, i+1)
		}
	}
	if want := []string{"0001_todos", "0002_idempotency_keys", "0003_writer_lease"}; !reflect.DeepEqual(names, want) {
		t.Errorf("migrations = %v, want %v", names, want)
	}
}

func TestLoadRejectsBadNames(t *testing.T) {
	tests := map[string]fstest.MapFS{
		"no version":        {"m/todos.sql": {Data: []byte("SELECT 1")}},
		"zero version":      {"m/0000_x.sql": {Data: []byte("SELECT 1")}},
		"duplicate version": {"m/0001_a.sql": {Data: []byte("SELECT 1")}, "m/1_b.sql": {Data: []byte("SELECT 1")}},
	}
	for name, fsys := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := load(fsys, "m"); err == nil {
				t.Error("load accepted it")
			}
		})
	}
}

func TestStatements(t *testing.T) {
	src := "-- a comment\nCREATE TABLE a (\n  x INT\n);\n\n-- another\nCREATE INDEX i ON a (x);\nINSERT INTO a VALUES (1)"
	want := []string{"CREATE TABLE a (\n  x INT\n)", "CREATE INDEX i ON a (x)", "INSERT INTO a VALUES (1)"}
	if got := statements(src); !reflect.DeepEqual(got, want) {
		t.Errorf("statements = %q, want %q", got, want)
	}
}

func openApp(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool := sql.OpenDB(c)
	t.Cleanup(func() { pool.Close() })
	return pool
}

func TestMigrate(t *testing.T) {
	_, dsn := mariadbtest.App(t)
	ctx := context.Background()

	t.Run("concurrent first runs apply each migration once", func(t *testing.T) {
		const runs = 4
		results := make([]Result, runs)
		errs := make([]error, runs)
		var wg sync.WaitGroup
		for i := range runs {
			pool := openApp(t, dsn)
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = Migrate(ctx, pool)
			}()
		}
		wg.Wait()
		var applied []string
		for i := range runs {
			if errs[i] != nil {
				t.Fatalf("run %d: %v", i, errs[i])
			}
			if results[i].Version != 3 {
				t.Errorf("run %d: version %d, want 3", i, results[i].Version)
			}
			applied = append(applied, results[i].Applied...)
		}
		if want := []string{"0001_todos", "0002_idempotency_keys", "0003_writer_lease"}; !reflect.DeepEqual(applied, want) {
			t.Errorf("applied across runs = %v, want %v exactly once", applied, want)
		}
	})

	pool := openApp(t, dsn)
	t.Run("a second run applies nothing", func(t *testing.T) {
		res, err := Migrate(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Applied) != 0 || res.Version != 3 {
			t.Errorf("second run = %+v, want nothing applied at version 3", res)
		}
		var n int
		pool.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n)
		if n != 3 {
			t.Errorf("schema_migrations has %d rows, want 3", n)
		}
		for _, table := range []string{"todos", "idempotency_keys", "writer_lease"} {
			if _, err := pool.Exec("SELECT 1 FROM " + table + " LIMIT 1"); err != nil {
				t.Errorf("table %s: %v", table, err)
			}
		}
	})

	t.Run("a failing migration is reported and not recorded", func(t *testing.T) {
		ms, _ := Migrations()
		last := ms[len(ms)-1].Version
		next := last + 1
		brokenName, fixedName := fmt.Sprintf("%04d_broken", next), fmt.Sprintf("%04d_fixed", next)
		broken := append(ms, Migration{Version: next, Name: brokenName, SQL: "CREATE TABLE t3 (x INT);\nALTER TABLE no_such_table ADD COLUMN y INT;"})
		res, err := apply(ctx, pool, broken)
		if err == nil || !strings.Contains(err.Error(), brokenName+" statement 2") {
			t.Fatalf("err = %v, want one naming %s statement 2", err, brokenName)
		}
		if res.Version != last {
			t.Errorf("version after failure = %d, want %d", res.Version, last)
		}
		fixed := append(ms, Migration{Version: next, Name: fixedName, SQL: "CREATE TABLE IF NOT EXISTS t3 (x INT);"})
		res, err = apply(ctx, pool, fixed)
		if err != nil || !reflect.DeepEqual(res.Applied, []string{fixedName}) || res.Version != next {
			t.Errorf("after the fix = %+v, %v; want %s applied at version %d", res, err, fixedName, next)
		}
	})
}
