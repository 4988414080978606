package schema

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// sweepBatch bounds one DELETE, so that a large backlog never holds locks for long.
const sweepBatch = 1000

// Sweep is what one run of ExpireIdempotencyKeys did.
type Sweep struct {
	Deleted int64 `json:"deleted"`
	// Skipped says why nothing was attempted: a read-only database (a reader region, whose rows
	// the writer's sweep removes through replication).
	Skipped string `json:"skipped,omitempty"`
}

// ExpireIdempotencyKeys deletes the idempotency records whose 24 hours are over, in batches,
// until none is left or ctx ends. Creates clear an expired record only when its key comes back;
// this sweep keeps the table from growing with keys that never do.
func ExpireIdempotencyKeys(ctx context.Context, db *sql.DB, now time.Time) (Sweep, error) {
	var readOnly bool
	if err := db.QueryRowContext(ctx, "SELECT @@global.read_only OR @@global.innodb_read_only").Scan(&readOnly); err != nil {
		// Through RDS Proxy, a region whose cluster is a secondary has no writer behind the
		// read/write endpoint, which then refuses every statement with this documented text.
		if strings.Contains(err.Error(), "The target group doesn't have any associated read/write instances") {
			return Sweep{Skipped: "RDS Proxy's read/write endpoint has no writer here (a reader region): the writer's sweep replicates"}, nil
		}
		return Sweep{}, fmt.Errorf("expire idempotency keys: read the database's role: %w", err)
	}
	if readOnly {
		return Sweep{Skipped: "the database is read-only here (a reader region): the writer's sweep replicates"}, nil
	}
	var sw Sweep
	for {
		res, err := db.ExecContext(ctx,
			"DELETE FROM idempotency_keys WHERE expires_at < ? ORDER BY expires_at LIMIT ?", now.UTC(), sweepBatch)
		if err != nil {
			return sw, fmt.Errorf("expire idempotency keys after %d deleted: %w", sw.Deleted, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return sw, err
		}
		sw.Deleted += n
		if n < sweepBatch {
			return sw, nil
		}
	}
}
