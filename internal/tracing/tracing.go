// Package tracing is the only importer of the AWS X-Ray SDK: it instruments AWS SDK clients and the
// database connector, so that replacing X-Ray (in maintenance since February 2026) touches one package.
//
// Tracing is on only when the function runs with X-Ray active: Lambda then sets
// AWS_XRAY_DAEMON_ADDRESS (read by internal/config) and puts each invocation's trace header in the
// context. Everywhere else (tests, the local Lambda host, the drill) New(false) makes every method a
// pass-through, so nothing tries to reach a daemon or logs "segment cannot be found".
package tracing

import (
	"context"
	"database/sql/driver"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/v2/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/aws-xray-sdk-go/v2/xraylog"
)

// Tracer instruments clients when enabled and does nothing otherwise.
type Tracer struct {
	enabled bool
}

// New returns a Tracer. With enabled, calls made outside an invocation (cold-start secret fetch, say)
// are silently left untraced instead of logging a missing-context error, and the SDK logs only warnings.
func New(enabled bool) *Tracer {
	if enabled {
		xray.SetLogger(xraylog.NewDefaultLogger(os.Stderr, xraylog.LogLevelWarn))
		// Configure only fails on an invalid daemon address or sampling rules file; neither is set here.
		_ = xray.Configure(xray.Config{ContextMissingStrategy: ctxmissing.NewDefaultIgnoreErrorStrategy()})
	}
	return &Tracer{enabled: enabled}
}

// InstrumentAWS adds X-Ray subsegments to every client built from cfg.
func (t *Tracer) InstrumentAWS(cfg *aws.Config) {
	if t.enabled {
		awsv2.AWSV2Instrumentor(&cfg.APIOptions)
	}
}

// SQLInfo describes the database for trace subsegments. It must hold no password.
type SQLInfo struct {
	Name string // subsegment name, such as "switchyard@proxy.example"
	URL  string // host:port/database
	User string
}

// Connector wraps c so that each query, exec, ping and transaction start becomes an X-Ray subsegment
// with the SQL text (parameters are never recorded). Disabled, it returns c itself.
func (t *Tracer) Connector(c driver.Connector, info SQLInfo) driver.Connector {
	if !t.enabled {
		return c
	}
	return &connector{Connector: c, info: info}
}

type connector struct {
	driver.Connector
	info SQLInfo
}

func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	var conn driver.Conn
	err := capture(ctx, c.info, "CONNECT", func(ctx context.Context) error {
		var err error
		conn, err = c.Connector.Connect(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &tracedConn{Conn: conn, info: c.info}, nil
}

func capture(ctx context.Context, info SQLInfo, query string, fn func(context.Context) error) error {
	return xray.Capture(ctx, info.Name, func(ctx context.Context) error {
		if seg := xray.GetSegment(ctx); seg != nil {
			seg.Namespace = "remote"
			sql := seg.GetSQL()
			sql.DatabaseType, sql.URL, sql.User, sql.SanitizedQuery = "MySQL", info.URL, info.User, query
		}
		return fn(ctx)
	})
}

// tracedConn passes every optional driver interface the MySQL driver implements through, so that
// database/sql keeps its connection health checks (ResetSession, IsValid) and context support.
type tracedConn struct {
	driver.Conn
	info SQLInfo
}

var (
	_ driver.ConnBeginTx        = (*tracedConn)(nil)
	_ driver.ConnPrepareContext = (*tracedConn)(nil)
	_ driver.ExecerContext      = (*tracedConn)(nil)
	_ driver.QueryerContext     = (*tracedConn)(nil)
	_ driver.Pinger             = (*tracedConn)(nil)
	_ driver.SessionResetter    = (*tracedConn)(nil)
	_ driver.Validator          = (*tracedConn)(nil)
	_ driver.NamedValueChecker  = (*tracedConn)(nil)
	_ driver.Connector          = (*connector)(nil)
)

func (c *tracedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	var tx driver.Tx
	err := capture(ctx, c.info, "BEGIN", func(ctx context.Context) error {
		var err error
		if b, ok := c.Conn.(driver.ConnBeginTx); ok {
			tx, err = b.BeginTx(ctx, opts)
		} else {
			tx, err = c.Conn.Begin()
		}
		return err
	})
	return tx, err
}

func (c *tracedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *tracedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	var res driver.Result
	err := capture(ctx, c.info, query, func(ctx context.Context) error {
		var err error
		res, err = e.ExecContext(ctx, query, args)
		return err
	})
	return res, err
}

func (c *tracedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	var rows driver.Rows
	err := capture(ctx, c.info, query, func(ctx context.Context) error {
		var err error
		rows, err = q.QueryContext(ctx, query, args)
		return err
	})
	return rows, err
}

func (c *tracedConn) Ping(ctx context.Context) error {
	p, ok := c.Conn.(driver.Pinger)
	if !ok {
		return nil
	}
	return capture(ctx, c.info, "PING", p.Ping)
}

func (c *tracedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *tracedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *tracedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip // database/sql then applies its default conversion
}
