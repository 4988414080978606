package todo

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Limits of List.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// IdempotencyTTL is how long an Idempotency-Key is remembered.
const IdempotencyTTL = 24 * time.Hour

// maxKeyLength bounds Idempotency-Key values (printable ASCII).
const maxKeyLength = 255

// Service applies the domain rules on top of a Store.
type Service struct {
	store     Store
	now       func() time.Time
	ids       *IDGenerator
	cursorKey []byte
}

// NewService returns a Service over store using the system clock. cursorKey authenticates the
// pagination cursors it hands out (see encodeCursor).
func NewService(store Store, cursorKey []byte) *Service {
	return &Service{store: store, now: time.Now, ids: &IDGenerator{}, cursorKey: cursorKey}
}

// NewTodo is the input of Create and Replace: a task and an optional status (default todo).
type NewTodo struct {
	Task   string
	Status Status
}

// Patch is a JSON merge patch of a Todo: nil fields stay as they are.
type Patch struct {
	Task   *string
	Status *Status
}

// Precondition restricts a change to the versions the caller has seen (If-Match). A nil or empty
// Versions means unconditional.
type Precondition struct {
	Versions []int64
}

// Page is one page of List.
type Page struct {
	Items      []Todo
	NextCursor string // "" on the last page
}

// ListInput is a List request as the caller gave it.
type ListInput struct {
	Limit  int    // 0 means DefaultPageSize
	Cursor string // opaque, from a previous Page
	Status string // "" for every status
}

// List returns a page of Todos in creation order.
func (s *Service) List(ctx context.Context, in ListInput) (Page, error) {
	q := ListQuery{Limit: in.Limit}
	switch {
	case in.Limit == 0:
		q.Limit = DefaultPageSize
	case in.Limit < 1 || in.Limit > MaxPageSize:
		return Page{}, Invalid("limit", "limit must be between 1 and %d", MaxPageSize)
	}
	if in.Status != "" {
		st, err := ParseStatus(in.Status)
		if err != nil {
			return Page{}, err
		}
		q.Status = st
	}
	if in.Cursor != "" {
		after, err := s.decodeCursor(in.Cursor, q.Status)
		if err != nil {
			return Page{}, err
		}
		q.After = after
	}
	want := q.Limit
	q.Limit++ // one more tells whether another page exists
	items, err := s.store.List(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Items: items}
	if len(items) > want {
		page.Items = items[:want]
		page.NextCursor = s.encodeCursor(page.Items[want-1].ID, q.Status)
	}
	return page, nil
}

// A cursor is the last ID of the page followed by a MAC over that ID and the status filter, in
// URL-safe base64 without padding. The MAC means the API only ever resumes from a position it handed
// out, for the query it handed it out for: a made-up or edited cursor is refused instead of being
// read as an arbitrary position.
const (
	cursorMACBytes = 16 // HMAC-SHA256 truncated: 128 bits are beyond guessing
	cursorBytes    = 16 + cursorMACBytes
)

// cursorEncoding refuses non-zero padding bits, so each cursor has exactly one spelling.
var cursorEncoding = base64.RawURLEncoding.Strict()

func (s *Service) encodeCursor(id string, st Status) string {
	b, err := ParseID(id)
	if err != nil {
		return ""
	}
	return cursorEncoding.EncodeToString(append(b[:], s.cursorMAC(b, st)...))
}

func (s *Service) decodeCursor(c string, st Status) (string, error) {
	b, err := cursorEncoding.DecodeString(c)
	if err != nil || len(b) != cursorBytes || !hmac.Equal(b[16:], s.cursorMAC([16]byte(b[:16]), st)) {
		return "", Invalid("cursor", "cursor is not one this API returned for this query; start again without a cursor")
	}
	return formatUUID([16]byte(b[:16])), nil
}

func (s *Service) cursorMAC(id [16]byte, st Status) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte("switchyard todo cursor v1\x00"))
	m.Write([]byte(st))
	m.Write([]byte{0})
	m.Write(id[:])
	return m.Sum(nil)[:cursorMACBytes]
}

// Get returns one Todo.
func (s *Service) Get(ctx context.Context, id string) (Todo, error) {
	if _, err := ParseID(id); err != nil {
		return Todo{}, err
	}
	return s.store.Get(ctx, id)
}

// Create validates in and stores a new Todo. A non-empty idempotencyKey makes the call safe to repeat
// for 24 h: the same key with the same input returns the first Todo (replayed=true), the same key with
// other input is EIDEMPOTENCY.
func (s *Service) Create(ctx context.Context, in NewTodo, idempotencyKey string) (Todo, bool, error) {
	t, err := validNew(in)
	if err != nil {
		return Todo{}, false, err
	}
	now := timestamp(s.now())
	t.ID = s.ids.New(now)
	t.CreatedAt, t.UpdatedAt, t.Version = now, now, 1

	var idem *Idempotency
	if idempotencyKey != "" {
		if err := validKey(idempotencyKey); err != nil {
			return Todo{}, false, err
		}
		idem = &Idempotency{
			KeyHash:     sha256.Sum256([]byte(idempotencyKey)),
			RequestHash: requestHash(t.Task, t.Status),
			ExpiresAt:   now.Add(IdempotencyTTL),
		}
	}
	return s.store.Create(ctx, t, idem)
}

// requestHash identifies a create request by its validated content, so that formatting differences
// (white space, key order) in the JSON body do not count as a different request.
func requestHash(task string, st Status) [32]byte {
	h := sha256.New()
	h.Write([]byte("create\x00"))
	h.Write([]byte(task))
	h.Write([]byte{0})
	h.Write([]byte(st))
	return [32]byte(h.Sum(nil))
}

func validKey(k string) error {
	if len(k) > maxKeyLength {
		return Invalid("Idempotency-Key", "Idempotency-Key is longer than %d characters", maxKeyLength)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return Invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

func validNew(in NewTodo) (Todo, error) {
	task, err := ParseTask(in.Task)
	if err != nil {
		return Todo{}, err
	}
	st := in.Status
	if st == "" {
		st = StatusTodo
	} else if st, err = ParseStatus(string(st)); err != nil {
		return Todo{}, err
	}
	return Todo{Task: task, Status: st}, nil
}

// Replace sets a Todo's task and status (status defaults to todo, as in Create).
func (s *Service) Replace(ctx context.Context, id string, in NewTodo, pre Precondition) (Todo, error) {
	t, err := validNew(in)
	if err != nil {
		return Todo{}, err
	}
	return s.change(ctx, id, pre, func(cur *Todo) { cur.Task, cur.Status = t.Task, t.Status })
}

// Patch changes the fields present in p.
func (s *Service) Patch(ctx context.Context, id string, p Patch, pre Precondition) (Todo, error) {
	var task string
	var st Status
	var err error
	if p.Task != nil {
		if task, err = ParseTask(*p.Task); err != nil {
			return Todo{}, err
		}
	}
	if p.Status != nil {
		if st, err = ParseStatus(string(*p.Status)); err != nil {
			return Todo{}, err
		}
	}
	return s.change(ctx, id, pre, func(cur *Todo) {
		if p.Task != nil {
			cur.Task = task
		}
		if p.Status != nil {
			cur.Status = st
		}
	})
}

// unconditionalRetries bounds how often a change without If-Match re-reads after losing a race.
const unconditionalRetries = 3

// change reads the current Todo, applies edit and writes it back only if nobody changed it in between.
// With a single If-Match version the check is the write itself, so concurrent writers holding the same
// ETag get exactly one success.
func (s *Service) change(ctx context.Context, id string, pre Precondition, edit func(*Todo)) (Todo, error) {
	if _, err := ParseID(id); err != nil {
		return Todo{}, err
	}
	for attempt := 0; ; attempt++ {
		cur, err := s.store.Get(ctx, id)
		if err != nil {
			return Todo{}, err
		}
		if len(pre.Versions) > 0 && !pre.matches(cur.Version) {
			return Todo{}, Errorf(EPRECONDITION, "the todo is at version %d, not the one in If-Match", cur.Version)
		}
		expected := cur.Version
		if len(pre.Versions) == 1 {
			expected = pre.Versions[0]
		}
		edit(&cur)
		cur.UpdatedAt = timestamp(s.now())
		updated, err := s.store.Update(ctx, cur, expected)
		if ErrorCode(err) == EPRECONDITION && len(pre.Versions) == 0 && attempt < unconditionalRetries {
			continue
		}
		return updated, err
	}
}

func (p Precondition) matches(v int64) bool {
	for _, w := range p.Versions {
		if w == v {
			return true
		}
	}
	return false
}

// Delete removes a Todo, honouring If-Match.
func (s *Service) Delete(ctx context.Context, id string, pre Precondition) error {
	if _, err := ParseID(id); err != nil {
		return err
	}
	switch len(pre.Versions) {
	case 0:
		return s.store.Delete(ctx, id, 0)
	case 1:
		return s.store.Delete(ctx, id, pre.Versions[0])
	}
	cur, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if !pre.matches(cur.Version) {
		return Errorf(EPRECONDITION, "the todo is at version %d, not the one in If-Match", cur.Version)
	}
	return s.store.Delete(ctx, id, cur.Version)
}

// Role reports whether this region's database accepts writes.
func (s *Service) Role(ctx context.Context) (Role, error) { return s.store.Role(ctx) }
