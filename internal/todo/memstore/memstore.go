// Package memstore is an in-memory todo.Store for handler tests and benchmarks, where a database would
// measure the database instead of the code under test. It keeps the same contract as mysqlstore.
package memstore

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

var _ todo.Store = (*Store)(nil)

// Store keeps Todos in memory. The zero value is not usable: call New.
type Store struct {
	mu    sync.Mutex
	todos map[string]todo.Todo
	ids   []string // sorted: IDs are time-ordered, so this is creation order
	keys  map[[32]byte]record
	role  todo.Role
	now   func() time.Time
}

type record struct {
	requestHash [32]byte
	first       todo.Todo
	expiresAt   time.Time
}

// New returns an empty writer store.
func New() *Store {
	return &Store{todos: map[string]todo.Todo{}, keys: map[[32]byte]record{}, role: todo.RoleWriter, now: time.Now}
}

// SetRole makes the store behave as a writer or as a read-only replica (writes fail with ENOTWRITER).
func (s *Store) SetRole(r todo.Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.role = r
}

func (s *Store) writable() error {
	if s.role != todo.RoleWriter {
		return todo.Errorf(todo.ENOTWRITER, "the database is read-only")
	}
	return nil
}

// List implements todo.Store.
func (s *Store) List(ctx context.Context, q todo.ListQuery) ([]todo.Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.SearchStrings(s.ids, q.After)
	if i < len(s.ids) && s.ids[i] == q.After {
		i++
	}
	var out []todo.Todo
	for ; i < len(s.ids) && len(out) < q.Limit; i++ {
		t := s.todos[s.ids[i]]
		if q.Status == "" || t.Status == q.Status {
			out = append(out, t)
		}
	}
	return out, nil
}

// Get implements todo.Store.
func (s *Store) Get(ctx context.Context, id string) (todo.Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.todos[id]
	if !ok {
		return todo.Todo{}, todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
	}
	return t, nil
}

// Create implements todo.Store.
func (s *Store) Create(ctx context.Context, t todo.Todo, idem *todo.Idempotency) (todo.Todo, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return todo.Todo{}, false, err
	}
	if idem != nil {
		if r, ok := s.keys[idem.KeyHash]; ok && r.expiresAt.After(s.now()) {
			if r.requestHash != idem.RequestHash {
				return todo.Todo{}, false, todo.Errorf(todo.EIDEMPOTENCY, "this Idempotency-Key was used with a different request")
			}
			return r.first, true, nil
		}
		s.keys[idem.KeyHash] = record{requestHash: idem.RequestHash, first: t, expiresAt: idem.ExpiresAt}
	}
	s.todos[t.ID] = t
	i := sort.SearchStrings(s.ids, t.ID)
	s.ids = append(s.ids, "")
	copy(s.ids[i+1:], s.ids[i:])
	s.ids[i] = t.ID
	return t, false, nil
}

// Update implements todo.Store.
func (s *Store) Update(ctx context.Context, t todo.Todo, expectedVersion int64) (todo.Todo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return todo.Todo{}, err
	}
	cur, ok := s.todos[t.ID]
	if !ok {
		return todo.Todo{}, todo.Errorf(todo.ENOTFOUND, "no todo has id %s", t.ID)
	}
	if cur.Version != expectedVersion {
		return todo.Todo{}, todo.Errorf(todo.EPRECONDITION, "the todo is at version %d, not %d", cur.Version, expectedVersion)
	}
	cur.Task, cur.Status, cur.UpdatedAt, cur.Version = t.Task, t.Status, t.UpdatedAt, cur.Version+1
	s.todos[t.ID] = cur
	return cur, nil
}

// Delete implements todo.Store.
func (s *Store) Delete(ctx context.Context, id string, expectedVersion int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return err
	}
	cur, ok := s.todos[id]
	if !ok {
		return todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
	}
	// Any expected version but 0 is a condition, as in mysqlstore: the handler turns an If-Match tag
	// it did not issue into a version no todo has, which must fail, not delete unconditionally.
	if expectedVersion != 0 && cur.Version != expectedVersion {
		return todo.Errorf(todo.EPRECONDITION, "the todo is at version %d, not %d", cur.Version, expectedVersion)
	}
	delete(s.todos, id)
	i := sort.SearchStrings(s.ids, id)
	s.ids = append(s.ids[:i], s.ids[i+1:]...)
	return nil
}

// Role implements todo.Store.
func (s *Store) Role(ctx context.Context) (todo.Role, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role, nil
}
