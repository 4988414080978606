package mysqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lease/leasedb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
)

func TestWritesNeedTheWriterLease(t *testing.T) {
	_, pool, plain := setup(t)
	store := mysqlstore.New(pool, 2*time.Second).WithWriterLease("us-east-1")
	fence := leasedb.New(pool, 2*time.Second)
	ctx := context.Background()
	var ids todo.IDGenerator
	count := func() int {
		var n int
		if err := pool.QueryRow("SELECT COUNT(*) FROM todos").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// writes tries every kind of write on rows written without the lease check, and when code is
	// set, wants each refused with it and the table unchanged.
	writes := func(t *testing.T, code string) {
		t.Helper()
		var rows []todo.Todo
		for range 3 {
			r := newTodo(&ids, "seeded", todo.StatusTodo, clock)
			if _, _, err := plain.Create(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, r)
		}
		before := count()
		_, _, err := store.Create(ctx, newTodo(&ids, "x", todo.StatusTodo, clock), nil)
		wantCode(t, "create", err, code)
		upd := rows[0]
		upd.Task = "changed"
		_, err = store.Update(ctx, upd, 1)
		wantCode(t, "update", err, code)
		wantCode(t, "versioned delete", store.Delete(ctx, rows[1].ID, 1), code)
		wantCode(t, "unversioned delete", store.Delete(ctx, rows[2].ID, 0), code)
		if code == "" {
			return
		}
		if count() != before {
			t.Errorf("refused writes changed the table: %d rows, was %d", count(), before)
		}
		if got, err := plain.Get(ctx, rows[0].ID); err != nil || got.Task != "seeded" {
			t.Errorf("refused update left %+v, %v", got, err)
		}
	}
	t.Run("closed from the start", func(t *testing.T) { writes(t, todo.ENOTWRITER) })
	if err := fence.Fence(ctx, "us-east-1", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Run("open while held", func(t *testing.T) { writes(t, "") })
	if err := fence.Fence(ctx, "us-west-2", 2, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Run("held by the other region", func(t *testing.T) { writes(t, todo.ENOTWRITER) })
	if err := fence.Fence(ctx, "us-east-1", 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Run("an older epoch cannot reopen it", func(t *testing.T) { writes(t, todo.ENOTWRITER) })
	if err := fence.Fence(ctx, "us-east-1", 3, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Run("open again at a newer epoch", func(t *testing.T) { writes(t, "") })
	time.Sleep(400 * time.Millisecond)
	t.Run("expired", func(t *testing.T) { writes(t, todo.ENOTWRITER) })
	if err := fence.Fence(ctx, "us-east-1", 3, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := fence.Unfence(ctx); err != nil {
		t.Fatal(err)
	}
	t.Run("closed by the renewer", func(t *testing.T) { writes(t, todo.ENOTWRITER) })
	hb, err := fence.LastHeartbeat(ctx)
	if err != nil || hb.Holder != "us-east-1" || hb.Epoch != 3 || time.Since(hb.At) > time.Minute || time.Since(hb.At) < 0 {
		t.Errorf("LastHeartbeat = %+v, %v; want us-east-1 at epoch 3, stamped just now in UTC", hb, err)
	}
}

// BenchmarkCreate measures what the lease check costs a write: one primary-key read inside the
// write transaction.
func BenchmarkCreate(b *testing.B) {
	_, dsn := mariadbtest.App(b)
	pool := open(b, dsn, 2*time.Second)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	if err := leasedb.New(pool, time.Second).Fence(ctx, "us-east-1", 1, time.Hour); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		store *mysqlstore.Store
	}{
		{"without lease check", mysqlstore.New(pool, 2*time.Second)},
		{"with lease check", mysqlstore.New(pool, 2*time.Second).WithWriterLease("us-east-1")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ids todo.IDGenerator
			for b.Loop() {
				if _, _, err := bc.store.Create(ctx, newTodo(&ids, "bench", todo.StatusTodo, clock), nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
