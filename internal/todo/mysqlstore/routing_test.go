package mysqlstore

import (
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/todo"
)

func TestClassifyProxyErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"proxy read/write endpoint without a writer", &mysql.MySQLError{Number: 1105, Message: noWriterMessage}, todo.ENOTWRITER},
		{"read-only server", &mysql.MySQLError{Number: 1290, Message: "The MariaDB server is running with the --read-only option"}, todo.ENOTWRITER},
		{"Aurora reader", &mysql.MySQLError{Number: 1836, Message: "Running in read-only mode"}, todo.ENOTWRITER},
		{"read-only transaction", &mysql.MySQLError{Number: 1792, Message: "Cannot execute statement in a READ ONLY transaction"}, todo.ENOTWRITER},
		{"proxy borrow timeout", &mysql.MySQLError{Number: 9501, Message: "Timed-out waiting to acquire database connection"}, todo.EUNAVAILABLE},
		{"other unknown error", &mysql.MySQLError{Number: 1105, Message: "something else"}, todo.EINTERNAL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := todo.ErrorCode(classify("op", tt.err)); got != tt.want {
				t.Errorf("code %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNoWriterMemory(t *testing.T) {
	writer, reader := &sql.DB{}, &sql.DB{} // identities only: fn below never touches them
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	s := &Store{db: writer, now: func() time.Time { return now }}
	s.WithReadOnly(reader)

	var asked []*sql.DB
	noWriter := func(pool *sql.DB) error {
		asked = append(asked, pool)
		if pool == writer {
			return classify("read", &mysql.MySQLError{Number: 1105, Message: noWriterMessage})
		}
		return nil
	}
	if err := s.read(noWriter); err != nil || len(asked) != 2 || asked[0] != writer || asked[1] != reader {
		t.Fatalf("first read: %v, asked %d pools; want the read/write pool, then the read-only one", err, len(asked))
	}
	if err := s.writable(); todo.ErrorCode(err) != todo.ENOTWRITER {
		t.Errorf("write right after: %v, want ENOTWRITER without asking", err)
	}
	asked = nil
	if err := s.read(noWriter); err != nil || len(asked) != 1 || asked[0] != reader {
		t.Errorf("read within the memory asked %d pools; want the read-only one only", len(asked))
	}
	now = now.Add(NoWriterMemory)
	if err := s.writable(); err != nil {
		t.Errorf("write after %s: %v, want the read/write endpoint asked again", NoWriterMemory, err)
	}
	asked = nil
	s.read(noWriter) //nolint:errcheck // only the order of pools matters here
	if len(asked) != 2 || asked[0] != writer {
		t.Errorf("read after the memory did not ask the read/write pool first")
	}

	alone := &Store{db: writer, now: time.Now}
	asked = nil
	alone.read(noWriter) //nolint:errcheck // without a read-only pool the error is the answer
	if len(asked) != 1 {
		t.Errorf("without a read-only pool %d pools were asked, want 1", len(asked))
	}
}
