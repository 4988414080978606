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

// A standby reached through RDS Proxy: its read/write endpoint refuses (no writer behind it), so the
// renewer learns its role and reads the replicated heartbeat through the read-only endpoint. Here
// the refusing endpoint is a closed port and the read-only one the standby's server itself.
func TestStandbyReadsThroughTheReadOnlyEndpoint(t *testing.T) {
	srv, dsn := mariadbtest.App(t)
	ctx := context.Background()
	reader, err := db.Open(ctx, config.DB{Auth: config.DBAuthDSN, DSN: dsn, QueryTimeout: time.Second}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := schema.Migrate(ctx, reader); err != nil {
		t.Fatal(err)
	}
	if err := leasedb.New(reader, time.Second).Fence(ctx, "us-east-1", 7, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := srv.Exec(ctx, "SET GLOBAL read_only=ON"); err != nil {
		t.Fatal(err)
	}
	refusing, err := db.Open(ctx, config.DB{Auth: config.DBAuthDSN, DSN: "app:pw@tcp(127.0.0.1:1)/switchyard?timeout=200ms", QueryTimeout: time.Second}, db.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	defer refusing.Close()

	alone := leasedb.New(refusing, time.Second)
	if _, err := alone.Writable(ctx); err == nil {
		t.Error("Writable without a read-only endpoint, read/write refusing: no error; want one")
	}
	d := leasedb.New(refusing, time.Second).WithReader(reader)
	if ok, err := d.Writable(ctx); ok || err != nil {
		t.Errorf("Writable with a read-only endpoint on a replica = %v, %v; want false, nil", ok, err)
	}
	h, err := d.LastHeartbeat(ctx)
	if err != nil || h.Holder != "us-east-1" || h.Epoch != 7 {
		t.Errorf("LastHeartbeat through the read-only endpoint = %+v, %v; want us-east-1's at epoch 7", h, err)
	}
	if err := srv.Exec(ctx, "SET GLOBAL read_only=OFF"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Writable(ctx); err == nil {
		t.Error("Writable when the read-only endpoint shows a writer but read/write refuses: no error; want the refusal (never guess writable)")
	}
}
