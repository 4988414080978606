package leasedb_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/db"
	"github.com/switchyard-dr/switchyard/internal/lease/leasedb"
	"github.com/switchyard-dr/switchyard/internal/local/mariadb/mariadbtest"
	"github.com/switchyard-dr/switchyard/internal/schema"
)

// The renewer's view of the database: writable or not by both read-only switches, and an error —
// not "read-only" — when the server is gone, so that the lease runs out.
func TestWritable(t *testing.T) {
	srv, dsn := mariadbtest.App(t)
	ctx := context.Background()
	pool, err := db.Open(ctx, config.DB{Auth: config.DBAuthDSN, DSN: dsn, QueryTimeout: time.Second}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := schema.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	d := leasedb.New(pool, time.Second)
	if ok, err := d.Writable(ctx); !ok || err != nil {
		t.Fatalf("Writable on the writer = %v, %v", ok, err)
	}
	if err := srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Writable(ctx); ok || err != nil {
		t.Fatalf("Writable on a read-only server = %v, %v; want false", ok, err)
	}
	// A read-only server (a replica) refuses the renewer's fence as it refuses the API.
	if err := d.Fence(ctx, "us-east-1", 1, time.Second); err == nil {
		t.Error("Fence on a read-only server succeeded")
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writable(ctx); err == nil {
		t.Error("Writable with the server killed gave no error")
	}
}
