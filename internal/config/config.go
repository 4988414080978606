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
	Auth      DBAuth
	DSN       string // dsn mode; never log it
	SecretARN string // secret mode
	Endpoint  string // host:port; iam mode, optional override in secret mode
	// ReadOnlyEndpoint (DB_READ_ONLY_ENDPOINT, host:port, optional) is the proxy's read-only
	// endpoint. A region whose cluster is a secondary has no writer behind the read/write endpoint,
	// so its reads need this one (secret and iam modes; same credentials as Endpoint).
	ReadOnlyEndpoint string
	User             string // iam mode
	Name             string // iam mode
	Region           string // for IAM tokens and AWS clients
	QueryTimeout     time.Duration
	// CAFile (DB_CA_FILE, optional) is a PEM bundle trusted for the database's TLS certificate beside
	// the system roots: the RDS CA bundle when a function connects to a cluster endpoint directly
	// rather than through RDS Proxy (whose certificates chain to the system's Amazon roots).
	CAFile string
}

// NeedsAWS reports whether the mode calls AWS APIs (and so needs an aws.Config).
func (c DB) NeedsAWS() bool { return c.Auth == DBAuthSecret || c.Auth == DBAuthIAM }

// TodoAPI is the todo-api function's configuration.
type TodoAPI struct {
	Region  string // AWS_REGION: reported by /health and the X-Switchyard-Region header
	Version string // APP_VERSION, "dev" when unset
	DB      DB
	Tracing bool // X-Ray: on when AWS_XRAY_DAEMON_ADDRESS is set (as Lambda does with tracing active)
	// OriginSecrets are the values of the edge's origin secret header the API accepts: ORIGIN_SECRET
	// and, while a rotation runs, ORIGIN_SECRET_PREVIOUS. Empty means no edge fronts this API and no
	// header is required. Never log them.
	OriginSecrets []string
	// LeaseHolder is the name every write checks, in its transaction, that this region holds the
	// writer lease under (see internal/lease): the region's name when WRITER_LEASE=on, empty (no
	// check) when off. Off by default so that a deployment without the lease renewer keeps
	// writing; the template turns it on.
	LeaseHolder string
	// CursorKey (CURSOR_KEY) authenticates the pagination cursors the API hands out, so a client
	// cannot make one up. Both regions need the same key for a cursor to survive a failover.
	CursorKey []byte
}

// MinOriginSecretLength is the shortest ORIGIN_SECRET accepted: it stands between the public and a
// write that bypasses the edge, so it must not be guessable.
const MinOriginSecretLength = 32

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
	// Responses says where custom resource responses may go.
	Responses CustomResourceResponses
}

// CustomResourceResponses widens where the migrate function sends CloudFormation custom resource
// responses. Deployed, both fields are empty: responses go only over HTTPS, verified against the
// system roots, to CloudFormation's pre-signed S3 hosts on amazonaws.com. Tests that run the real
// binary set them to reach a local HTTPS listener; the template never does (a template check says so).
type CustomResourceResponses struct {
	// TestHosts (CFN_RESPONSE_TEST_HOSTS, comma-separated host:port) are accepted as response hosts.
	TestHosts []string
	// TestCAFile (CFN_RESPONSE_TEST_CA_FILE) is a PEM certificate trusted for those hosts.
	TestCAFile string
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
	current, previous := get(env, "ORIGIN_SECRET"), get(env, "ORIGIN_SECRET_PREVIOUS")
	switch {
	case current == "" && previous != "":
		errs = append(errs, errors.New("ORIGIN_SECRET_PREVIOUS is set without ORIGIN_SECRET: set the new secret in ORIGIN_SECRET and keep the old one in ORIGIN_SECRET_PREVIOUS until the edge sends the new one"))
	case current != "":
		for name, v := range map[string]string{"ORIGIN_SECRET": current, "ORIGIN_SECRET_PREVIOUS": previous} {
			if v != "" && len(v) < MinOriginSecretLength {
				errs = append(errs, fmt.Errorf("%s is %d characters long: use at least %d random characters", name, len(v), MinOriginSecretLength))
			}
		}
		c.OriginSecrets = []string{current}
		if previous != "" {
			c.OriginSecrets = append(c.OriginSecrets, previous)
		}
	}
	switch v := get(env, "WRITER_LEASE"); v {
	case "", "off":
	case "on":
		c.LeaseHolder = c.Region
	default:
		errs = append(errs, fmt.Errorf("WRITER_LEASE=%q is not on or off", v))
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
	c := Migrate{DB: db, AppSecretARN: get(env, "DB_APP_SECRET_ARN"), Tracing: tracing(env),
		Responses: CustomResourceResponses{TestCAFile: get(env, "CFN_RESPONSE_TEST_CA_FILE")}}
	for _, h := range strings.Split(get(env, "CFN_RESPONSE_TEST_HOSTS"), ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if _, _, splitErr := net.SplitHostPort(h); splitErr != nil {
			err = errors.Join(err, fmt.Errorf("CFN_RESPONSE_TEST_HOSTS: %q is not host:port", h))
			continue
		}
		c.Responses.TestHosts = append(c.Responses.TestHosts, strings.ToLower(h))
	}
	if len(c.Responses.TestHosts) > 0 && c.Responses.TestCAFile == "" {
		err = errors.Join(err, errors.New("CFN_RESPONSE_TEST_HOSTS needs CFN_RESPONSE_TEST_CA_FILE: responses go over HTTPS only"))
	}
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
		Auth:             DBAuth(get(env, "DB_AUTH")),
		SecretARN:        get(env, "DB_SECRET_ARN"),
		Endpoint:         get(env, "DB_ENDPOINT"),
		ReadOnlyEndpoint: get(env, "DB_READ_ONLY_ENDPOINT"),
		User:             get(env, "DB_USER"),
		Name:             get(env, "DB_NAME"),
		Region:           get(env, "AWS_REGION"),
		CAFile:           get(env, "DB_CA_FILE"),
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
	if c.ReadOnlyEndpoint != "" {
		if c.Auth == DBAuthDSN {
			errs = append(errs, errors.New("DB_READ_ONLY_ENDPOINT needs DB_AUTH=secret or iam: in dsn mode DB_DSN names the one server"))
		} else {
			errs = append(errs, checkEndpointVar("DB_READ_ONLY_ENDPOINT", c.ReadOnlyEndpoint)...)
		}
	}
	return c, errors.Join(errs...)
}

// ReadOnly is the configuration of the read-only endpoint's pool: c with Endpoint set to
// ReadOnlyEndpoint. ok is false when no read-only endpoint is configured.
func (c DB) ReadOnly() (ro DB, ok bool) {
	if c.ReadOnlyEndpoint == "" {
		return DB{}, false
	}
	c.Endpoint, c.ReadOnlyEndpoint = c.ReadOnlyEndpoint, ""
	return c, true
}

func checkEndpoint(ep string) []error { return checkEndpointVar("DB_ENDPOINT", ep) }

func checkEndpointVar(name, ep string) []error {
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" || port == "" {
		return []error{fmt.Errorf("%s=%q must be host:port, such as my-proxy.proxy-abc.eu-west-1.rds.amazonaws.com:3306", name, ep)}
	}
	return nil
}
