package schema_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
)

func TestExpireIdempotencyKeys(t *testing.T) {
	srv, dsn := mariadbtest.App(t)
	db := open(t, dsn)
	ctx := context.Background()
	if _, err := schema.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	// More expired records than one batch, and a few that still count.
	var rows []string
	for i := range 1005 {
		expires := now.Add(-time.Duration(i+1) * time.Minute)
		if i >= 1002 {
			expires = now.Add(time.Hour)
		}
		rows = append(rows, fmt.Sprintf("(UNHEX(SHA2('%d', 256)), UNHEX(SHA2('r', 256)), '{}', '%s')", i, expires.Format("2006-01-02 15:04:05")))
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO idempotency_keys (key_hash, request_hash, response, expires_at) VALUES "+strings.Join(rows, ",")); err != nil {
		t.Fatal(err)
	}
	sw, err := schema.ExpireIdempotencyKeys(ctx, db, now)
	if err != nil || sw.Deleted != 1002 || sw.Skipped != "" {
		t.Fatalf("sweep: got %+v, %v; want 1002 deleted", sw, err)
	}
	var left int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM idempotency_keys").Scan(&left); err != nil || left != 3 {
		t.Fatalf("left: %d (%v), want the 3 unexpired records", left, err)
	}

	// A reader region does not try: its rows go when the writer's deletes replicate.
	if err := srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	sw, err = schema.ExpireIdempotencyKeys(ctx, db, now.Add(48*time.Hour))
	if err != nil || sw.Deleted != 0 || !strings.Contains(sw.Skipped, "read-only") {
		t.Errorf("on a read-only database: got %+v, %v; want skipped, nothing deleted", sw, err)
	}
}
