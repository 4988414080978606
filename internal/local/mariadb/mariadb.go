// Package mariadb runs private MariaDB servers for tests, `make run` and the drill: each one a
// mariadbd process of its own, in a temporary data directory, on a free 127.0.0.1 port.
//
// It is a local stand-in for Aurora: nothing deployed imports it.
package mariadb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// ErrNotInstalled says the MariaDB server binaries are not on PATH.
var ErrNotInstalled = errors.New("mariadbd and mariadb-install-db not found on PATH: " +
	"install MariaDB (Debian: apt-get install -y mariadb-server)")

// Options describe one private server.
type Options struct {
	// ServerID is the replication server_id; servers that replicate from each other need distinct ids.
	ServerID int
	// Name labels the server in errors and logs ("region-a").
	Name string
	// TLS makes the server offer TLS with a certificate for 127.0.0.1 that it issues itself; CAFile
	// names that certificate for clients that verify it, as the deployed functions do.
	TLS bool
}

// Server is one running private mariadbd.
type Server struct {
	Name string
	Port int
	dir  string // owns data/ and the socket; removed by Close

	opts Options

	mu             sync.Mutex
	cmd            *exec.Cmd
	done           chan struct{}
	innodbReadOnly bool // see SetInnoDBReadOnly
}

// Installed reports whether the MariaDB server binaries are on PATH.
func Installed() error {
	for _, bin := range []string{"mariadbd", "mariadb-install-db"} {
		if _, err := exec.LookPath(bin); err != nil {
			return ErrNotInstalled
		}
	}
	return nil
}

// Start initialises a fresh data directory and starts mariadbd on a free loopback port.
// Close stops it and removes its files.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	if opts.ServerID == 0 {
		opts.ServerID = 1
	}
	if opts.Name == "" {
		opts.Name = "mariadb"
	}
	// A short path: the unix socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "switchyard-db-")
	if err != nil {
		return nil, fmt.Errorf("mariadb %s: make data directory: %w", opts.Name, err)
	}
	s := &Server{Name: opts.Name, dir: dir, opts: opts}
	if err := s.install(ctx); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if opts.TLS {
		if err := s.issueCertificate(); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("mariadb %s: TLS certificate: %w", opts.Name, err)
		}
	}
	var lastErr error
	for range 3 { // a free port can be taken between probing and binding: try another
		if s.Port, lastErr = freePort(); lastErr != nil {
			break
		}
		if lastErr = s.launch(ctx); lastErr == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, lastErr
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }
func (s *Server) socket() string  { return filepath.Join(s.dir, "mysqld.sock") }
func (s *Server) errLog() string  { return filepath.Join(s.dir, "error.log") }

// tmpDir is private to the server: servers installed at the same time must not share /tmp files.
func (s *Server) tmpDir() string { return filepath.Join(s.dir, "tmp") }

func (s *Server) install(ctx context.Context) error {
	for _, d := range []string{s.dataDir(), s.tmpDir()} {
		if err := os.Mkdir(d, 0o750); err != nil {
			return fmt.Errorf("mariadb %s: %w", s.Name, err)
		}
	}
	if err := chownToMySQL(s.dir, s.dataDir(), s.tmpDir()); err != nil {
		return fmt.Errorf("mariadb %s: hand the data directory to the mysql user: %w", s.Name, err)
	}
	cmd := exec.CommandContext(ctx, "mariadb-install-db", "--no-defaults", "--user=mysql",
		"--datadir="+s.dataDir(), "--tmpdir="+s.tmpDir(), "--auth-root-authentication-method=normal", "--skip-test-db")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb %s: mariadb-install-db: %w\n%s", s.Name, err, tail(out, 2000))
	}
	return nil
}

// chownToMySQL lets mariadbd, which drops to the mysql user when started as root, write its files.
func chownToMySQL(paths ...string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("mysql")
	if err != nil {
		return err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range paths {
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) launch(ctx context.Context) error {
	cmd := exec.Command("mariadbd", "--no-defaults", "--user=mysql",
		"--datadir="+s.dataDir(), "--tmpdir="+s.tmpDir(), "--socket="+s.socket(), "--port="+strconv.Itoa(s.Port),
		"--bind-address=127.0.0.1", "--skip-name-resolve", "--server-id="+strconv.Itoa(s.opts.ServerID),
		"--log-bin=binlog", "--binlog-format=ROW", "--gtid-strict-mode=ON", "--log-slave-updates=ON",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=16M", "--max-connections=500",
		"--log-error="+s.errLog(), "--pid-file="+filepath.Join(s.dir, "mysqld.pid"))
	if s.opts.TLS {
		cmd.Args = append(cmd.Args, "--ssl-cert="+s.CAFile(), "--ssl-key="+s.keyFile())
	}
	s.mu.Lock()
	if s.innodbReadOnly {
		cmd.Args = append(cmd.Args, "--innodb-read-only")
	}
	s.mu.Unlock()
	// Its own process group, so a Ctrl-C aimed at the caller does not kill it before Close runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("mariadb %s: start mariadbd: %w", s.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()

	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := s.Admin()
		if err == nil {
			err = db.PingContext(ctx)
			db.Close()
		}
		if err == nil {
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(s.errLog())
			return fmt.Errorf("mariadb %s: mariadbd exited while starting on port %d:\n%s", s.Name, s.Port, tail(log, 2000))
		case <-ctx.Done():
			s.Kill()
			return fmt.Errorf("mariadb %s: start: %w", s.Name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Kill()
			log, _ := os.ReadFile(s.errLog())
			return fmt.Errorf("mariadb %s: no answer on port %d after 30s:\n%s", s.Name, s.Port, tail(log, 2000))
		}
	}
}

// PID is the running mariadbd's process id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	select {
	case <-s.done:
		return 0
	default:
		return s.cmd.Process.Pid
	}
}

// Admin opens a root connection over the server's unix socket (root has no TCP account).
func (s *Server) Admin() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = "root"
	cfg.Net = "unix"
	cfg.Addr = s.socket()
	cfg.Timeout = 2 * time.Second
	cfg.MultiStatements = true
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Exec runs statements as root.
func (s *Server) Exec(ctx context.Context, stmts ...string) error {
	db, err := s.Admin()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("mariadb %s: %w", s.Name, err)
		}
	}
	return nil
}

// CreateApp creates a database and an application user with rights on it only: no SUPER and no
// READ ONLY ADMIN, so that read_only=ON refuses its writes as Aurora's reader does.
// It returns a TCP DSN for that user.
func (s *Server) CreateApp(ctx context.Context, database, user, password string) (string, error) {
	err := s.Exec(ctx,
		"CREATE DATABASE IF NOT EXISTS `"+database+"`",
		fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s'", user, password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%%'", database, user),
	)
	if err != nil {
		return "", err
	}
	return s.DSN(user, password, database), nil
}

// DSN is a TCP DSN for a user of this server, with the options the ToDo API expects.
func (s *Server) DSN(user, password, database string) string {
	cfg := mysql.NewConfig()
	cfg.User = user
	cfg.Passwd = password
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	cfg.DBName = database
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	return cfg.FormatDSN()
}

// Stop ends mariadbd with SIGTERM (a clean shutdown) and waits for it. The data stays for Restart.
func (s *Server) Stop() error { return s.signal(syscall.SIGTERM, 20*time.Second) }

// Kill ends mariadbd with SIGKILL, as a lost region would: no clean shutdown.
func (s *Server) Kill() error { return s.signal(syscall.SIGKILL, 10*time.Second) }

func (s *Server) signal(sig syscall.Signal, wait time.Duration) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("mariadb %s: signal pid %d: %w", s.Name, cmd.Process.Pid, err)
	}
	select {
	case <-done:
		return nil
	case <-time.After(wait):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("mariadb %s: pid %d ignored %v for %v; killed", s.Name, cmd.Process.Pid, sig, wait)
	}
}

// SetInnoDBReadOnly makes the next Restart run mariadbd with innodb_read_only on (or off again). That
// is how an Aurora MySQL reader instance is set up: InnoDB itself refuses writes, whatever read_only
// says, so the store's handling of that refusal is tested against a real server.
func (s *Server) SetInnoDBReadOnly(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.innodbReadOnly = on
}

// Restart starts mariadbd again on the same data directory and port after Stop or Kill.
func (s *Server) Restart(ctx context.Context) error {
	if s.PID() != 0 {
		return fmt.Errorf("mariadb %s: restart: still running as pid %d", s.Name, s.PID())
	}
	return s.launch(ctx)
}

// Close stops the server and removes its data directory.
func (s *Server) Close() error {
	err := s.Stop()
	if rmErr := os.RemoveAll(s.dir); err == nil {
		err = rmErr
	}
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
