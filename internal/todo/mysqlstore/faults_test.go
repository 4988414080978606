package mysqlstore_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/todo"
	"github.com/switchyard-dr/switchyard/internal/todo/mysqlstore"
)

// These tests make a real MariaDB refuse work the way Aurora does, and check what the store makes of
// it. Where MariaDB has no setting that yields Aurora's exact error, a trigger raises that error with
// SIGNAL: the driver then reads it off the wire like any other server error.

// signalOn installs a trigger that raises MySQL error errno, with message, before every insert into
// table whose task (or, for idempotency_keys, any row) matches; it is dropped at cleanup.
func signalOn(t *testing.T, admin *sql.DB, name, table, when string, errno int, message string) {
	t.Helper()
	stmt := "CREATE TRIGGER switchyard." + name + " BEFORE INSERT ON switchyard." + table + " FOR EACH ROW " +
		"BEGIN IF " + when + " THEN SIGNAL SQLSTATE 'HY000' SET MYSQL_ERRNO = " + strconv.Itoa(errno) + ", MESSAGE_TEXT = '" + message + "'; END IF; END"
	if _, err := admin.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP TRIGGER IF EXISTS switchyard." + name) })
}

func mysqlNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

func rows(t *testing.T, pool *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFaultsFromARealServer(t *testing.T) {
	srv, pool, store := setup(t)
	ctx := context.Background()
	var ids todo.IDGenerator
	admin, err := srv.Admin()
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	// Aurora MySQL's reader instances refuse writes with 1836 ER_READ_ONLY_MODE.
	t.Run("1836 read-only mode is not the writer", func(t *testing.T) {
		signalOn(t, admin, "aurora_reader", "todos", "NEW.task = 'on an Aurora reader'", 1836, "Running in read-only mode")
		// A store of its own: the refusal makes a store remember "no writer" for a moment, which
		// the subtests after this one must not inherit.
		store := mysqlstore.New(pool, 2*time.Second)
		_, _, err := store.Create(ctx, newTodo(&ids, "on an Aurora reader", todo.StatusTodo, clock), nil)
		if mysqlNumber(err) != 1836 {
			t.Fatalf("the server answered %v, want MySQL error 1836", err)
		}
		wantCode(t, "create refused with 1836", err, todo.ENOTWRITER)
	})

	// A read-only transaction (what a session on a reader endpoint may be given) refuses a write
	// with 1792; here the server itself says it, through a DSN that makes every transaction read-only.
	t.Run("1792 read-only transaction is not the writer", func(t *testing.T) {
		cfg, err := mysql.ParseDSN(srv.DSN("todo_app", "todo-app-password", "switchyard"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Params = map[string]string{"tx_read_only": "1"}
		roStore := mysqlstore.New(open(t, cfg.FormatDSN(), 2*time.Second), 2*time.Second)
		existing := newTodo(&ids, "before the read-only session", todo.StatusTodo, clock)
		if _, _, err := store.Create(ctx, existing, nil); err != nil {
			t.Fatal(err)
		}
		_, _, err = roStore.Create(ctx, newTodo(&ids, "in a read-only session", todo.StatusTodo, clock), nil)
		if mysqlNumber(err) != 1792 {
			t.Fatalf("the server answered %v, want MySQL error 1792", err)
		}
		wantCode(t, "create", err, todo.ENOTWRITER)
		_, err = roStore.Update(ctx, existing, 1)
		wantCode(t, "update", err, todo.ENOTWRITER)
		wantCode(t, "delete", roStore.Delete(ctx, existing.ID, 0), todo.ENOTWRITER)
		wantCode(t, "conditional delete", roStore.Delete(ctx, existing.ID, 1), todo.ENOTWRITER)
		if got, err := roStore.Get(ctx, existing.ID); err != nil || got != existing {
			t.Errorf("Get in a read-only session = %+v, %v; reads must keep working", got, err)
		}
	})

	// The idempotency key and the todo are one transaction: when the todo's insert fails after the
	// key's, the key must not stay behind, or a retry would "replay" a todo that does not exist.
	t.Run("idempotency key rolls back with the todo", func(t *testing.T) {
		signalOn(t, admin, "fail_todo_insert", "todos", "NEW.task = 'fails after the key'", 1644, "injected fault")
		idem := &todo.Idempotency{KeyHash: sha256.Sum256([]byte("key-rolled-back")), RequestHash: sha256.Sum256([]byte("r")), ExpiresAt: time.Now().Add(time.Hour)}
		failing := newTodo(&ids, "fails after the key", todo.StatusTodo, clock)
		if _, _, err := store.Create(ctx, failing, idem); mysqlNumber(err) != 1644 {
			t.Fatalf("Create = %v, want the injected fault (1644)", err)
		}
		if n := rows(t, pool, "SELECT COUNT(*) FROM idempotency_keys WHERE key_hash = ?", idem.KeyHash[:]); n != 0 {
			t.Fatalf("%d idempotency rows left by a failed create, want 0", n)
		}
		retry := newTodo(&ids, "the retry", todo.StatusTodo, clock)
		got, replayed, err := store.Create(ctx, retry, idem)
		if err != nil || replayed || got != retry {
			t.Fatalf("retry with the same key = %+v, replayed %v, %v; want the new todo stored", got, replayed, err)
		}
		if _, err := store.Get(ctx, retry.ID); err != nil {
			t.Errorf("the retried todo is not stored: %v", err)
		}
	})

	// A deadlock (1213) rolls the transaction back; the store tries again, at most three times in
	// all. A non-transactional counter survives the rollback, so the trigger fails exactly as often
	// as the budget says.
	t.Run("deadlock is retried", func(t *testing.T) {
		if _, err := admin.Exec("CREATE TABLE switchyard.deadlock_budget (n INT NOT NULL) ENGINE = Aria"); err != nil {
			t.Fatal(err)
		}
		defer admin.Exec("DROP TABLE switchyard.deadlock_budget")
		if _, err := admin.Exec("INSERT INTO switchyard.deadlock_budget VALUES (0)"); err != nil {
			t.Fatal(err)
		}
		trigger := "CREATE TRIGGER switchyard.deadlock BEFORE INSERT ON switchyard.todos FOR EACH ROW BEGIN " +
			"UPDATE switchyard.deadlock_budget SET n = n - 1 WHERE n > 0; " +
			"IF ROW_COUNT() > 0 THEN SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213, MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction'; END IF; END"
		if _, err := admin.Exec(trigger); err != nil {
			t.Fatal(err)
		}
		defer admin.Exec("DROP TRIGGER IF EXISTS switchyard.deadlock")
		for _, tt := range []struct {
			deadlocks int
			idem      bool
			wantOK    bool
		}{
			{1, false, true},
			{2, false, true},
			{3, false, false},
			{1, true, true},
			{2, true, true},
		} {
			if _, err := admin.Exec("UPDATE switchyard.deadlock_budget SET n = ?", tt.deadlocks); err != nil {
				t.Fatal(err)
			}
			var idem *todo.Idempotency
			if tt.idem {
				idem = &todo.Idempotency{KeyHash: sha256.Sum256([]byte("deadlock-" + strconv.Itoa(tt.deadlocks))), RequestHash: sha256.Sum256([]byte("r")), ExpiresAt: time.Now().Add(time.Hour)}
			}
			in := newTodo(&ids, "after deadlocks", todo.StatusTodo, clock)
			got, replayed, err := store.Create(ctx, in, idem)
			if tt.wantOK {
				if err != nil || replayed || got != in {
					t.Errorf("%d deadlock(s), key %v: Create = %+v, %v, %v; want the todo stored", tt.deadlocks, tt.idem, got, replayed, err)
				}
				if n := rows(t, pool, "SELECT COUNT(*) FROM todos WHERE id = ?", in.ID); n != 1 {
					t.Errorf("%d deadlock(s): %d rows stored, want 1", tt.deadlocks, n)
				}
				continue
			}
			if mysqlNumber(err) != 1213 || todo.ErrorCode(err) != todo.EUNAVAILABLE {
				t.Errorf("%d deadlocks: Create = %v (%s), want the third deadlock returned as unavailable (503, retry)", tt.deadlocks, err, todo.ErrorCode(err))
			}
			if n := rows(t, pool, "SELECT n FROM deadlock_budget"); n != 0 {
				t.Errorf("%d deadlocks: %d left in the budget, want every attempt used", tt.deadlocks, n)
			}
		}
	})
}

// An Aurora MySQL reader runs with innodb_read_only, not read_only. Restarted that way, a real
// MariaDB keeps serving reads; the store must report it as a reader and refuse writes as not the
// writer (MariaDB says 1036 where Aurora says 1836).
func TestInnoDBReadOnlyServer(t *testing.T) {
	srv, _, store := setup(t)
	ctx := context.Background()
	var ids todo.IDGenerator
	existing := newTodo(&ids, "written while writable", todo.StatusTodo, clock)
	if _, _, err := store.Create(ctx, existing, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv.SetInnoDBReadOnly(true)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	admin, err := srv.Admin()
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var readOnly, innodbReadOnly bool
	if err := admin.QueryRow("SELECT @@global.read_only, @@global.innodb_read_only").Scan(&readOnly, &innodbReadOnly); err != nil {
		t.Fatal(err)
	}
	if readOnly || !innodbReadOnly {
		t.Fatalf("server has read_only=%v innodb_read_only=%v; the test needs only innodb_read_only", readOnly, innodbReadOnly)
	}
	// The pool's connections died with the restart; the first call may meet one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		role, err := store.Role(ctx)
		if err == nil {
			if role != todo.RoleReader {
				t.Errorf("Role = %q under innodb_read_only, want reader", role)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Role: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_, _, err = store.Create(ctx, newTodo(&ids, "refused", todo.StatusTodo, clock), nil)
	wantCode(t, "create", err, todo.ENOTWRITER)
	_, err = store.Update(ctx, existing, 1)
	wantCode(t, "update", err, todo.ENOTWRITER)
	wantCode(t, "delete", store.Delete(ctx, existing.ID, 0), todo.ENOTWRITER)
	wantCode(t, "conditional delete", store.Delete(ctx, existing.ID, 1), todo.ENOTWRITER)
	idem := &todo.Idempotency{KeyHash: sha256.Sum256([]byte("k")), RequestHash: sha256.Sum256([]byte("r")), ExpiresAt: time.Now().Add(time.Hour)}
	_, _, err = store.Create(ctx, newTodo(&ids, "refused with a key", todo.StatusTodo, clock), idem)
	wantCode(t, "create with a key", err, todo.ENOTWRITER)
	if got, err := store.Get(ctx, existing.ID); err != nil || got != existing {
		t.Errorf("Get = %+v, %v; reads must keep working", got, err)
	}
}
