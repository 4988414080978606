package mysqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
)

func open(t testing.TB, dsn string, timeout time.Duration) *sql.DB {
	t.Helper()
	pool, err := db.Open(context.Background(), config.DB{Auth: config.DBAuthDSN, DSN: dsn, QueryTimeout: timeout}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool
}

func setup(t *testing.T) (*mariadb.Server, *sql.DB, *mysqlstore.Store) {
	t.Helper()
	srv, dsn := mariadbtest.App(t)
	pool := open(t, dsn, 2*time.Second)
	if _, err := schema.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return srv, pool, mysqlstore.New(pool, 2*time.Second)
}

var clock = time.Date(2026, 11, 21, 5, 0, 0, 123456000, time.UTC)

func newTodo(g *todo.IDGenerator, task string, st todo.Status, at time.Time) todo.Todo {
	return todo.Todo{ID: g.New(at), Task: task, Status: st, CreatedAt: at, UpdatedAt: at, Version: 1}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := todo.ErrorCode(err); got != code {
		t.Errorf("%s: code %q (%v), want %q", what, got, err, code)
	}
}

func TestStore(t *testing.T) {
	srv, pool, store := setup(t)
	ctx := context.Background()
	var ids todo.IDGenerator

	t.Run("create, get, update, delete", func(t *testing.T) {
		in := newTodo(&ids, "Ünïcødé 🚀 task", todo.StatusTodo, clock)
		created, replayed, err := store.Create(ctx, in, nil)
		if err != nil || replayed || created != in {
			t.Fatalf("Create = %+v, %v, %v; want %+v", created, replayed, err, in)
		}
		got, err := store.Get(ctx, in.ID)
		if err != nil || got != in {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, in)
		}
		change := got
		change.Task, change.Status, change.UpdatedAt = "changed", todo.StatusDone, clock.Add(time.Second)
		updated, err := store.Update(ctx, change, 1)
		if err != nil {
			t.Fatal(err)
		}
		if updated.Version != 2 || updated.Task != "changed" || updated.Status != todo.StatusDone || !updated.CreatedAt.Equal(in.CreatedAt) || !updated.UpdatedAt.Equal(change.UpdatedAt) {
			t.Errorf("Update = %+v", updated)
		}
		_, err = store.Update(ctx, change, 1)
		wantCode(t, "update at a stale version", err, todo.EPRECONDITION)
		change.ID = ids.New(clock)
		_, err = store.Update(ctx, change, 1)
		wantCode(t, "update of a missing todo", err, todo.ENOTFOUND)
		wantCode(t, "delete at a stale version", store.Delete(ctx, in.ID, 1), todo.EPRECONDITION)
		if err := store.Delete(ctx, in.ID, 2); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "delete twice", store.Delete(ctx, in.ID, 0), todo.ENOTFOUND)
		_, err = store.Get(ctx, in.ID)
		wantCode(t, "get after delete", err, todo.ENOTFOUND)
	})

	t.Run("keyset pagination", func(t *testing.T) {
		if _, err := pool.Exec("DELETE FROM todos"); err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range 25 {
			st := todo.StatusWIP
			if i%5 == 0 {
				st = todo.StatusDone
			}
			td := newTodo(&ids, fmt.Sprintf("task %d", i), st, clock.Add(time.Duration(i)*time.Millisecond))
			if _, _, err := store.Create(ctx, td, nil); err != nil {
				t.Fatal(err)
			}
			if st == todo.StatusDone {
				want = append(want, td.ID)
			}
		}
		svc := todo.NewService(store, []byte("mysqlstore tests cursor key 32 B"))
		var got []string
		for cursor := ""; ; {
			page, err := svc.List(ctx, todo.ListInput{Limit: 2, Cursor: cursor, Status: "done"})
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				got = append(got, it.ID)
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("done todos paged = %v, want %v", got, want)
		}
	})

	t.Run("role and read-only", func(t *testing.T) {
		// Its own store: the "no writer" it learns here is remembered for NoWriterMemory.
		store := mysqlstore.New(pool, 2*time.Second)
		existing := newTodo(&ids, "before read-only", todo.StatusTodo, clock)
		if _, _, err := store.Create(ctx, existing, nil); err != nil {
			t.Fatal(err)
		}
		if role, err := store.Role(ctx); err != nil || role != todo.RoleWriter {
			t.Fatalf("Role = %q, %v; want writer", role, err)
		}
		if err := srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
			t.Fatal(err)
		}
		defer srv.Exec(ctx, "SET GLOBAL read_only=OFF")
		if role, err := store.Role(ctx); err != nil || role != todo.RoleReader {
			t.Errorf("Role = %q, %v; want reader", role, err)
		}
		_, _, err := store.Create(ctx, newTodo(&ids, "x", todo.StatusTodo, clock), nil)
		wantCode(t, "create", err, todo.ENOTWRITER)
		_, err = store.Update(ctx, existing, 1)
		wantCode(t, "update", err, todo.ENOTWRITER)
		wantCode(t, "delete", store.Delete(ctx, existing.ID, 0), todo.ENOTWRITER)
		if got, err := store.Get(ctx, existing.ID); err != nil || got != existing {
			t.Errorf("Get on read-only = %+v, %v", got, err)
		}
	})

	t.Run("lock wait past the deadline is unavailable", func(t *testing.T) {
		existing := newTodo(&ids, "locked", todo.StatusTodo, clock)
		if _, _, err := store.Create(ctx, existing, nil); err != nil {
			t.Fatal(err)
		}
		admin, err := srv.Admin()
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		tx, err := admin.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Exec("SELECT id FROM switchyard.todos WHERE id = ? FOR UPDATE", existing.ID); err != nil {
			t.Fatal(err)
		}
		quick := mysqlstore.New(pool, 300*time.Millisecond)
		start := time.Now()
		_, err = quick.Update(ctx, existing, 1)
		wantCode(t, "update of a locked row", err, todo.EUNAVAILABLE)
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the update took %v; the deadline was 300ms", took)
		}
	})

	t.Run("stopped database is unavailable", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := srv.Restart(ctx); err != nil {
				t.Fatal(err)
			}
		}()
		_, err := store.Get(ctx, ids.New(clock))
		wantCode(t, "get", err, todo.EUNAVAILABLE)
		_, err = store.Role(ctx)
		wantCode(t, "role", err, todo.EUNAVAILABLE)
	})
}
