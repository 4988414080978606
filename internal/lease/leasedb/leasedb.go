// Package leasedb is the writer lease's side in this region's database: the writer_lease row
// (migration 0003) that the renewer opens and closes as the API's write fence, and whose
// heartbeat replicates to the standby.
package leasedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-dr/switchyard/internal/lease"
)

// DB is the lease's database side.
type DB struct {
	pool    *sql.DB
	timeout time.Duration
	// reader is the proxy's read-only endpoint, nil when there is none. In a standby region the
	// read/write endpoint has no writer behind it (RDS Proxy refuses), so the role and the
	// replicated heartbeat are read here instead.
	reader *sql.DB
}

var _ lease.Database = (*DB)(nil)

// New returns the database side on pool; each statement is bounded by timeout.
func New(pool *sql.DB, timeout time.Duration) *DB { return &DB{pool: pool, timeout: timeout} }

// WithReader adds the read-only endpoint's pool (nil: none), for a standby whose read/write
// endpoint refuses.
func (d *DB) WithReader(reader *sql.DB) *DB {
	d.reader = reader
	return d
}

// Writable implements lease.Database: a writer accepts writes under both MySQL's and InnoDB's
// read-only switches (Aurora readers set innodb_read_only).
func (d *DB) Writable(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	const role = "SELECT @@global.read_only, @@global.innodb_read_only"
	var ro, innodbRO bool
	err := d.pool.QueryRowContext(ctx, role).Scan(&ro, &innodbRO)
	if err != nil && d.reader != nil {
		// The read/write endpoint may refuse because this region has no writer: the read-only
		// endpoint then says so for certain. A database it cannot read either stays an error.
		if d.reader.QueryRowContext(ctx, role).Scan(&ro, &innodbRO) == nil && (ro || innodbRO) {
			return false, nil
		}
	}
	if err != nil {
		return false, fmt.Errorf("read the database's role: %w", err)
	}
	return !ro && !innodbRO, nil
}

// Fence implements lease.Database. The fence's end is set by the database's clock (its time now
// plus what the lease leaves), so that the writer's fence does not depend on the renewer's clock
// agreeing with the database's; only their rates must. The epoch condition keeps a slow renewal of
// an older epoch from reopening a fence its successor closed.
func (d *DB) Fence(ctx context.Context, holder string, epoch uint64, dur time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	_, err := d.pool.ExecContext(ctx,
		"UPDATE writer_lease SET holder = ?, epoch = ?, fence_until = UTC_TIMESTAMP(6) + INTERVAL ? MICROSECOND, heartbeat_at = UTC_TIMESTAMP(6) WHERE id = 1 AND epoch <= ?",
		holder, epoch, dur.Microseconds(), epoch)
	if err != nil {
		return fmt.Errorf("open the write fence for %s at epoch %d: %w", holder, epoch, err)
	}
	return nil
}

// Unfence implements lease.Database.
func (d *DB) Unfence(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	if _, err := d.pool.ExecContext(ctx, "UPDATE writer_lease SET fence_until = LEAST(fence_until, UTC_TIMESTAMP(6)) WHERE id = 1"); err != nil {
		return fmt.Errorf("close the write fence: %w", err)
	}
	return nil
}

// ErrNoLeaseRow says migration 0003 has not run on this database.
var ErrNoLeaseRow = errors.New("the writer_lease row is missing: run the migrate function")

// LastHeartbeat implements lease.Database.
func (d *DB) LastHeartbeat(ctx context.Context) (lease.Heartbeat, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	const beat = "SELECT holder, epoch, heartbeat_at FROM writer_lease WHERE id = 1"
	var h lease.Heartbeat
	err := d.pool.QueryRowContext(ctx, beat).Scan(&h.Holder, &h.Epoch, &h.At)
	if err != nil && !errors.Is(err, sql.ErrNoRows) && d.reader != nil {
		err = d.reader.QueryRowContext(ctx, beat).Scan(&h.Holder, &h.Epoch, &h.At)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return h, ErrNoLeaseRow
	}
	if err != nil {
		return h, fmt.Errorf("read the replicated heartbeat: %w", err)
	}
	h.At = h.At.UTC()
	return h, nil
}
