package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Schema changes after the base schema (version 1) are numbered files in
// migrations/ ("0003_investigation.sql"): a database at PRAGMA user_version
// v gets every file numbered above v, in order, each in the migration's
// transaction, and ends at the highest number.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	n    int
	name string
	sql  string
}

func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, p := range names {
		base := strings.TrimPrefix(p, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n <= 1 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_what.sql with NNNN above 1", base)
		}
		b, err := migrationFS.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{n: n, name: base, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].n < out[j].n })
	for i := 1; i < len(out); i++ {
		if out[i].n == out[i-1].n {
			return nil, fmt.Errorf("migrations %s and %s have the same number", out[i-1].name, out[i].name)
		}
	}
	return out, nil
}

var migrations = func() []migration {
	m, err := loadMigrations()
	if err != nil {
		panic(err) // embedded files: a build error, caught by every test
	}
	return m
}()

// latestVersion is the schema version a migrated database ends at.
func latestVersion() int {
	if len(migrations) == 0 {
		return schemaVersion
	}
	return max(schemaVersion, migrations[len(migrations)-1].n)
}

// applyMigrations runs the files numbered above v.
func applyMigrations(ctx context.Context, tx *txn, v int) error {
	for _, m := range migrations {
		if m.n <= v {
			continue
		}
		if _, err := tx.Tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
