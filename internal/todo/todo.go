package todo

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxTaskLength is the longest task, in characters after trimming surrounding white space.
const MaxTaskLength = 500

// Status is where a Todo stands.
type Status string

// The statuses a Todo can have.
const (
	StatusTodo Status = "todo"
	StatusWIP  Status = "wip"
	StatusDone Status = "done"
)

// Todo is one item of the list. Version starts at 1 and grows by one with every change; it is the
// basis of optimistic concurrency (the HTTP ETag).
type Todo struct {
	ID        string    `json:"id"`
	Task      string    `json:"task"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Version   int64     `json:"version"`
}

// ParseTask validates a task and returns it trimmed.
func ParseTask(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", Invalid("task", "task must be valid UTF-8")
	}
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", Invalid("task", "task must not be empty")
	case n > MaxTaskLength:
		return "", Invalid("task", "task has %d characters; the limit is %d", n, MaxTaskLength)
	}
	return s, nil
}

// ParseStatus validates a status.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case StatusTodo, StatusWIP, StatusDone:
		return st, nil
	}
	return "", Invalid("status", "status must be one of todo, wip, done")
}

// Role says whether the database this region uses accepts writes.
type Role string

// The roles a region's database can have.
const (
	RoleWriter Role = "writer"
	RoleReader Role = "reader"
)

// timestamp is the precision the store keeps (DATETIME(6)), so that a Todo read back equals the one
// written and an idempotent replay is byte-identical to the first response.
func timestamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
