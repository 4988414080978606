package mysqlstore

import (
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

// NoWriterMemory is how long the store believes "no writer here" once an endpoint said so. Within
// it, writes get ENOTWRITER at once and reads go straight to the read-only endpoint; after it, the
// read/write endpoint is asked again. A standby region thus costs one fast refusal per NoWriterMemory
// and warm process instead of a round trip on every request, and its writes work again within
// NoWriterMemory of a promotion: short enough that the failover's verification, which retries a
// canary write, never sees a promoted region refuse it from memory.
const NoWriterMemory = 250 * time.Millisecond

// noWriterMessage is the text of RDS Proxy's refusal on a read/write endpoint whose target cluster
// has no writer (a secondary cluster of a global database). AWS documents the message, not an error
// number, so the message is what is matched.
const noWriterMessage = "The target group doesn't have any associated read/write instances"

// routing is the store's choice between the read/write and the read-only pool.
type routing struct {
	reader        *sql.DB      // nil: every statement goes to the read/write pool
	noWriterUntil atomic.Int64 // Unix nanoseconds; "no writer" is believed until then
}

// WithReadOnly makes the store read through pool (the proxy's read-only endpoint) while the
// read/write endpoint has no writer. A nil pool leaves the store on the read/write pool alone.
func (s *Store) WithReadOnly(pool *sql.DB) *Store {
	s.route.reader = pool
	return s
}

// isNoWriter reports whether a server error says that this region's database takes no writes.
func isNoWriter(me *mysql.MySQLError) bool {
	switch me.Number {
	case errOptionPrevents, errReadOnlyTx, errInnodbReadOnly, errTableReadOnly:
		return true
	}
	return strings.Contains(me.Message, noWriterMessage)
}

func (s *Store) noWriter() bool { return s.now().UnixNano() < s.route.noWriterUntil.Load() }

// observe remembers a "no writer" answer from the database or the proxy (not a closed lease fence,
// which one indexed read checks again) and returns err unchanged.
func (s *Store) observe(err error) error {
	if todo.ErrorCode(err) == todo.ENOTWRITER && !errors.Is(err, errFenceClosed) {
		s.route.noWriterUntil.Store(s.now().Add(NoWriterMemory).UnixNano())
	}
	return err
}

// writable refuses a write at once while "no writer" is remembered.
func (s *Store) writable() error {
	if s.noWriter() {
		return todo.Errorf(todo.ENOTWRITER, "this region's database had no writer moments ago; asking again within %s", NoWriterMemory)
	}
	return nil
}

// read runs fn on the read/write pool (read-your-writes in the writer region), or on the read-only
// pool when the read/write endpoint has no writer.
func (s *Store) read(fn func(pool *sql.DB) error) error {
	if s.route.reader == nil {
		return fn(s.db)
	}
	if !s.noWriter() {
		err := s.observe(fn(s.db))
		if todo.ErrorCode(err) != todo.ENOTWRITER {
			return err
		}
	}
	return fn(s.route.reader)
}
