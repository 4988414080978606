// Package todostoretest is the todo.Store contract as a test any store runs: the MySQL store and the
// in-memory one the handler tests use must answer alike, or the handler tests pass on behaviour
// production does not have.
//
// Nothing deployed imports it.
package todostoretest

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

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

// Contract runs the contract on stores that fresh returns empty.
func Contract(t *testing.T, fresh func(*testing.T) todo.Store) {
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
		_, err := s.Get(ctx, td.ID)
		wantCode(t, "get after delete", err, todo.ENOTFOUND)
	})

	t.Run("create, get, update, delete", func(t *testing.T) {
		s := fresh(t)
		in := newTodo(&ids, "Ünïcødé 🚀 task", todo.StatusTodo, clock)
		created, replayed, err := s.Create(ctx, in, nil)
		if err != nil || replayed || created != in {
			t.Fatalf("Create = %+v, %v, %v; want %+v", created, replayed, err, in)
		}
		if got, err := s.Get(ctx, in.ID); err != nil || got != in {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, in)
		}
		change := in
		change.Task, change.Status, change.UpdatedAt = "changed", todo.StatusDone, clock.Add(time.Second)
		updated, err := s.Update(ctx, change, 1)
		want := change
		want.Version = 2
		if err != nil || updated != want {
			t.Fatalf("Update = %+v, %v; want %+v", updated, err, want)
		}
		if got, _ := s.Get(ctx, in.ID); got != want {
			t.Errorf("Get after Update = %+v, want %+v", got, want)
		}
		missing := newTodo(&ids, "missing", todo.StatusTodo, clock)
		_, err = s.Update(ctx, missing, 1)
		wantCode(t, "update of a missing todo", err, todo.ENOTFOUND)
		wantCode(t, "delete of a missing todo", s.Delete(ctx, missing.ID, 0), todo.ENOTFOUND)
		if err := s.Delete(ctx, in.ID, 2); err != nil {
			t.Fatalf("Delete at the current version: %v", err)
		}
		if items, _ := s.List(ctx, todo.ListQuery{Limit: 10}); len(items) != 0 {
			t.Errorf("List after Delete = %v, want nothing", items)
		}
	})

	t.Run("idempotency", func(t *testing.T) {
		s := fresh(t)
		idem := &todo.Idempotency{KeyHash: sha256.Sum256([]byte("key")), RequestHash: sha256.Sum256([]byte("a")), ExpiresAt: time.Now().Add(time.Hour)}
		first := newTodo(&ids, "first", todo.StatusTodo, clock)
		if _, replayed, err := s.Create(ctx, first, idem); err != nil || replayed {
			t.Fatalf("first Create: %v, replayed %v", err, replayed)
		}
		second := newTodo(&ids, "first", todo.StatusTodo, clock.Add(time.Second))
		got, replayed, err := s.Create(ctx, second, idem)
		if err != nil || !replayed || got != first {
			t.Errorf("replay = %+v, %v, %v; want %+v, true", got, replayed, err, first)
		}
		if _, err := s.Get(ctx, second.ID); todo.ErrorCode(err) != todo.ENOTFOUND {
			t.Errorf("the replayed request stored a second todo")
		}
		other := *idem
		other.RequestHash = sha256.Sum256([]byte("b"))
		_, _, err = s.Create(ctx, newTodo(&ids, "other", todo.StatusTodo, clock), &other)
		wantCode(t, "same key, different request", err, todo.EIDEMPOTENCY)

		expired := &todo.Idempotency{KeyHash: sha256.Sum256([]byte("old key")), RequestHash: idem.RequestHash, ExpiresAt: time.Now().Add(-time.Minute)}
		if _, _, err := s.Create(ctx, newTodo(&ids, "old", todo.StatusTodo, clock), expired); err != nil {
			t.Fatal(err)
		}
		renewed := *expired
		renewed.ExpiresAt = time.Now().Add(time.Hour)
		again := newTodo(&ids, "new", todo.StatusTodo, clock)
		got, replayed, err = s.Create(ctx, again, &renewed)
		if err != nil || replayed || got != again {
			t.Errorf("after expiry = %+v, %v, %v; want a new todo", got, replayed, err)
		}
	})
}
