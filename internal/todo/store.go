package todo

import (
	"context"
	"time"
)

// Store is the port the Service needs from persistence. Implementations return *Error values with
// ENOTFOUND, EPRECONDITION, EIDEMPOTENCY, ENOTWRITER or EUNAVAILABLE codes where those apply.
type Store interface {
	// List returns up to q.Limit Todos with IDs greater than q.After, in ID order, optionally only
	// those with q.Status.
	List(ctx context.Context, q ListQuery) ([]Todo, error)
	// Get returns one Todo or ENOTFOUND.
	Get(ctx context.Context, id string) (Todo, error)
	// Create stores t. With an idempotency record it stores the record in the same transaction; when
	// the key already exists it stores nothing and returns the Todo first created under that key with
	// replayed=true, or EIDEMPOTENCY when the request hash differs. Expired keys are forgotten.
	Create(ctx context.Context, t Todo, idem *Idempotency) (created Todo, replayed bool, err error)
	// Update writes t's task, status and updatedAt when the stored version is expectedVersion, and
	// returns the stored result with the version increased by one; ENOTFOUND or EPRECONDITION otherwise.
	Update(ctx context.Context, t Todo, expectedVersion int64) (Todo, error)
	// Delete removes a Todo; with expectedVersion != 0 only at that version (EPRECONDITION otherwise:
	// a negative version is how a precondition no todo can meet is passed on).
	Delete(ctx context.Context, id string, expectedVersion int64) error
	// Role reports whether the database accepts writes.
	Role(ctx context.Context) (Role, error)
}

// ListQuery selects a page of Todos.
type ListQuery struct {
	After  string // exclusive lower bound on ID; "" for the first page
	Status Status // "" for every status
	Limit  int
}

// Idempotency is what a store keeps about an Idempotency-Key.
type Idempotency struct {
	KeyHash     [32]byte // SHA-256 of the key: fixed width, and the raw key never reaches storage
	RequestHash [32]byte
	ExpiresAt   time.Time
}
