package db

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/go-sql-driver/mysql"

	"github.com/switchyard-dr/switchyard/internal/config"
	"github.com/switchyard-dr/switchyard/internal/tracing"
)

// Pool limits for one Lambda execution environment, which serves one request at a time: a second
// connection covers a transaction plus a health check; more would only take RDS Proxy slots.
const (
	MaxOpenConns    = 2
	ConnMaxLifetime = 10 * time.Minute // below the 15-minute life of an IAM token
	ConnMaxIdleTime = 5 * time.Minute
)

// deadlineMargin is kept free before the invocation's deadline, so a slow database still leaves time
// to answer 503 instead of being cut off by the Lambda timeout.
const deadlineMargin = 300 * time.Millisecond

// QueryContext limits ctx to timeout, and to the deadline already on ctx less a margin.
func QueryContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl) - deadlineMargin; left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	return context.WithTimeout(ctx, timeout)
}

// SecretGetter is the part of the Secrets Manager client that secret mode uses.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Deps are what Open needs beyond configuration.
type Deps struct {
	// AWS is required in secret and iam modes (see AWSConfig) and ignored in dsn mode.
	AWS *aws.Config
	// Secrets overrides the Secrets Manager client built from AWS.
	Secrets SecretGetter
	// Tracer instruments the connector; nil means no tracing.
	Tracer *tracing.Tracer
}

// AWSConfig loads the AWS SDK configuration when the mode calls AWS, and returns nil in dsn mode so
// that local runs need no credentials. AWS clients built from it are traced through tr.
func AWSConfig(ctx context.Context, c config.DB, tr *tracing.Tracer) (*aws.Config, error) {
	if !c.NeedsAWS() {
		return nil, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(c.Region))
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if tr != nil {
		tr.InstrumentAWS(&cfg)
	}
	return &cfg, nil
}

// Open returns a pool for the configured mode. In secret mode it fetches the secret before returning;
// it does not connect otherwise (the first query does).
func Open(ctx context.Context, c config.DB, d Deps) (*sql.DB, error) {
	tr := d.Tracer
	if tr == nil {
		tr = tracing.New(false)
	}
	var (
		conn driver.Connector
		info tracing.SQLInfo
		err  error
	)
	switch c.Auth {
	case config.DBAuthDSN:
		conn, info, err = dsnConnector(c)
	case config.DBAuthIAM:
		if d.AWS == nil {
			return nil, errors.New("open database: DB_AUTH=iam needs AWS credentials, but no AWS configuration was given")
		}
		conn, info, err = iamConnector(c, *d.AWS)
	case config.DBAuthSecret:
		sm := d.Secrets
		if sm == nil {
			if d.AWS == nil {
				return nil, errors.New("open database: DB_AUTH=secret needs AWS credentials, but no AWS configuration was given")
			}
			sm = secretsmanager.NewFromConfig(*d.AWS)
		}
		conn, info, err = newSecretConnector(ctx, c, sm)
	default:
		return nil, fmt.Errorf("open database: DB_AUTH=%q is not one of dsn, secret, iam", c.Auth)
	}
	if err != nil {
		return nil, fmt.Errorf("open database (DB_AUTH=%s): %w", c.Auth, err)
	}
	pool := sql.OpenDB(tr.Connector(conn, info))
	pool.SetMaxOpenConns(MaxOpenConns)
	pool.SetMaxIdleConns(MaxOpenConns)
	pool.SetConnMaxLifetime(ConnMaxLifetime)
	pool.SetConnMaxIdleTime(ConnMaxIdleTime)
	return pool, nil
}

// Pools are a function's connection pools, one per proxy endpoint.
type Pools struct {
	// ReadWrite reaches the writer: writes, and reads in the writer region (read-your-writes).
	ReadWrite *sql.DB
	// ReadOnly reaches the readers; nil when DB_READ_ONLY_ENDPOINT is not set.
	ReadOnly *sql.DB
}

// OpenPools opens the read/write pool and, when configured, the read-only one, with the same
// credentials and TLS verification.
func OpenPools(ctx context.Context, c config.DB, d Deps) (Pools, error) {
	rw, err := Open(ctx, c, d)
	if err != nil {
		return Pools{}, err
	}
	p := Pools{ReadWrite: rw}
	if roCfg, ok := c.ReadOnly(); ok {
		if p.ReadOnly, err = Open(ctx, roCfg, d); err != nil {
			rw.Close()
			return Pools{}, fmt.Errorf("read-only endpoint (DB_READ_ONLY_ENDPOINT): %w", err)
		}
	}
	return p, nil
}

// withDefaults forces the options every mode needs.
func withDefaults(cfg *mysql.Config, c config.DB) {
	cfg.InterpolateParams = true
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 || cfg.Timeout > c.QueryTimeout {
		cfg.Timeout = c.QueryTimeout // dialling counts against the same budget as a query
	}
}

func describe(cfg *mysql.Config) tracing.SQLInfo {
	host, _, _ := net.SplitHostPort(cfg.Addr)
	return tracing.SQLInfo{Name: cfg.DBName + "@" + host, URL: cfg.Addr + "/" + cfg.DBName, User: cfg.User}
}

func dsnConnector(c config.DB) (driver.Connector, tracing.SQLInfo, error) {
	cfg, err := mysql.ParseDSN(c.DSN)
	if err != nil {
		return nil, tracing.SQLInfo{}, fmt.Errorf("DB_DSN is not a valid go-sql-driver DSN: %v", err)
	}
	withDefaults(cfg, c)
	conn, err := mysql.NewConnector(cfg)
	return conn, describe(cfg), err
}

// iamConfig is the driver configuration of iam mode; the password is filled per connection.
func iamConfig(c config.DB, creds aws.CredentialsProvider) (*mysql.Config, error) {
	host, _, err := net.SplitHostPort(c.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("DB_ENDPOINT must be host:port: %v", err)
	}
	tc, err := verifiedTLS(host, c)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.DBName = "tcp", c.Endpoint, c.User, c.Name
	cfg.AllowCleartextPasswords = true // the token goes as a cleartext password, hence mandatory TLS
	cfg.TLS = tc
	withDefaults(cfg, c)
	err = cfg.Apply(mysql.BeforeConnect(iamToken(c.Endpoint, c.Region, c.User, creds)))
	return cfg, err
}

// verifiedTLS is the TLS every AWS mode insists on: no plaintext fallback, the certificate checked
// against the system roots (RDS Proxy's Amazon roots) and DB_CA_FILE (the RDS CA bundle, for a
// cluster endpoint), for host.
func verifiedTLS(host string, c config.DB) (*tls.Config, error) {
	roots, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("load the system trust store for TLS to %s: %w", host, err)
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("DB_CA_FILE: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("DB_CA_FILE %s holds no PEM certificate", c.CAFile)
		}
	}
	return &tls.Config{ServerName: host, RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}

// iamToken sets a fresh IAM authentication token as the password of each new connection.
func iamToken(endpoint, region, user string, creds aws.CredentialsProvider) func(context.Context, *mysql.Config) error {
	return func(ctx context.Context, cfg *mysql.Config) error {
		token, err := auth.BuildAuthToken(ctx, endpoint, region, user, creds)
		if err != nil {
			return fmt.Errorf("build IAM authentication token for %s@%s: %w", user, endpoint, err)
		}
		cfg.Passwd = token
		return nil
	}
}

func iamConnector(c config.DB, awsCfg aws.Config) (driver.Connector, tracing.SQLInfo, error) {
	cfg, err := iamConfig(c, awsCfg.Credentials)
	if err != nil {
		return nil, tracing.SQLInfo{}, err
	}
	conn, err := mysql.NewConnector(cfg)
	return conn, describe(cfg), err
}

// secretConnector connects with the credentials of a Secrets Manager secret. When the database
// refuses them (error 1045, as after a rotation) it fetches the secret again and retries once.
type secretConnector struct {
	arn string
	c   config.DB
	sm  SecretGetter

	mu         sync.Mutex
	current    driver.Connector
	generation int
}

// dbSecret is the JSON of an RDS database secret. Port is a number in RDS-managed secrets and a
// string in some hand-made ones; both are accepted.
type dbSecret struct {
	Username string          `json:"username"`
	Password string          `json:"password"`
	Host     string          `json:"host"`
	Port     json.RawMessage `json:"port"`
	DBName   string          `json:"dbname"`
}

func newSecretConnector(ctx context.Context, c config.DB, sm SecretGetter) (driver.Connector, tracing.SQLInfo, error) {
	s := &secretConnector{arn: c.SecretARN, c: c, sm: sm}
	cfg, err := s.fetch(ctx)
	if err != nil {
		return nil, tracing.SQLInfo{}, err
	}
	if s.current, err = mysql.NewConnector(cfg); err != nil {
		return nil, tracing.SQLInfo{}, err
	}
	return s, describe(cfg), nil
}

func (s *secretConnector) fetch(ctx context.Context) (*mysql.Config, error) {
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.arn)})
	if err != nil {
		return nil, fmt.Errorf("read secret %s (DB_SECRET_ARN): %w", s.arn, err)
	}
	if out.SecretString == nil {
		return nil, fmt.Errorf("secret %s (DB_SECRET_ARN) has no SecretString: store the credentials as JSON text", s.arn)
	}
	var sec dbSecret
	if err := json.Unmarshal([]byte(*out.SecretString), &sec); err != nil {
		// The JSON error names a position, never the content: the secret stays out of the message.
		return nil, fmt.Errorf("secret %s (DB_SECRET_ARN) is not a JSON object with username, password, host, port and dbname", s.arn)
	}
	addr := s.c.Endpoint
	if addr == "" {
		port, err := secretPort(sec.Port)
		if err != nil || sec.Host == "" {
			return nil, fmt.Errorf("secret %s (DB_SECRET_ARN) lacks a host and numeric port; add them or set DB_ENDPOINT", s.arn)
		}
		addr = net.JoinHostPort(sec.Host, strconv.Itoa(port))
	}
	if sec.Username == "" || sec.DBName == "" {
		return nil, fmt.Errorf("secret %s (DB_SECRET_ARN) lacks username or dbname", s.arn)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("database address %q is not host:port", addr)
	}
	cfg := mysql.NewConfig()
	cfg.Net, cfg.Addr, cfg.User, cfg.Passwd, cfg.DBName = "tcp", addr, sec.Username, sec.Password, sec.DBName
	// The admin password must never travel in clear or to a server that cannot prove who it is.
	if cfg.TLS, err = verifiedTLS(host, s.c); err != nil {
		return nil, err
	}
	withDefaults(cfg, s.c)
	return cfg, nil
}

func secretPort(raw json.RawMessage) (int, error) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

// Connect implements driver.Connector.
func (s *secretConnector) Connect(ctx context.Context) (driver.Conn, error) {
	s.mu.Lock()
	cur, gen := s.current, s.generation
	s.mu.Unlock()
	conn, err := cur.Connect(ctx)
	if !isAuthFailure(err) {
		return conn, err
	}
	if err := s.refresh(ctx, gen); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cur = s.current
	s.mu.Unlock()
	return cur.Connect(ctx)
}

// refresh fetches the secret again unless another connection already did since generation gen.
func (s *secretConnector) refresh(ctx context.Context, gen int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.generation != gen {
		return nil
	}
	cfg, err := s.fetch(ctx)
	if err != nil {
		return fmt.Errorf("the database refused the secret's credentials and fetching it again failed: %w", err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	s.current = conn
	s.generation++
	return nil
}

// Driver implements driver.Connector.
func (s *secretConnector) Driver() driver.Driver { return mysql.MySQLDriver{} }

// ErrAccessDenied is MySQL's ER_ACCESS_DENIED_ERROR: wrong user or password.
const ErrAccessDenied = 1045

func isAuthFailure(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == ErrAccessDenied
}
