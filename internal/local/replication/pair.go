package replication

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-dr/switchyard/internal/local/mariadb"
)

// Options configure a Pair.
type Options struct {
	// User and Password are the replication account created on the first writer; it reaches
	// the replica through replication, so either server can serve the other.
	User, Password string
	// Databases are the application databases copied when a diverged old writer is rebuilt.
	Databases []string
	// CatchUpTimeout bounds how long a switchover waits for the replica to apply everything
	// the fenced writer committed; 10 s when zero.
	CatchUpTimeout time.Duration
	// SourceAddr is where a replica reaches source's binlog: a link that can be cut, say. Nil
	// means 127.0.0.1 and source's own port.
	SourceAddr func(source *mariadb.Server) (host string, port int)
}

// ErrNotCaughtUp says a switchover gave up because the replica did not apply the writer's last
// transactions in time; the old writer has been unfenced and still is the writer.
var ErrNotCaughtUp = errors.New("replica did not catch up with the writer")

// ErrDiverged says the old writer holds transactions the new writer never received, so it
// cannot simply replicate from it; Rejoin rebuilds it from a copy instead.
var ErrDiverged = errors.New("old writer has transactions the new writer lacks")

// Pair is a writer and its replica. Its methods are safe for concurrent use; role changes are
// serialised.
type Pair struct {
	opts Options

	mu      sync.Mutex
	writer  *mariadb.Server
	replica *mariadb.Server
	// promotedAt is the new writer's position when a failover promoted it: transactions of the
	// old writer beyond it are the data lost. nil after a switchover or a completed rejoin.
	promotedAt Position
	dbs        map[*mariadb.Server]*sql.DB
	// cut holds the servers the control plane cannot reach (SetControlPlaneCut).
	cut map[*mariadb.Server]bool
}

// SetControlPlaneCut says whether s is cut off from the control plane (a partition): a failover
// then cannot fence it, as Aurora's managed failover cannot fence a primary it cannot reach.
func (p *Pair) SetControlPlaneCut(s *mariadb.Server, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut == nil {
		p.cut = map[*mariadb.Server]bool{}
	}
	p.cut[s] = cut
}

// ControlPlaneCut reports whether SetControlPlaneCut cut s off.
func (p *Pair) ControlPlaneCut(s *mariadb.Server) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut[s]
}

// Setup makes replica a read-only GTID replica of writer from the writer's first transaction.
// The replica must be fresh: its own binlog is discarded.
func Setup(ctx context.Context, writer, replica *mariadb.Server, opts Options) (*Pair, error) {
	if opts.User == "" || opts.Password == "" {
		return nil, errors.New("replication: Options.User and Options.Password are required")
	}
	if opts.CatchUpTimeout == 0 {
		opts.CatchUpTimeout = 10 * time.Second
	}
	p := &Pair{opts: opts, writer: writer, replica: replica, dbs: map[*mariadb.Server]*sql.DB{}}
	err := p.exec(ctx, writer,
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", opts.User, opts.Password),
		fmt.Sprintf("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '%s'@'%%'", opts.User),
		"SET GLOBAL read_only=OFF")
	if err == nil {
		err = p.exec(ctx, replica, "SET GLOBAL read_only=ON", "STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER",
			"SET GLOBAL gtid_slave_pos=''", p.changeMaster(writer), "START SLAVE")
	}
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("replication: set up %s as replica of %s: %w", replica.Name, writer.Name, err)
	}
	return p, nil
}

// Close releases the pair's admin connections; the servers keep running.
func (p *Pair) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, db := range p.dbs {
		db.Close()
	}
	p.dbs = map[*mariadb.Server]*sql.DB{}
}

// Roles returns the current writer and replica.
func (p *Pair) Roles() (writer, replica *mariadb.Server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writer, p.replica
}

func (p *Pair) changeMaster(source *mariadb.Server) string {
	host, port := "127.0.0.1", source.Port
	if p.opts.SourceAddr != nil {
		host, port = p.opts.SourceAddr(source)
	}
	return fmt.Sprintf("CHANGE MASTER TO MASTER_HOST='%s', MASTER_PORT=%d, MASTER_USER='%s', "+
		"MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1", host, port, p.opts.User, p.opts.Password)
}

func (p *Pair) db(s *mariadb.Server) (*sql.DB, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if db, ok := p.dbs[s]; ok {
		return db, nil
	}
	db, err := s.Admin()
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(5 * time.Second)
	p.dbs[s] = db
	return db, nil
}

func (p *Pair) exec(ctx context.Context, s *mariadb.Server, stmts ...string) error {
	db, err := p.db(s)
	if err != nil {
		return err
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %s: %w", s.Name, statementKind(q), err)
		}
	}
	return nil
}

// statementKind names a statement by its first two words for errors: the rest may hold the
// replication password.
func statementKind(q string) string {
	w := strings.Fields(q)
	return strings.Join(w[:min(2, len(w))], " ")
}

func (p *Pair) queryString(ctx context.Context, s *mariadb.Server, q string) (string, error) {
	db, err := p.db(s)
	if err != nil {
		return "", err
	}
	var v sql.NullString
	if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
		return "", fmt.Errorf("%s: %s: %w", s.Name, q, err)
	}
	return v.String, nil
}

func (p *Pair) position(ctx context.Context, s *mariadb.Server, variable string) (Position, error) {
	v, err := p.queryString(ctx, s, "SELECT @@GLOBAL."+variable)
	if err != nil {
		return nil, err
	}
	return ParsePosition(v)
}

// MemberStatus is what one server says about itself.
type MemberStatus struct {
	Server    *mariadb.Server
	Reachable bool
	ReadOnly  bool
	// BinlogPos is every transaction the server has (its own and replicated ones).
	BinlogPos Position
	// Replicating is true when both replication threads run; LastError says why not.
	Replicating bool
	LastError   string
}

// Status asks a server about its role and replication; an unreachable server is reported as
// such, not as an error.
func (p *Pair) Status(ctx context.Context, s *mariadb.Server) MemberStatus {
	st := MemberStatus{Server: s}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ro, err := p.queryString(ctx, s, "SELECT @@GLOBAL.read_only")
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	st.Reachable, st.ReadOnly = true, ro == "1"
	if st.BinlogPos, err = p.position(ctx, s, "gtid_binlog_pos"); err != nil {
		st.LastError = err.Error()
		return st
	}
	ss, err := p.slaveStatus(ctx, s)
	if err != nil {
		st.LastError = err.Error()
		return st
	}
	st.Replicating = ss["Slave_IO_Running"] == "Yes" && ss["Slave_SQL_Running"] == "Yes"
	st.LastError = firstNonEmpty(ss["Last_SQL_Error"], ss["Last_IO_Error"])
	return st
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// slaveStatus returns SHOW SLAVE STATUS as column → value; empty when not a replica.
func (p *Pair) slaveStatus(ctx context.Context, s *mariadb.Server) (map[string]string, error) {
	db, err := p.db(s)
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SHOW SLAVE STATUS")
	if err != nil {
		return nil, fmt.Errorf("%s: SHOW SLAVE STATUS: %w", s.Name, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if !rows.Next() {
		return out, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		out[c] = vals[i].String
	}
	return out, rows.Err()
}

// Lag is how far the replica trails the writer.
type Lag struct {
	// Transactions the writer has committed that the replica has not applied.
	Transactions uint64
	// CatchUp is how long the replica took to apply what the writer had when asked, measured
	// with MASTER_GTID_WAIT and capped at one second; zero when nothing was missing.
	CatchUp time.Duration
}

// ReplicationLag measures the replica's lag behind the writer from their GTID positions.
func (p *Pair) ReplicationLag(ctx context.Context) (Lag, error) {
	w, r := p.Roles()
	wp, err := p.position(ctx, w, "gtid_binlog_pos")
	if err != nil {
		return Lag{}, fmt.Errorf("replication: lag: %w", err)
	}
	rp, err := p.position(ctx, r, "gtid_slave_pos")
	if err != nil {
		return Lag{}, fmt.Errorf("replication: lag: %w", err)
	}
	lag := Lag{Transactions: wp.Behind(rp)}
	if lag.Transactions == 0 {
		return lag, nil
	}
	start := time.Now()
	if _, err := p.waitFor(ctx, r, wp, time.Second); err != nil {
		return Lag{}, fmt.Errorf("replication: lag: %w", err)
	}
	lag.CatchUp = time.Since(start)
	return lag, nil
}

// waitFor waits until s has applied pos; false when the timeout passed first.
func (p *Pair) waitFor(ctx context.Context, s *mariadb.Server, pos Position, timeout time.Duration) (bool, error) {
	db, err := p.db(s)
	if err != nil {
		return false, err
	}
	var res sql.NullInt64
	q := "SELECT MASTER_GTID_WAIT(?, ?)"
	if err := db.QueryRowContext(ctx, q, pos.String(), timeout.Seconds()).Scan(&res); err != nil {
		return false, fmt.Errorf("%s: MASTER_GTID_WAIT: %w", s.Name, err)
	}
	return res.Valid && res.Int64 == 0, nil
}

// Switchover is what a planned switchover did.
type Switchover struct {
	NewWriter, OldWriter *mariadb.Server
	// Position is the last transaction of the old writer, all applied on the new one.
	Position Position
	// Fence, CatchUp, Promote and Repoint are the phases' durations.
	Fence, CatchUp, Promote, Repoint time.Duration
}

// Switchover swaps the roles losing nothing: it fences the writer (read_only), waits for the
// replica to apply everything the writer committed, promotes the replica and makes the old
// writer replicate from it. If the replica does not catch up in time the old writer is unfenced
// and ErrNotCaughtUp returned.
func (p *Pair) Switchover(ctx context.Context) (Switchover, error) {
	w, r := p.Roles()
	sw := Switchover{NewWriter: r, OldWriter: w}
	t := time.Now()
	if err := p.exec(ctx, w, "SET GLOBAL read_only=ON"); err != nil {
		return sw, fmt.Errorf("replication: switchover: fence %s: %w", w.Name, err)
	}
	pos, err := p.position(ctx, w, "gtid_binlog_pos")
	if err != nil {
		return sw, p.unfence(ctx, w, fmt.Errorf("replication: switchover: %w", err))
	}
	sw.Position, sw.Fence = pos, time.Since(t)
	t = time.Now()
	ok, err := p.waitFor(ctx, r, pos, p.opts.CatchUpTimeout)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s did not reach %s within %v", ErrNotCaughtUp, r.Name, pos, p.opts.CatchUpTimeout)
	}
	if err != nil {
		return sw, p.unfence(ctx, w, fmt.Errorf("replication: switchover: %w", err))
	}
	sw.CatchUp = time.Since(t)
	t = time.Now()
	if err := p.exec(ctx, r, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only=OFF"); err != nil {
		return sw, fmt.Errorf("replication: switchover: promote %s: %w", r.Name, err)
	}
	sw.Promote = time.Since(t)
	p.mu.Lock()
	p.writer, p.replica, p.promotedAt = r, w, nil
	p.mu.Unlock()
	t = time.Now()
	if err := p.follow(ctx, w, r, pos); err != nil {
		return sw, fmt.Errorf("replication: switchover: %s promoted, but re-pointing %s failed: %w", r.Name, w.Name, err)
	}
	sw.Repoint = time.Since(t)
	return sw, nil
}

func (p *Pair) unfence(ctx context.Context, w *mariadb.Server, cause error) error {
	if err := p.exec(context.WithoutCancel(ctx), w, "SET GLOBAL read_only=OFF"); err != nil {
		return fmt.Errorf("%w; and unfencing %s failed, it stays read-only: %v", cause, w.Name, err)
	}
	return cause
}

// follow makes s a read-only replica of source, continuing after pos.
func (p *Pair) follow(ctx context.Context, s, source *mariadb.Server, pos Position) error {
	return p.exec(ctx, s, "SET GLOBAL read_only=ON", "STOP SLAVE", "RESET SLAVE ALL",
		fmt.Sprintf("SET GLOBAL gtid_slave_pos='%s'", pos), p.changeMaster(source), "START SLAVE")
}

// Failover is what an unplanned failover did.
type Failover struct {
	NewWriter, OldWriter *mariadb.Server
	// OldWriterFenced says the old writer answered and was made read-only.
	OldWriterFenced bool
	// PromotedAt is everything the new writer had applied when it was promoted.
	PromotedAt Position
	// Gap is the old writer's transactions missing from the new writer, when the old writer
	// answered; otherwise it is known only when the old writer returns (Rejoin).
	Gap      uint64
	GapKnown bool
	// Fence, Drain and Promote are the phases' durations (Drain: applying what had arrived).
	Fence, Drain, Promote time.Duration
}

// Failover promotes the replica without waiting for the writer, as AllowDataLoss does: the old
// writer is fenced only if it answers within a second, and whatever the replica had received
// is applied (for at most two seconds) before it stops replicating.
func (p *Pair) Failover(ctx context.Context) (Failover, error) {
	w, r := p.Roles()
	fo := Failover{NewWriter: r, OldWriter: w}
	t := time.Now()
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	var oldPos Position
	// A writer cut off from the control plane is left as it is: writable.
	if !p.ControlPlaneCut(w) {
		if err := p.exec(fctx, w, "SET GLOBAL read_only=ON"); err == nil {
			fo.OldWriterFenced = true
			oldPos, _ = p.position(fctx, w, "gtid_binlog_pos")
		}
	}
	cancel()
	fo.Fence = time.Since(t)

	t = time.Now()
	if err := p.exec(ctx, r, "STOP SLAVE IO_THREAD"); err != nil {
		return fo, fmt.Errorf("replication: failover: %w", err)
	}
	ss, err := p.slaveStatus(ctx, r)
	if err != nil {
		return fo, fmt.Errorf("replication: failover: %w", err)
	}
	if received, err := ParsePosition(ss["Gtid_IO_Pos"]); err == nil && len(received) > 0 {
		if _, err := p.waitFor(ctx, r, received, 2*time.Second); err != nil {
			return fo, fmt.Errorf("replication: failover: %w", err)
		}
	}
	fo.Drain = time.Since(t)

	t = time.Now()
	if err := p.exec(ctx, r, "STOP SLAVE", "RESET SLAVE ALL", "SET GLOBAL read_only=OFF"); err != nil {
		return fo, fmt.Errorf("replication: failover: promote %s: %w", r.Name, err)
	}
	if fo.PromotedAt, err = p.position(ctx, r, "gtid_binlog_pos"); err != nil {
		return fo, fmt.Errorf("replication: failover: %s promoted, position unknown: %w", r.Name, err)
	}
	fo.Promote = time.Since(t)
	if oldPos != nil {
		fo.Gap, fo.GapKnown = oldPos.Behind(fo.PromotedAt), true
	}
	p.mu.Lock()
	p.writer, p.replica, p.promotedAt = r, w, fo.PromotedAt
	p.mu.Unlock()
	return fo, nil
}

// Divergence counts the transactions the old writer (now the replica's place) committed after
// the last failover's promotion point: the data the failover lost. It needs the old writer
// running; zero when no failover is pending a rejoin.
func (p *Pair) Divergence(ctx context.Context) (uint64, error) {
	p.mu.Lock()
	old, at := p.replica, p.promotedAt
	p.mu.Unlock()
	if at == nil {
		return 0, nil
	}
	pos, err := p.position(ctx, old, "gtid_binlog_pos")
	if err != nil {
		return 0, fmt.Errorf("replication: divergence of %s: %w", old.Name, err)
	}
	return pos.Behind(at), nil
}

// Rejoin is what resynchronising the old writer did.
type Rejoin struct {
	// Discarded is the number of the old writer's transactions that the new writer never had
	// and that were thrown away by rebuilding it from a copy.
	Discarded uint64
	// Rebuilt says the old writer was rebuilt from a copy of the writer's databases.
	Rebuilt bool
}

// Rejoin makes the replica's server, restarted after a failover or still running after a
// switchover, replicate from the writer again. A server that diverged is rebuilt from a
// consistent copy of Options.Databases taken from the writer.
func (p *Pair) Rejoin(ctx context.Context) (Rejoin, error) {
	w, old := p.Roles()
	if old.PID() == 0 {
		return Rejoin{}, fmt.Errorf("replication: rejoin: %s is not running: restart it first", old.Name)
	}
	// It may have come back writable: fence before anything can write to it.
	if err := p.exec(ctx, old, "SET GLOBAL read_only=ON"); err != nil {
		return Rejoin{}, fmt.Errorf("replication: rejoin: %w", err)
	}
	gap, err := p.Divergence(ctx)
	if err != nil {
		return Rejoin{}, err
	}
	var rj Rejoin
	if gap == 0 {
		pos, err := p.position(ctx, old, "gtid_binlog_pos")
		if err == nil {
			err = p.follow(ctx, old, w, pos)
		}
		if err != nil {
			return rj, fmt.Errorf("replication: rejoin %s: %w", old.Name, err)
		}
	} else {
		if err := p.rebuild(ctx, old, w); err != nil {
			return rj, fmt.Errorf("replication: rejoin %s (%v, %d transactions): %w", old.Name, ErrDiverged, gap, err)
		}
		rj = Rejoin{Discarded: gap, Rebuilt: true}
	}
	p.mu.Lock()
	p.promotedAt = nil
	p.mu.Unlock()
	return rj, nil
}

var dumpGTID = regexp.MustCompile(`(?m)^-- SET GLOBAL gtid_slave_pos\s*=\s*'([^']*)'`)

// rebuild replaces s's application databases with a consistent copy from source and makes it
// replicate from the copy's GTID position. Its own binlog, which holds the diverged
// transactions, is reset so that it cannot serve them to anyone.
func (p *Pair) rebuild(ctx context.Context, s, source *mariadb.Server) error {
	if len(p.opts.Databases) == 0 {
		return errors.New("no Options.Databases to copy")
	}
	srcSock, err := p.queryString(ctx, source, "SELECT @@GLOBAL.socket")
	if err != nil {
		return err
	}
	dstSock, err := p.queryString(ctx, s, "SELECT @@GLOBAL.socket")
	if err != nil {
		return err
	}
	args := append([]string{"--no-defaults", "--user=root", "--socket=" + srcSock, "--single-transaction",
		"--gtid", "--master-data=2", "--skip-lock-tables", "--databases"}, p.opts.Databases...)
	var dump, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "mariadb-dump", args...)
	cmd.Stdout, cmd.Stderr = &dump, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mariadb-dump from %s: %w: %s", source.Name, err, strings.TrimSpace(stderr.String()))
	}
	m := dumpGTID.FindSubmatch(dump.Bytes())
	if m == nil {
		return fmt.Errorf("mariadb-dump from %s: no gtid_slave_pos line in the dump", source.Name)
	}
	pos, err := ParsePosition(string(m[1]))
	if err != nil {
		return err
	}
	drops := []string{"STOP SLAVE", "RESET SLAVE ALL"}
	for _, d := range p.opts.Databases {
		drops = append(drops, "DROP DATABASE IF EXISTS `"+d+"`")
	}
	if err := p.exec(ctx, s, drops...); err != nil {
		return err
	}
	stderr.Reset()
	load := exec.CommandContext(ctx, "mariadb", "--no-defaults", "--user=root", "--socket="+dstSock,
		"--init-command=SET SESSION sql_log_bin=0")
	load.Stdin, load.Stderr = &dump, &stderr
	if err := load.Run(); err != nil {
		return fmt.Errorf("load the copy into %s: %w: %s", s.Name, err, strings.TrimSpace(stderr.String()))
	}
	if err := p.exec(ctx, s, "RESET MASTER"); err != nil {
		return err
	}
	return p.follow(ctx, s, source, pos)
}
