// Package config is the only place that reads environment variables, for every deployed function:
// the ToDo API and migrate (TodoAPI, Migrate, their database settings in DB) and the orchestrator
// functions (Orchestrator, with one list of required variables per function). It validates them and
// names the variable at fault in every error, so that a misconfigured function says what to fix at
// cold start. Every loader reads through a Lookup: os.LookupEnv in the functions, a map in tests.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DBAuth is how the functions authenticate to the database (DB_AUTH).
type DBAuth string

// The DB_AUTH modes.
const (
	// DBAuthDSN connects with a complete DSN from DB_DSN: local runs and tests.
	DBAuthDSN DBAuth = "dsn"
	// DBAuthSecret reads user, password, host, port and dbname from the Secrets Manager secret
	// DB_SECRET_ARN at cold start.
	DBAuthSecret DBAuth = "secret"
	// DBAuthIAM signs an IAM authentication token for DB_USER per new connection to DB_ENDPOINT.
	DBAuthIAM DBAuth = "iam"
)

// DefaultQueryTimeout bounds each database call when DB_QUERY_TIMEOUT is not set.
const DefaultQueryTimeout = 3 * time.Second

// MaxQueryTimeout is the largest DB_QUERY_TIMEOUT accepted. Lambda does not tell a function its
// timeout before the first invocation, so the bound is a sanity check; each call is additionally cut
// short of the invocation's own deadline (see internal/db).
const MaxQueryTimeout = 60 * time.Second

// DB is the database configuration shared by todo-api and migrate.
type DB struct {
	Auth         DBAuth
	DSN          string // dsn mode; never log it
	SecretARN    string // secret mode
	Endpoint     string // host:port; iam mode, optional override in secret mode
	User         string // iam mode
	Name         string // iam mode
	Region       string // for IAM tokens and AWS clients
	QueryTimeout time.Duration
}

// NeedsAWS reports whether the mode calls AWS APIs (and so needs an aws.Config).
func (c DB) NeedsAWS() bool { return c.Auth == DBAuthSecret || c.Auth == DBAuthIAM }

// TodoAPI is the todo-api function's configuration.
type TodoAPI struct {
	Region  string // AWS_REGION: reported by /health and the X-Switchyard-Region header
	Version string // APP_VERSION, "dev" when unset
	DB      DB
	Tracing bool // X-Ray: on when AWS_XRAY_DAEMON_ADDRESS is set (as Lambda does with tracing active)
	// CursorKey (CURSOR_KEY) authenticates the pagination cursors the API hands out, so a client
	// cannot make one up. Both regions need the same key for a cursor to survive a failover.
	CursorKey []byte
}

// MinCursorKeyLength is the shortest CURSOR_KEY accepted, in bytes: HMAC-SHA256 wants a key of at
// least its output size to be as strong as it can be.
const MinCursorKeyLength = 32

// Migrate is the migrate function's configuration.
type Migrate struct {
	DB DB
	// AppSecretARN (DB_APP_SECRET_ARN, optional) is the secret holding the application user's name
	// and password: after migrating, the function creates that user, or updates its password.
	AppSecretARN string
	Tracing      bool
}

// Lookup reads one variable; os.LookupEnv in production, a map in tests.
type Lookup func(name string) (string, bool)

// TodoAPIFromEnv reads the todo-api configuration from the process environment.
func TodoAPIFromEnv() (TodoAPI, error) { return LoadTodoAPI(os.LookupEnv) }

// MigrateFromEnv reads the migrate configuration from the process environment.
func MigrateFromEnv() (Migrate, error) { return LoadMigrate(os.LookupEnv) }

// LoadTodoAPI reads and validates the todo-api configuration; every problem found is reported at once.
func LoadTodoAPI(env Lookup) (TodoAPI, error) {
	var errs []error
	db, err := loadDB(env)
	if err != nil {
		errs = append(errs, err)
	}
	c := TodoAPI{Region: db.Region, Version: "dev", DB: db, Tracing: tracing(env)}
	if v, ok := env("APP_VERSION"); ok && strings.TrimSpace(v) != "" {
		c.Version = strings.TrimSpace(v)
	}
	switch key := get(env, "CURSOR_KEY"); {
	case key == "":
		errs = append(errs, fmt.Errorf("CURSOR_KEY is not set: set it to a random string of at least %d characters "+
			"(openssl rand -base64 32), the same in both regions", MinCursorKeyLength))
	case len(key) < MinCursorKeyLength:
		// The length only: the key itself is a secret.
		errs = append(errs, fmt.Errorf("CURSOR_KEY has %d characters; it needs at least %d (openssl rand -base64 32)", len(key), MinCursorKeyLength))
	default:
		c.CursorKey = []byte(key)
	}
	return c, errors.Join(errs...)
}

// LoadMigrate reads and validates the migrate configuration.
func LoadMigrate(env Lookup) (Migrate, error) {
	db, err := loadDB(env)
	c := Migrate{DB: db, AppSecretARN: get(env, "DB_APP_SECRET_ARN"), Tracing: tracing(env)}
	if c.AppSecretARN != "" && !db.NeedsAWS() {
		err = errors.Join(err, errors.New("DB_APP_SECRET_ARN needs DB_AUTH=secret or iam: the secret is read from Secrets Manager"))
	}
	return c, err
}

func tracing(env Lookup) bool {
	v, ok := env("AWS_XRAY_DAEMON_ADDRESS")
	return ok && v != ""
}

func get(env Lookup, name string) string {
	v, _ := env(name)
	return strings.TrimSpace(v)
}

func loadDB(env Lookup) (DB, error) {
	var errs []error
	missing := func(name, why string) {
		errs = append(errs, fmt.Errorf("%s is not set: %s", name, why))
	}
	c := DB{
		Auth:      DBAuth(get(env, "DB_AUTH")),
		SecretARN: get(env, "DB_SECRET_ARN"),
		Endpoint:  get(env, "DB_ENDPOINT"),
		User:      get(env, "DB_USER"),
		Name:      get(env, "DB_NAME"),
		Region:    get(env, "AWS_REGION"),
	}
	c.DSN, _ = env("DB_DSN")
	if c.Region == "" {
		missing("AWS_REGION", "set it to the region name (Lambda sets it; export it for local runs)")
	}

	c.QueryTimeout = DefaultQueryTimeout
	if v := get(env, "DB_QUERY_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("DB_QUERY_TIMEOUT=%q is not a Go duration such as 3s or 1500ms", v))
		case d <= 0 || d > MaxQueryTimeout:
			errs = append(errs, fmt.Errorf("DB_QUERY_TIMEOUT=%s must be above 0 and at most %s, and shorter than the function's timeout", v, MaxQueryTimeout))
		default:
			c.QueryTimeout = d
		}
	}

	switch c.Auth {
	case DBAuthDSN:
		if c.DSN == "" {
			missing("DB_DSN", "DB_AUTH=dsn needs a go-sql-driver DSN such as user:pass@tcp(127.0.0.1:3306)/switchyard")
		} else if _, err := mysql.ParseDSN(c.DSN); err != nil {
			// The parser's message never repeats the DSN, which may hold a password.
			errs = append(errs, fmt.Errorf("DB_DSN is not a valid go-sql-driver DSN: %v", err))
		}
	case DBAuthSecret:
		if c.SecretARN == "" {
			missing("DB_SECRET_ARN", "DB_AUTH=secret needs the ARN of a secret with username, password, host, port and dbname")
		}
		if c.Endpoint != "" {
			errs = append(errs, checkEndpoint(c.Endpoint)...)
		}
	case DBAuthIAM:
		if c.Endpoint == "" {
			missing("DB_ENDPOINT", "DB_AUTH=iam needs the RDS Proxy endpoint as host:port")
		} else {
			errs = append(errs, checkEndpoint(c.Endpoint)...)
		}
		if c.User == "" {
			missing("DB_USER", "DB_AUTH=iam needs the database user the IAM policy allows (rds-db:connect)")
		}
		if c.Name == "" {
			missing("DB_NAME", "DB_AUTH=iam needs the database (schema) name")
		}
	case "":
		missing("DB_AUTH", "set it to dsn, secret or iam")
	default:
		errs = append(errs, fmt.Errorf("DB_AUTH=%q is not one of dsn, secret, iam", c.Auth))
	}
	return c, errors.Join(errs...)
}

func checkEndpoint(ep string) []error {
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" || port == "" {
		return []error{fmt.Errorf("DB_ENDPOINT=%q must be host:port, such as my-proxy.proxy-abc.eu-west-1.rds.amazonaws.com:3306", ep)}
	}
	return nil
}
