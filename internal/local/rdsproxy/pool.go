package rdsproxy

import (
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
)

// writerCheckInterval is how long a backend's "I am the writer" is believed before it is asked
// again. Only a positive answer is kept: a reader or a failed check is asked again at the next
// borrow, so a promotion is seen as soon as it completes.
const writerCheckInterval = 100 * time.Millisecond

type poolKey struct {
	user, db string
	readOnly bool
}

// pool keeps idle backend connections per user, database and endpoint kind.
type pool struct {
	p      *Proxy
	mu     sync.Mutex
	idle   map[poolKey][]*backendConn
	open   int64
	opened int64
	closed bool

	writerMu   sync.Mutex
	writerSeen time.Time
}

type backendConn struct {
	pool      *pool
	key       poolKey
	c         *client.Conn
	idleSince time.Time
}

// idleCheckAfter is how long a pooled connection may sit idle before it is pinged when borrowed:
// a database restarted meanwhile has closed it, and a client must not be the one to find out.
const idleCheckAfter = 5 * time.Second

func newPool(p *Proxy) *pool { return &pool{p: p, idle: map[poolKey][]*backendConn{}} }

func (pl *pool) counts() (open, opened int64) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return pl.open, pl.opened
}

// get returns an idle connection or dials a new one.
func (pl *pool) get(user, db string, readOnly bool) (*backendConn, error) {
	key := poolKey{user, db, readOnly}
	for {
		pl.mu.Lock()
		list := pl.idle[key]
		if len(list) == 0 {
			pl.mu.Unlock()
			break
		}
		bc := list[len(list)-1]
		pl.idle[key] = list[:len(list)-1]
		pl.mu.Unlock()
		if time.Since(bc.idleSince) < idleCheckAfter || bc.c.Ping() == nil {
			return bc, nil
		}
		bc.discard()
	}
	ctx, cancel := dialContext()
	defer cancel()
	c, err := client.ConnectWithContext(ctx, pl.p.opts.Backend, user, pl.p.backendPassword(user), db, 2*time.Second,
		func(c *client.Conn) error { return c.SetCollation("utf8mb4_general_ci") })
	if err != nil {
		return nil, err
	}
	if readOnly {
		// An Aurora reader refuses writes; the local database may be the writer, so the session
		// is made read-only to refuse them as strictly (error 1792).
		if _, err := c.Execute("SET SESSION TRANSACTION READ ONLY"); err != nil {
			c.Close()
			return nil, err
		}
	}
	pl.mu.Lock()
	pl.open++
	pl.opened++
	pl.mu.Unlock()
	return &backendConn{pool: pl, key: key, c: c}, nil
}

func (pl *pool) put(bc *backendConn) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.closed {
		bc.c.Close()
		pl.open--
		return
	}
	bc.idleSince = time.Now()
	pl.idle[bc.key] = append(pl.idle[bc.key], bc)
}

func (bc *backendConn) discard() {
	bc.c.Close()
	bc.pool.mu.Lock()
	bc.pool.open--
	bc.pool.mu.Unlock()
}

// isWriter reports whether the database behind bc accepts writes.
func (bc *backendConn) isWriter() (bool, error) {
	pl := bc.pool
	pl.writerMu.Lock()
	fresh := time.Since(pl.writerSeen) < writerCheckInterval
	pl.writerMu.Unlock()
	if fresh {
		return true, nil
	}
	res, err := bc.c.Execute("SELECT @@global.read_only OR @@global.innodb_read_only")
	if err != nil {
		return false, err
	}
	ro, err := res.GetInt(0, 0)
	if err != nil || ro != 0 {
		return false, err
	}
	pl.writerMu.Lock()
	pl.writerSeen = time.Now()
	pl.writerMu.Unlock()
	return true, nil
}

func (pl *pool) close() {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.closed = true
	for k, list := range pl.idle {
		for _, bc := range list {
			bc.c.Close()
			pl.open--
		}
		delete(pl.idle, k)
	}
}
