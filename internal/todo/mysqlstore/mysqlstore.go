// Package mysqlstore is the todo.Store on Aurora MySQL (MariaDB locally). Every statement is
// parameterised and runs under a deadline (internal/db.QueryContext); driver errors become todo error
// codes here, so that a read-only replica (MySQL errors 1290, 1836, 1792, 1036) or an RDS Proxy read/write
// endpoint without a writer is ENOTWRITER and an unreachable or slow database is EUNAVAILABLE.
//
// Endpoints (see routing.go): writes, and reads while this region has a writer, go to the read/write
// pool; once it says there is no writer, reads go to the read-only pool and writes fail fast for a
// short while before the read/write endpoint is asked again.
package mysqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"net"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/todo"
)

var _ todo.Store = (*Store)(nil)

// Store is a todo.Store on a MySQL-compatible database migrated by internal/schema.
type Store struct {
	db      *sql.DB
	timeout time.Duration
	now     func() time.Time
	route   routing
	// leaseHolder, when set, is the name this region holds the writer lease under: every write
	// transaction then commits only while the writer_lease row says this region holds it.
	leaseHolder string
}

// New returns a Store; each call to the database is bounded by timeout.
func New(pool *sql.DB, timeout time.Duration) *Store {
	return &Store{db: pool, timeout: timeout, now: time.Now}
}

// WithWriterLease makes every write transaction check, last before its commit and in the same
// transaction, that holder holds the writer lease and that its fence is still open (see
// internal/lease). A region that cannot renew its lease then stops acknowledging writes before the
// lease expires, even for clients that reach its database without going through the edge.
func (s *Store) WithWriterLease(holder string) *Store {
	s.leaseHolder = holder
	return s
}

// errFenceClosed marks a write refused by the lease fence: the database itself writes, so the
// refusal says nothing about the read/write endpoint and is not remembered as "no writer".
var errFenceClosed = errors.New("writer lease fence closed")

// checkLease is the write fence. The locking read sees the latest renewal rather than the
// transaction's snapshot, and keeps the renewer from closing the fence under a write about to
// commit; the margin between the fence and the lease's expiry covers the commit itself. It costs
// one primary-key read per write.
func (s *Store) checkLease(ctx context.Context, tx *sql.Tx) error {
	if s.leaseHolder == "" {
		return nil
	}
	var open bool
	err := tx.QueryRowContext(ctx, "SELECT fence_until > UTC_TIMESTAMP(6) FROM writer_lease WHERE id = 1 AND holder = ? LOCK IN SHARE MODE", s.leaseHolder).Scan(&open)
	switch {
	case errors.Is(err, sql.ErrNoRows), err == nil && !open:
		return todo.Wrap(todo.ENOTWRITER, errFenceClosed, "this region does not hold the writer lease now: another region may be the writer, or this one cannot reach a majority of the lease's grantors")
	case err != nil:
		return classify("check the writer lease", err)
	}
	return nil
}

// MySQL error numbers this store gives a meaning to.
const (
	errDupEntry           = 1062 // ER_DUP_ENTRY
	errOptionPrevents     = 1290 // ER_OPTION_PREVENTS_STATEMENT: --read-only
	errReadOnlyTx         = 1792 // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
	errInnodbReadOnly     = 1836 // ER_READ_ONLY_MODE: innodb_read_only (Aurora readers)
	errTableReadOnly      = 1036 // ER_OPEN_AS_READONLY: what MariaDB says under innodb_read_only
	errLockDeadlock       = 1213 // ER_LOCK_DEADLOCK
	errLockWaitTimeout    = 1205 // ER_LOCK_WAIT_TIMEOUT
	errAccessDenied       = 1045
	errTooManyConnections = 1040
	errProxyBorrowTimeout = 9501 // RDS Proxy: "Timed-out waiting to acquire database connection"
)

// classify turns a driver error into a todo error with a caller-safe message; the cause stays attached
// for the log.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var te *todo.Error
	if errors.As(err, &te) {
		return err
	}
	var me *mysql.MySQLError
	var ne net.Error
	switch {
	case errors.As(err, &me):
		switch {
		case isNoWriter(me):
			return todo.Wrap(todo.ENOTWRITER, err, "%s: the database in this region is read-only", op)
		}
		switch me.Number {
		case errLockWaitTimeout, errAccessDenied, errTooManyConnections, errProxyBorrowTimeout:
			return todo.Wrap(todo.EUNAVAILABLE, err, "%s: the database is not accepting work", op)
		case errLockDeadlock:
			// Still deadlocking after the store's own retries: the contention is passing, so the
			// client is told to retry (503), not that the service is broken.
			return todo.Wrap(todo.EUNAVAILABLE, err, "%s: the database kept rolling it back on deadlocks; retry", op)
		}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return todo.Wrap(todo.EUNAVAILABLE, err, "%s: the database did not answer in time", op)
	case errors.Is(err, driver.ErrBadConn), errors.Is(err, mysql.ErrInvalidConn), errors.As(err, &ne):
		return todo.Wrap(todo.EUNAVAILABLE, err, "%s: the database cannot be reached", op)
	}
	return todo.Wrap(todo.EINTERNAL, err, "%s", op)
}

func isMySQL(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

const columns = "id, task, status, created_at, updated_at, version"

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (todo.Todo, error) {
	var t todo.Todo
	var st string
	err := row.Scan(&t.ID, &t.Task, &st, &t.CreatedAt, &t.UpdatedAt, &t.Version)
	t.Status = todo.Status(st)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, err
}

// List implements todo.Store.
func (s *Store) List(ctx context.Context, q todo.ListQuery) (out []todo.Todo, err error) {
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	err = s.read(func(pool *sql.DB) error {
		out, err = list(ctx, pool, q)
		return err
	})
	return out, err
}

func list(ctx context.Context, pool *sql.DB, q todo.ListQuery) ([]todo.Todo, error) {
	var rows *sql.Rows
	var err error
	if q.Status == "" {
		rows, err = pool.QueryContext(ctx, "SELECT "+columns+" FROM todos WHERE id > ? ORDER BY id LIMIT ?", q.After, q.Limit)
	} else {
		rows, err = pool.QueryContext(ctx, "SELECT "+columns+" FROM todos WHERE status = ? AND id > ? ORDER BY id LIMIT ?", string(q.Status), q.After, q.Limit)
	}
	if err != nil {
		return nil, classify("list todos", err)
	}
	defer rows.Close()
	out := make([]todo.Todo, 0, q.Limit)
	for rows.Next() {
		t, err := scan(rows)
		if err != nil {
			return nil, classify("list todos", err)
		}
		out = append(out, t)
	}
	return out, classify("list todos", rows.Err())
}

// Get implements todo.Store.
func (s *Store) Get(ctx context.Context, id string) (t todo.Todo, err error) {
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	err = s.read(func(pool *sql.DB) error {
		t, err = scan(pool.QueryRowContext(ctx, "SELECT "+columns+" FROM todos WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
		}
		return classify("get todo", err)
	})
	return t, err
}

// createAttempts bounds retries after a deadlock (concurrent inserts of one key when the first
// transaction rolls back) or after an expired key was cleared.
const createAttempts = 3

// Create implements todo.Store.
func (s *Store) Create(ctx context.Context, t todo.Todo, idem *todo.Idempotency) (_ todo.Todo, _ bool, err error) {
	if err := s.writable(); err != nil {
		return todo.Todo{}, false, err
	}
	defer func() { err = s.observe(err) }()
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := s.insert(ctx, t, idem)
		switch {
		case err == nil:
			return t, false, nil
		case idem != nil && isMySQL(err, errDupEntry):
			first, replay, err := s.replay(ctx, idem)
			if replay || err != nil || attempt == createAttempts {
				return first, replay, err
			}
			// the key had expired and was cleared: insert again
		case isMySQL(err, errLockDeadlock) && attempt < createAttempts:
		default:
			return todo.Todo{}, false, classify("create todo", err)
		}
	}
}

func (s *Store) insert(ctx context.Context, t todo.Todo, idem *todo.Idempotency) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if idem != nil {
		// The key goes first: a concurrent request with the same key waits on this row and then sees
		// a duplicate, so exactly one todo is created.
		resp, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			"INSERT INTO idempotency_keys (key_hash, request_hash, response, expires_at) VALUES (?, ?, ?, ?)",
			idem.KeyHash[:], idem.RequestHash[:], resp, idem.ExpiresAt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO todos ("+columns+") VALUES (?, ?, ?, ?, ?, ?)",
		t.ID, t.Task, string(t.Status), t.CreatedAt, t.UpdatedAt, t.Version); err != nil {
		return err
	}
	if err := s.checkLease(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// replay answers a request whose key exists: the first response when the request matches, EIDEMPOTENCY
// when it does not. An expired record is deleted and replayed=false, err=nil tells the caller to retry.
func (s *Store) replay(ctx context.Context, idem *todo.Idempotency) (todo.Todo, bool, error) {
	var reqHash, resp []byte
	var expires time.Time
	err := s.db.QueryRowContext(ctx,
		"SELECT request_hash, response, expires_at FROM idempotency_keys WHERE key_hash = ?", idem.KeyHash[:]).
		Scan(&reqHash, &resp, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return todo.Todo{}, false, nil // the holder rolled back: try again
	}
	if err != nil {
		return todo.Todo{}, false, classify("read idempotency key", err)
	}
	if !expires.After(s.now()) {
		_, err := s.db.ExecContext(ctx, "DELETE FROM idempotency_keys WHERE key_hash = ? AND expires_at <= ?", idem.KeyHash[:], s.now().UTC())
		return todo.Todo{}, false, classify("clear expired idempotency key", err)
	}
	if string(reqHash) != string(idem.RequestHash[:]) {
		return todo.Todo{}, false, todo.Errorf(todo.EIDEMPOTENCY, "this Idempotency-Key was already used with a different request")
	}
	var first todo.Todo
	if err := json.Unmarshal(resp, &first); err != nil {
		return todo.Todo{}, false, classify("decode idempotent response", err)
	}
	return first, true, nil
}

// Update implements todo.Store.
func (s *Store) Update(ctx context.Context, t todo.Todo, expectedVersion int64) (updated todo.Todo, err error) {
	if err := s.writable(); err != nil {
		return todo.Todo{}, err
	}
	defer func() { err = s.observe(err) }()
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return todo.Todo{}, classify("update todo", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx,
		"UPDATE todos SET task = ?, status = ?, updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
		t.Task, string(t.Status), t.UpdatedAt, t.ID, expectedVersion)
	if err != nil {
		return todo.Todo{}, classify("update todo", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return todo.Todo{}, classify("update todo", err)
	} else if n == 0 {
		return todo.Todo{}, s.missOrConflict(ctx, tx, t.ID, expectedVersion)
	}
	// Read back inside the transaction: the row is locked, so this is exactly what was written.
	if updated, err = scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM todos WHERE id = ?", t.ID)); err != nil {
		return todo.Todo{}, classify("update todo", err)
	}
	if err := s.checkLease(ctx, tx); err != nil {
		return todo.Todo{}, classify("update todo", err)
	}
	return updated, classify("update todo", tx.Commit())
}

// missOrConflict explains a write that matched no row.
func (s *Store) missOrConflict(ctx context.Context, tx *sql.Tx, id string, expected int64) error {
	var v int64
	err := tx.QueryRowContext(ctx, "SELECT version FROM todos WHERE id = ?", id).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
	case err != nil:
		return classify("check todo version", err)
	}
	return todo.Errorf(todo.EPRECONDITION, "the todo is at version %d, not %d", v, expected)
}

// Delete implements todo.Store.
func (s *Store) Delete(ctx context.Context, id string, expectedVersion int64) (err error) {
	if err := s.writable(); err != nil {
		return err
	}
	defer func() { err = s.observe(err) }()
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	var res sql.Result
	if expectedVersion == 0 && s.leaseHolder == "" {
		res, err = s.db.ExecContext(ctx, "DELETE FROM todos WHERE id = ?", id)
		if err != nil {
			return classify("delete todo", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return classify("delete todo", err)
			}
			return todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
		}
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return classify("delete todo", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if expectedVersion == 0 {
		res, err = tx.ExecContext(ctx, "DELETE FROM todos WHERE id = ?", id)
	} else {
		res, err = tx.ExecContext(ctx, "DELETE FROM todos WHERE id = ? AND version = ?", id, expectedVersion)
	}
	if err != nil {
		return classify("delete todo", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return classify("delete todo", err)
	} else if n == 0 {
		if expectedVersion == 0 {
			return todo.Errorf(todo.ENOTFOUND, "no todo has id %s", id)
		}
		return s.missOrConflict(ctx, tx, id, expectedVersion)
	}
	if err := s.checkLease(ctx, tx); err != nil {
		return classify("delete todo", err)
	}
	return classify("delete todo", tx.Commit())
}

// Role implements todo.Store from what the endpoints say: the read/write endpoint's server when it
// has one (a writer accepts writes under both MySQL's and InnoDB's read-only switches; Aurora readers
// set innodb_read_only), and a reader when it has none but the read-only endpoint answers.
func (s *Store) Role(ctx context.Context) (todo.Role, error) {
	ctx, cancel := db.QueryContext(ctx, s.timeout)
	defer cancel()
	if s.route.reader == nil || !s.noWriter() {
		role, err := roleOf(ctx, s.db)
		if err = s.observe(err); s.route.reader == nil || todo.ErrorCode(err) != todo.ENOTWRITER {
			return role, err
		}
	}
	if _, err := roleOf(ctx, s.route.reader); err != nil {
		return "", err
	}
	return todo.RoleReader, nil
}

func roleOf(ctx context.Context, pool *sql.DB) (todo.Role, error) {
	var readOnly, innodbReadOnly bool
	if err := pool.QueryRowContext(ctx, "SELECT @@global.read_only, @@global.innodb_read_only").Scan(&readOnly, &innodbReadOnly); err != nil {
		return "", classify("read database role", err)
	}
	if readOnly || innodbReadOnly {
		return todo.RoleReader, nil
	}
	return todo.RoleWriter, nil
}
