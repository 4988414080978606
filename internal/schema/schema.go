// Package schema holds the database migrations, embedded in the binary, and applies them in order,
// recording each in schema_migrations. Applying is idempotent: applied versions are skipped, each
// statement is written to be safe to repeat (CREATE ... IF NOT EXISTS), and concurrent runs are
// serialised by a named lock. Only the migrate function calls Migrate, never a request.
package schema

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one embedded migration file.
type Migration struct {
	Version int
	Name    string // file name without .sql, such as 0001_todos
	SQL     string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	return load(files, "migrations")
}

func load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".sql")
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: the name must start with a positive version and an underscore, such as 0003_add_column.sql", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Result says what Migrate did.
type Result struct {
	Applied []string `json:"applied"` // names applied by this run, in order; empty when up to date
	Version int      `json:"version"` // the schema version now in place
}

// lockName serialises migrators across the cluster; lockWait bounds the wait for another run.
const (
	lockName = "switchyard.schema_migrations"
	lockWait = 30 // seconds
)

// Migrate applies the embedded migrations not yet recorded in schema_migrations.
func Migrate(ctx context.Context, db *sql.DB) (Result, error) {
	ms, err := Migrations()
	if err != nil {
		return Result{}, err
	}
	return apply(ctx, db, ms)
}

func apply(ctx context.Context, db *sql.DB, ms []Migration) (Result, error) {
	// GET_LOCK belongs to a session: hold one connection for the whole run.
	conn, err := db.Conn(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()

	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", lockName, lockWait).Scan(&got); err != nil {
		return Result{}, fmt.Errorf("migrate: take lock %s: %w", lockName, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return Result{}, fmt.Errorf("migrate: another migration held lock %s for %ds; try again when it finishes", lockName, lockWait)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", lockName)

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INT UNSIGNED NOT NULL PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    applied_at DATETIME(6)  NOT NULL
) ENGINE = InnoDB`); err != nil {
		return Result{}, fmt.Errorf("migrate: create schema_migrations: %w", err)
	}
	done := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return Result{}, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return Result{}, fmt.Errorf("migrate: read schema_migrations: %w", err)
		}
		done[v] = true
	}
	if err := rows.Close(); err != nil {
		return Result{}, fmt.Errorf("migrate: read schema_migrations: %w", err)
	}

	res := Result{Applied: []string{}}
	for v := range done {
		res.Version = max(res.Version, v)
	}
	for _, m := range ms {
		if done[m.Version] {
			continue
		}
		// MySQL commits DDL implicitly, so a migration cannot be one transaction; statements that
		// are safe to repeat make a run interrupted between them safe to run again.
		for i, stmt := range statements(m.SQL) {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return res, fmt.Errorf("migrate: %s statement %d: %w", m.Name, i+1, err)
			}
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return res, fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
		res.Applied = append(res.Applied, m.Name)
		res.Version = max(res.Version, m.Version)
	}
	return res, nil
}

// statements splits a migration file on semicolons that end a line, dropping comment-only lines.
// Migrations therefore must not contain such a semicolon inside a string literal.
func statements(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); s != "" {
				out = append(out, s)
			}
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
