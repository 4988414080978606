package rdsproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
)

// DefaultBorrowTimeout is RDS Proxy's default ConnectionBorrowTimeout.
const DefaultBorrowTimeout = 120 * time.Second

// RDS Proxy's errors for MySQL clients, as its troubleshooting guide lists them.
const (
	ErrRequiresTLS   = 3159 // "This RDS Proxy requires TLS connections"
	ErrBorrowTimeout = 9501 // "Timed-out waiting to acquire database connection"
	// NoWriterMessage is the read/write endpoint's refusal while the target cluster has no writer.
	// AWS documents the text but no error number; the stand-in sends it as ER_UNKNOWN_ERROR (1105).
	NoWriterMessage = "The target group doesn't have any associated read/write instances"
)

// User is a database user the proxy accepts, with the password the proxy itself logs in to the
// database with (in AWS, the user's Secrets Manager secret).
type User struct {
	Name, Password string
	// IAM makes clients authenticate with an IAM token instead of the password (IAMAuth REQUIRED).
	IAM bool
}

// Options configure a Proxy.
type Options struct {
	Name    string // for logs: "region-a"
	Region  string // the AWS region IAM tokens must be signed for
	Backend string // the database's host:port
	Users   []User
	// Credentials are the local AWS credentials (access key ID → secret access key) IAM tokens
	// must be signed with.
	Credentials map[string]string
	CA          *CA
	// BorrowTimeout is ConnectionBorrowTimeout; DefaultBorrowTimeout when zero.
	BorrowTimeout time.Duration
	// Promoting reports whether the target cluster is being promoted to writer (a global
	// switchover or failover in progress): the read/write endpoint then queues instead of
	// refusing. nil means never.
	Promoting func() bool
	Logger    *slog.Logger
	// OnQueued hears every request that had to wait for a backend connection, once it is
	// answered; nil discards. The drill puts these on its timeline.
	OnQueued func(Queued)
	// Now is the clock IAM tokens are checked against; time.Now when nil.
	Now func() time.Time
}

// Queued is one request the proxy held before answering it.
type Queued struct {
	ReadOnly   bool // which endpoint
	Start, End time.Time
	// Outcome is "served", "borrow timeout", "no writer" (the promotion ended without making this
	// database the writer) or "refused" (the database refused the proxy's login).
	Outcome string
}

// Stats counts the proxy's connections, as RDS Proxy's CloudWatch metrics do.
type Stats struct {
	ClientConnections        int64 // open now
	ClientConnectionsOpened  int64 // since start
	BackendConnections       int64 // open now (DatabaseConnections)
	BackendConnectionsOpened int64
	PinnedSessions           int64 // client sessions holding a backend connection until they end
	NoWriterRefusals         int64
	BorrowTimeouts           int64
}

// Proxy is one region's RDS Proxy: a read/write and a read-only endpoint over one database.
type Proxy struct {
	opts   Options
	srv    *server.Server
	log    *slog.Logger
	rw, ro *endpoint
	pool   *pool

	clients, clientsOpened, pinned, noWriter, timeouts atomic.Int64

	wg      sync.WaitGroup
	closing atomic.Bool
}

type endpoint struct {
	ln       net.Listener
	readOnly bool
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// Start listens on two free 127.0.0.1 ports and serves until Close.
func Start(opts Options) (*Proxy, error) {
	if opts.CA == nil || opts.Backend == "" || opts.Region == "" || len(opts.Users) == 0 {
		return nil, errors.New("rdsproxy: Options.CA, Backend, Region and Users are required")
	}
	if opts.BorrowTimeout == 0 {
		opts.BorrowTimeout = DefaultBorrowTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Proxy{opts: opts, log: opts.Logger.With("proxy", opts.Name)}
	p.pool = newPool(p)
	p.srv = server.NewServerWithAuth("8.0.32-switchyard-local-rds-proxy", 45 /* utf8mb4_general_ci */, mysql.AUTH_NATIVE_PASSWORD,
		nil, opts.CA.serverTLS(), &authenticator{p: p})
	for _, ep := range []**endpoint{&p.rw, &p.ro} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("rdsproxy %s: listen on 127.0.0.1: %w", opts.Name, err)
		}
		*ep = &endpoint{ln: ln, readOnly: ep == &p.ro, conns: map[net.Conn]struct{}{}}
		p.wg.Add(1)
		go p.serve(*ep)
	}
	return p, nil
}

// ReadWriteEndpoint is the default endpoint's host:port.
func (p *Proxy) ReadWriteEndpoint() string { return p.rw.ln.Addr().String() }

// ReadOnlyEndpoint is the READ_ONLY endpoint's host:port.
func (p *Proxy) ReadOnlyEndpoint() string { return p.ro.ln.Addr().String() }

// Stats returns the connection counts now.
func (p *Proxy) Stats() Stats {
	open, opened := p.pool.counts()
	return Stats{
		ClientConnections: p.clients.Load(), ClientConnectionsOpened: p.clientsOpened.Load(),
		BackendConnections: open, BackendConnectionsOpened: opened,
		PinnedSessions: p.pinned.Load(), NoWriterRefusals: p.noWriter.Load(), BorrowTimeouts: p.timeouts.Load(),
	}
}

// Close stops both endpoints, ends every client session and closes the backend connections.
func (p *Proxy) Close() error {
	p.closing.Store(true)
	for _, ep := range []*endpoint{p.rw, p.ro} {
		if ep == nil {
			continue
		}
		ep.ln.Close()
		ep.mu.Lock()
		for c := range ep.conns {
			c.Close()
		}
		ep.mu.Unlock()
	}
	p.wg.Wait()
	p.pool.close()
	return nil
}

func (p *Proxy) serve(ep *endpoint) {
	defer p.wg.Done()
	for {
		nc, err := ep.ln.Accept()
		if err != nil {
			return
		}
		ep.mu.Lock()
		ep.conns[nc] = struct{}{}
		ep.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer func() {
				ep.mu.Lock()
				delete(ep.conns, nc)
				ep.mu.Unlock()
				nc.Close()
			}()
			p.session(ep, nc)
		}()
	}
}

func (p *Proxy) session(ep *endpoint, nc net.Conn) {
	watch := &tlsWatch{Conn: nc}
	s := &session{p: p, ep: ep}
	conn, err := p.srv.NewCustomizedConn(watch, &credentials{p: p, conn: watch}, s)
	if err != nil {
		p.log.Info("client refused", "endpoint", ep.name(), "remote", nc.RemoteAddr().String(), "reason", err.Error())
		return
	}
	p.clients.Add(1)
	p.clientsOpened.Add(1)
	defer p.clients.Add(-1)
	s.user, s.conn = conn.GetUser(), conn
	defer s.end()
	for !p.closing.Load() {
		if err := conn.HandleCommand(); err != nil {
			return
		}
	}
}

func (ep *endpoint) name() string {
	if ep.readOnly {
		return "read-only"
	}
	return "default"
}

// tlsWatch notes whether the client's first packet is an SSLRequest (a 32-byte payload), so that
// a client that does not start TLS is refused before it sends a password or token in the clear.
type tlsWatch struct {
	net.Conn
	seen, tls bool
}

func (w *tlsWatch) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if !w.seen && n >= 3 {
		w.seen = true
		w.tls = int(b[0])|int(b[1])<<8|int(b[2])<<16 == 32
	}
	return n, err
}

// credentials is the per-connection view of the users: it refuses a client without TLS first.
type credentials struct {
	p    *Proxy
	conn *tlsWatch
}

func (c *credentials) GetCredential(username string) (server.Credential, bool, error) {
	if !c.conn.tls {
		return server.Credential{}, false, mysql.NewError(ErrRequiresTLS, "This RDS Proxy requires TLS connections")
	}
	for _, u := range c.p.opts.Users {
		if u.Name == username {
			if u.IAM {
				// The token is checked by the authenticator; the placeholder only makes the
				// library ask for a cleartext password (the token), as RDS Proxy does.
				return server.Credential{Passwords: []string{"iam"}, AuthPluginName: mysql.AUTH_CLEAR_PASSWORD}, true, nil
			}
			return server.Credential{Passwords: []string{u.Password}, AuthPluginName: mysql.AUTH_NATIVE_PASSWORD}, true, nil
		}
	}
	return server.Credential{}, false, nil
}

func (c *credentials) OnAuthSuccess(*server.Conn) error { return nil }

func (c *credentials) OnAuthFailure(conn *server.Conn, err error) {
	c.p.log.Info("authentication failed", "user", conn.GetUser(), "reason", err.Error())
}

// authenticator checks IAM tokens (cleartext password over TLS) and leaves native passwords to
// the library.
type authenticator struct {
	p *Proxy
	server.DefaultAuthenticationProvider
}

func (a *authenticator) Authenticate(c *server.Conn, plugin string, data []byte) error {
	if plugin != mysql.AUTH_CLEAR_PASSWORD {
		return a.DefaultAuthenticationProvider.Authenticate(c, plugin, data)
	}
	if _, ok := c.Conn.Conn.(*tls.Conn); !ok {
		return mysql.NewError(ErrRequiresTLS, "This RDS Proxy requires TLS connections")
	}
	if n := len(data); n > 0 && data[n-1] == 0 {
		data = data[:n-1]
	}
	if err := checkToken(string(data), c.LocalAddr().String(), c.GetUser(), a.p.opts.Region, a.p.opts.Credentials, a.p.opts.Now()); err != nil {
		a.p.log.Info("IAM authentication failed", "user", c.GetUser(), "reason", err.Error())
		return server.ErrAccessDenied
	}
	return nil
}

func (a *authenticator) Validate(plugin string) bool {
	return plugin == mysql.AUTH_CLEAR_PASSWORD || a.DefaultAuthenticationProvider.Validate(plugin)
}

func (p *Proxy) backendPassword(user string) string {
	for _, u := range p.opts.Users {
		if u.Name == user {
			return u.Password
		}
	}
	return ""
}

func (p *Proxy) promoting() bool { return p.opts.Promoting != nil && p.opts.Promoting() }

var errNoWriter = mysql.NewError(mysql.ER_UNKNOWN_ERROR, NoWriterMessage)

func borrowTimeout() error {
	return mysql.NewError(ErrBorrowTimeout, "Timed-out waiting to acquire database connection")
}

// borrowPause is how often a queued request looks again for a writer or a reachable database.
const borrowPause = 20 * time.Millisecond

// borrow takes a backend connection for user/db. On the read/write endpoint the database must be
// the writer: without one it refuses at once, unless a promotion is under way, when it waits for
// the new writer up to the borrow timeout. An unreachable database is waited for the same way.
func (p *Proxy) borrow(ep *endpoint, user, db string) (bc *backendConn, err error) {
	start := time.Now()
	deadline := start.Add(p.opts.BorrowTimeout)
	waited := false
	defer func() {
		if waited && p.opts.OnQueued != nil {
			q := Queued{ReadOnly: ep.readOnly, Start: start, End: time.Now(), Outcome: "served"}
			var me *mysql.MyError
			if errors.As(err, &me) {
				switch me {
				case errNoWriter:
					q.Outcome = "no writer"
				default:
					q.Outcome = "refused"
					if me.Code == ErrBorrowTimeout {
						q.Outcome = "borrow timeout"
					}
				}
			}
			p.opts.OnQueued(q)
		}
	}()
	for {
		bc, err = p.pool.get(user, db, ep.readOnly)
		if err == nil && ep.readOnly {
			return bc, nil
		}
		if err == nil {
			writer, perr := bc.isWriter()
			switch {
			case perr != nil:
				bc.discard()
			case writer:
				return bc, nil
			case !p.promoting():
				p.pool.put(bc)
				p.noWriter.Add(1)
				return nil, errNoWriter
			default:
				p.pool.put(bc)
			}
		}
		if mysqlErr(err) {
			return nil, err // the database refused the proxy's own login: say so, as RDS Proxy logs do
		}
		if time.Now().After(deadline) || p.closing.Load() {
			p.timeouts.Add(1)
			return nil, borrowTimeout()
		}
		waited = true
		time.Sleep(borrowPause)
	}
}

func mysqlErr(err error) bool {
	var me *mysql.MyError
	return errors.As(err, &me)
}

// dialContext bounds one backend dial.
func dialContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Second)
}

// FunctionEnv is the database environment of a function that connects through this proxy as
// deployed: IAM authentication as user over TLS to both endpoints, trusting the CA written at
// caFile through the system trust store. The caller adds AWS credentials that Options.Credentials
// knows.
func (p *Proxy) FunctionEnv(user, database, caFile string) map[string]string {
	return map[string]string{
		"DB_AUTH": "iam", "DB_ENDPOINT": p.ReadWriteEndpoint(), "DB_READ_ONLY_ENDPOINT": p.ReadOnlyEndpoint(),
		"DB_USER": user, "DB_NAME": database, "SSL_CERT_FILE": caFile,
	}
}
