package todo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/memstore"
)

// racyStore loses the race for the next `conflicts` updates, as when another writer changes the todo
// between the service's read and its write.
type racyStore struct {
	*memstore.Store
	conflicts int
	updates   int
}

func (s *racyStore) Update(ctx context.Context, t todo.Todo, expected int64) (todo.Todo, error) {
	s.updates++
	if s.conflicts > 0 {
		s.conflicts--
		return todo.Todo{}, todo.Errorf(todo.EPRECONDITION, "changed underneath")
	}
	return s.Store.Update(ctx, t, expected)
}

// A change without If-Match re-reads and tries again after losing a race, three times at most; a
// change with If-Match never does, since the caller's version is then the condition.
func TestUnconditionalChangesRetryALostRace(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name        string
		conflicts   int
		pre         todo.Precondition
		wantUpdates int
		wantCode    string
	}{
		{"no race", 0, todo.Precondition{}, 1, ""},
		{"three lost races", 3, todo.Precondition{}, 4, ""},
		{"four lost races", 4, todo.Precondition{}, 4, todo.EPRECONDITION},
		{"with If-Match, no retry", 1, todo.Precondition{Versions: []int64{1}}, 1, todo.EPRECONDITION},
		{"with two If-Match versions, no retry", 1, todo.Precondition{Versions: []int64{1, 2}}, 1, todo.EPRECONDITION},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &racyStore{Store: memstore.New(), conflicts: tt.conflicts}
			svc := todo.NewService(store, testCursorKey)
			created, _, err := svc.Create(ctx, todo.NewTodo{Task: "contended"}, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = svc.Replace(ctx, created.ID, todo.NewTodo{Task: "changed"}, tt.pre)
			if got := todo.ErrorCode(err); got != tt.wantCode {
				t.Errorf("Replace: code %q (%v), want %q", got, err, tt.wantCode)
			}
			if store.updates != tt.wantUpdates {
				t.Errorf("%d updates tried, want %d", store.updates, tt.wantUpdates)
			}
		})
	}
}

// The page that holds the last todo has no cursor, also when the todos fill it exactly.
func TestExactlyFullLastPageHasNoCursor(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	for range 4 {
		if _, _, err := svc.Create(ctx, todo.NewTodo{Task: "t"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	p, err := svc.List(ctx, todo.ListInput{Limit: 4})
	if err != nil || len(p.Items) != 4 || p.NextCursor != "" {
		t.Errorf("List(limit 4) of 4 todos = %d items, cursor %q, %v; want 4 and no cursor", len(p.Items), p.NextCursor, err)
	}
	if p, _ := svc.List(ctx, todo.ListInput{Limit: 3}); p.NextCursor == "" {
		t.Error("List(limit 3) of 4 todos has no cursor")
	}
}

// Idempotency-Key: 1 to 255 printable ASCII characters, '!' through '~'.
func TestIdempotencyKeyBounds(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, key string
		ok        bool
	}{
		{"255 characters", strings.Repeat("k", 255), true},
		{"256 characters", strings.Repeat("k", 256), false},
		{"lowest printable", "!", true},
		{"highest printable", "~", true},
		{"space", "a b", false},
		{"DEL", "a\x7f", false},
		{"control", "a\x1f", false},
		{"non-ASCII", "clé", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc, _ := newService(t)
			_, _, err := svc.Create(ctx, todo.NewTodo{Task: "t"}, tt.key)
			if (err == nil) != tt.ok {
				t.Errorf("Create with key %q: %v, want accepted %v", tt.key, err, tt.ok)
			}
		})
	}
}
