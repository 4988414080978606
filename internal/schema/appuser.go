package schema

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// identifier is what EnsureAppUser accepts as a user or database name: it is written into the
// statements, so nothing that needs quoting gets that far.
var identifier = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

// AppUser is the database account the API connects as (through RDS Proxy, which holds its password).
type AppUser struct {
	Name     string
	Password string
}

// EnsureAppUser creates the application's user, or sets its password to the current one (after a
// rotation), and grants it row access to the connected database and nothing more: no DDL, and no
// SUPER or READ ONLY ADMIN, so that a read-only (reader) region refuses its writes as it should.
// The password itself never reaches the server: the statements carry its mysql_native_password hash
// (computed here), so the server's general log, slow log or process list cannot show it. The name and
// hash are parameters that db interpolates client-side (interpolateParams=true, which internal/db
// forces), since MySQL cannot prepare account statements.
func EnsureAppUser(ctx context.Context, db *sql.DB, u AppUser) error {
	if !identifier.MatchString(u.Name) {
		return fmt.Errorf("app user name %q: use letters, digits and underscores only", u.Name)
	}
	if u.Password == "" {
		return fmt.Errorf("app user %s: the secret has an empty password", u.Name)
	}
	var database sql.NullString
	if err := db.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&database); err != nil {
		return fmt.Errorf("app user %s: find the current database: %w", u.Name, err)
	}
	if !identifier.MatchString(database.String) {
		return fmt.Errorf("app user %s: the connection has no usable current database (%q): set dbname in the admin secret", u.Name, database.String)
	}
	stmts := []struct {
		query string
		args  []any
	}{
		// MySQL 8.0 (Aurora MySQL 3) and MariaDB both take IDENTIFIED WITH <plugin> AS '<hash>'.
		{"CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED WITH mysql_native_password AS ?", []any{u.Name, NativePasswordHash(u.Password)}},
		{"ALTER USER ?@'%' IDENTIFIED WITH mysql_native_password AS ?", []any{u.Name, NativePasswordHash(u.Password)}},
		{"GRANT SELECT, INSERT, UPDATE, DELETE ON `" + database.String + "`.* TO ?@'%'", []any{u.Name}},
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.query, s.args...); err != nil {
			// The statement text carries placeholders only: no password reaches the error.
			return fmt.Errorf("app user %s: %s: %w", u.Name, s.query, err)
		}
	}
	return nil
}

// NativePasswordHash is the mysql_native_password authentication string of password: "*" and the
// upper-case hex of SHA1(SHA1(password)), what the server stores and checks logins against.
func NativePasswordHash(password string) string {
	first := sha1.Sum([]byte(password))
	second := sha1.Sum(first[:])
	return "*" + strings.ToUpper(hex.EncodeToString(second[:]))
}
