package rdsproxy

import (
	"errors"
	"strings"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
)

// session is one client connection. It holds a backend connection only while it must: inside a
// transaction, or for good once pinned.
type session struct {
	p        *Proxy
	ep       *endpoint
	conn     *server.Conn // set once the handshake is done
	user, db string
	held     *backendConn
	pinned   bool
}

var _ server.Handler = (*session)(nil)

// pinningPrefixes start statements after which RDS Proxy cannot hand the backend connection to
// another client: they leave session state behind.
var pinningPrefixes = []string{"SET ", "PREPARE ", "LOCK ", "CREATE TEMPORARY", "SELECT GET_LOCK", "USE "}

func pins(query string) bool {
	q := strings.ToUpper(strings.TrimSpace(query))
	for _, p := range pinningPrefixes {
		if strings.HasPrefix(q, p) {
			return true
		}
	}
	return false
}

func (s *session) acquire() (*backendConn, error) {
	if s.held != nil {
		return s.held, nil
	}
	bc, err := s.p.borrow(s.ep, s.user, s.db)
	if err != nil {
		return nil, err
	}
	s.held = bc
	return bc, nil
}

// release gives the backend connection back unless the session still needs it.
func (s *session) release(err error) {
	bc := s.held
	if bc == nil {
		return
	}
	if s.pinned {
		if isConnError(err) {
			s.dropClient()
		}
		return
	}
	if isConnError(err) {
		bc.discard()
		s.held = nil
		s.dropClient()
		return
	}
	if bc.c.IsInTransaction() {
		return
	}
	s.p.pool.put(bc)
	s.held = nil
}

// dropClient closes the client connection after its backend connection broke mid-request, as RDS
// Proxy does: the client sees a lost connection (and retries on a new one), not a server error
// that would read as a bug in the request.
func (s *session) dropClient() {
	if s.conn != nil {
		s.conn.Close()
	}
}

func (s *session) pin() {
	if !s.pinned {
		s.pinned = true
		s.p.pinned.Add(1)
	}
}

func (s *session) end() {
	if s.pinned {
		s.p.pinned.Add(-1)
	}
	if s.held != nil {
		// A pinned connection carries session state, and one left inside a transaction must not be
		// reused with the transaction open.
		s.held.discard()
		s.held = nil
	}
}

// isConnError tells a broken backend connection from an error the database answered.
func isConnError(err error) bool {
	if err == nil {
		return false
	}
	var me *mysql.MyError
	return !errors.As(err, &me)
}

// UseDB implements server.Handler (COM_INIT_DB, and the database named at connect).
func (s *session) UseDB(db string) error {
	if s.held != nil {
		if err := s.held.c.UseDB(db); err != nil {
			return err
		}
	}
	s.db = db
	return nil
}

// HandleQuery implements server.Handler.
func (s *session) HandleQuery(query string) (*mysql.Result, error) {
	bc, err := s.acquire()
	if err != nil {
		return nil, err
	}
	if pins(query) {
		s.pin()
	}
	res, err := bc.c.Execute(query)
	s.release(err)
	return res, err
}

// HandleFieldList implements server.Handler.
func (s *session) HandleFieldList(table, wildcard string) ([]*mysql.Field, error) {
	bc, err := s.acquire()
	if err != nil {
		return nil, err
	}
	fs, err := bc.c.FieldList(table, wildcard)
	s.release(err)
	return fs, err
}

// HandleStmtPrepare implements server.Handler: a prepared statement pins the session.
func (s *session) HandleStmtPrepare(query string) (int, int, any, error) {
	bc, err := s.acquire()
	if err != nil {
		return 0, 0, nil, err
	}
	s.pin()
	st, err := bc.c.Prepare(query)
	if err != nil {
		return 0, 0, nil, err
	}
	return st.ParamNum(), st.ColumnNum(), st, nil
}

// HandleStmtExecute implements server.Handler.
func (s *session) HandleStmtExecute(ctx any, _ string, args []any) (*mysql.Result, error) {
	res, err := ctx.(*client.Stmt).Execute(args...)
	if isConnError(err) {
		s.dropClient()
	}
	return res, err
}

// HandleStmtClose implements server.Handler.
func (s *session) HandleStmtClose(ctx any) error { return ctx.(*client.Stmt).Close() }

// HandleOtherCommand implements server.Handler.
func (s *session) HandleOtherCommand(cmd byte, _ []byte) error {
	return mysql.NewError(mysql.ER_UNKNOWN_ERROR, "the local RDS Proxy does not forward this command")
}
