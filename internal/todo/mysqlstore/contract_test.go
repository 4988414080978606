package mysqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
)

// The todo.Store contract, checked against the MySQL store and the in-memory one the handler tests
// use: where they disagree, the handler tests would pass on behaviour production does not have.

func TestStoreContractMariaDB(t *testing.T) {
	_, pool, store := setup(t)
	storeContract(t, func(t *testing.T) todo.Store {
		for _, q := range []string{"DELETE FROM todos", "DELETE FROM idempotency_keys"} {
			if _, err := pool.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		return store
	}, pool)
}

func TestStoreContractInMemory(t *testing.T) {
	storeContract(t, func(*testing.T) todo.Store { return memstore.New() }, nil)
}

// storeContract runs the contract on fresh (empty) stores; pool, when not nil, is the database behind
// them, used to check that nothing is left over.
func storeContract(t *testing.T, fresh func(*testing.T) todo.Store, pool *sql.DB) {
	ctx := context.Background()
	var ids todo.IDGenerator

	// seven todos, every third one done
	fill := func(t *testing.T, s todo.Store) (all, done []string) {
		t.Helper()
		for i := range 7 {
			st := todo.StatusWIP
			if i%3 == 0 {
				st = todo.StatusDone
			}
			td := newTodo(&ids, fmt.Sprintf("task %d", i), st, clock.Add(time.Duration(i)*time.Millisecond))
			if _, _, err := s.Create(ctx, td, nil); err != nil {
				t.Fatal(err)
			}
			all = append(all, td.ID)
			if st == todo.StatusDone {
				done = append(done, td.ID)
			}
		}
		return all, done
	}
	listIDs := func(t *testing.T, s todo.Store, q todo.ListQuery) []string {
		t.Helper()
		items, err := s.List(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, it := range items {
			out = append(out, it.ID)
		}
		return out
	}

	// The bound is exclusive: the item a page ended on never starts the next page.
	t.Run("list after each position", func(t *testing.T) {
		s := fresh(t)
		all, done := fill(t, s)
		for i := -1; i < len(all); i++ {
			after := ""
			if i >= 0 {
				after = all[i]
			}
			for _, limit := range []int{1, 2, 3, 10} {
				want := all[i+1 : min(len(all), i+1+limit)]
				if got := listIDs(t, s, todo.ListQuery{After: after, Limit: limit}); !slices.Equal(got, want) {
					t.Errorf("List(after item %d, limit %d) = %v, want %v", i, limit, got, want)
				}
			}
			var wantDone []string
			for _, id := range done {
				if id > after {
					wantDone = append(wantDone, id)
				}
			}
			if got := listIDs(t, s, todo.ListQuery{After: after, Limit: 10, Status: todo.StatusDone}); !slices.Equal(got, wantDone) {
				t.Errorf("List(after item %d, done) = %v, want %v", i, got, wantDone)
			}
		}
	})

	// Through the service: every page size gives every todo exactly once, in order.
	t.Run("pages cover everything once", func(t *testing.T) {
		s := fresh(t)
		all, done := fill(t, s)
		svc := todo.NewService(s, []byte("store contract test cursor key!!"))
		for _, status := range []string{"", "done"} {
			want := all
			if status == "done" {
				want = done
			}
			for limit := 1; limit <= len(all)+1; limit++ {
				var got []string
				cursor := ""
				pages := 0
				for ; ; pages++ {
					if pages > len(all)+1 {
						t.Fatalf("status %q, limit %d: pagination does not end", status, limit)
					}
					p, err := svc.List(ctx, todo.ListInput{Limit: limit, Cursor: cursor, Status: status})
					if err != nil {
						t.Fatal(err)
					}
					for _, it := range p.Items {
						got = append(got, it.ID)
					}
					if cursor = p.NextCursor; cursor == "" {
						break
					}
				}
				// The page that holds the last todo says so: no cursor to an empty page.
				if wantPages := max(1, (len(want)+limit-1)/limit); pages+1 != wantPages {
					t.Errorf("status %q, pages of %d: %d pages, want %d", status, limit, pages+1, wantPages)
				}
				if !slices.Equal(got, want) {
					t.Errorf("status %q, pages of %d: %v, want %v", status, limit, got, want)
				}
			}
		}
	})

	// A precondition no todo can meet (the handler's answer to an If-Match it did not issue) fails;
	// only 0 means unconditional.
	t.Run("versions that cannot match", func(t *testing.T) {
		s := fresh(t)
		td := newTodo(&ids, "guarded", todo.StatusTodo, clock)
		if _, _, err := s.Create(ctx, td, nil); err != nil {
			t.Fatal(err)
		}
		for _, v := range []int64{-1, 2, 7} {
			wantCode(t, fmt.Sprintf("delete at version %d", v), s.Delete(ctx, td.ID, v), todo.EPRECONDITION)
			_, err := s.Update(ctx, td, v)
			wantCode(t, fmt.Sprintf("update at version %d", v), err, todo.EPRECONDITION)
		}
		if got, err := s.Get(ctx, td.ID); err != nil || got != td {
			t.Fatalf("after refused changes: %+v, %v; want it unchanged", got, err)
		}
		wantCode(t, "delete of a missing todo at version -1", s.Delete(ctx, ids.New(clock), -1), todo.ENOTFOUND)
		if err := s.Delete(ctx, td.ID, 0); err != nil {
			t.Errorf("unconditional delete: %v", err)
		}
		if pool != nil {
			var n int
			pool.QueryRow("SELECT COUNT(*) FROM todos").Scan(&n)
			if n != 0 {
				t.Errorf("%d rows left, want 0", n)
			}
		}
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
