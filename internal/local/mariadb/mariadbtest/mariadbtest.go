// Package mariadbtest gives tests a private MariaDB server that is stopped when the test ends.
package mariadbtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
)

// Require fails the test under CI when MariaDB is missing, and skips it elsewhere with the reason:
// CI must never pass by silently not running the database tests.
func Require(t testing.TB) {
	t.Helper()
	if err := mariadb.Installed(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skipf("%v (set CI=1 to make this a failure)", err)
	}
}

// Start starts a private server for the test and stops it, removing its files, at cleanup.
func Start(t testing.TB, opts mariadb.Options) *mariadb.Server {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := mariadb.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop %s: %v", s.Name, err)
		}
	})
	return s
}

// App starts a private server with an application database and user, and returns the server and
// the app user's DSN.
func App(t testing.TB) (*mariadb.Server, string) {
	t.Helper()
	s := Start(t, mariadb.Options{Name: t.Name()})
	dsn, err := s.CreateApp(context.Background(), "switchyard", "todo_app", "todo-app-password")
	if err != nil {
		t.Fatal(err)
	}
	return s, dsn
}
