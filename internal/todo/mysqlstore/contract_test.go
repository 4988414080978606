package mysqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/local/todostoretest"
	"github.com/switchyard-dr/switchyard/internal/todo"
)

// The todo.Store contract on the MySQL store; memstore runs the same one.
func TestStoreContract(t *testing.T) {
	_, pool, store := setup(t)
	todostoretest.Contract(t, func(t *testing.T) todo.Store {
		for _, q := range []string{"DELETE FROM todos", "DELETE FROM idempotency_keys"} {
			if _, err := pool.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		return store
	})
}

// A change refused by its precondition leaves nothing open behind it: many in a row (more than the
// pool holds connections) and the store still serves the next change at once.
func TestRefusedChangesReleaseTheirTransactions(t *testing.T) {
	_, _, store := setup(t)
	ctx := context.Background()
	var ids todo.IDGenerator
	td := newTodo(&ids, "contended", todo.StatusTodo, clock)
	if _, _, err := store.Create(ctx, td, nil); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		_, err := store.Update(ctx, td, 9)
		wantCode(t, fmt.Sprintf("stale update %d", i), err, todo.EPRECONDITION)
		wantCode(t, fmt.Sprintf("stale delete %d", i), store.Delete(ctx, td.ID, 9), todo.EPRECONDITION)
	}
	td.Task = "changed"
	if _, err := store.Update(ctx, td, 1); err != nil {
		t.Fatalf("update after refused changes: %v", err)
	}
	if err := store.Delete(ctx, td.ID, 2); err != nil {
		t.Fatalf("delete after refused changes: %v", err)
	}
}
