package schema

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
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
// The statements take the name and password as parameters: db must interpolate them client-side
// (interpolateParams=true, which internal/db forces), since MySQL cannot prepare account statements.
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
		{"CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", []any{u.Name, u.Password}},
		{"ALTER USER ?@'%' IDENTIFIED BY ?", []any{u.Name, u.Password}},
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
