// Package db opens the *sql.DB the functions use, in one of three modes chosen by configuration
// (DB_AUTH):
//
//   - iam: an IAM authentication token from feature/rds/auth.BuildAuthToken for every new connection
//     (tokens are checked only at connect and live 15 minutes), sent as a cleartext password over TLS
//     verified against the system trust store, which holds the Amazon roots RDS Proxy's certificates
//     chain to;
//   - secret: user, password, host, port and dbname from a Secrets Manager secret fetched at cold
//     start and fetched again, once, when the database refuses the credentials (rotation);
//   - dsn: a plain go-sql-driver DSN for local runs and tests.
//
// Every mode forces interpolateParams=true (a prepared statement would pin the RDS Proxy connection)
// and parseTime=true. The pool is sized for one Lambda execution environment: at most two open
// connections, none older than ten minutes. QueryContext bounds each call by DB_QUERY_TIMEOUT and by
// the invocation's own deadline. DSNs, passwords and tokens are never logged nor put in errors.
package db
