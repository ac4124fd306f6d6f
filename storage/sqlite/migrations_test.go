package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
)

// A database made by the release before the numbered migrations (base
// schema, user_version 1) is brought up to date on open, keeps its data,
// and gets the persona and case tables.
func TestMigrateFromBaseSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, disabled) VALUES ('old', 'admin', 'x', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open old database: %v", err)
	}
	defer st.Close()
	var v int
	if err := st.r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v != latestVersion() || v < 3 {
		t.Fatalf("user_version %d (%v), want %d", v, err, latestVersion())
	}
	if u, err := st.GetUser(ctx, "old"); err != nil || u.Role != storage.RoleAdmin {
		t.Fatalf("old user: %+v %v", u, err)
	}
	if _, err := st.CreateCase(ctx, "after upgrade", storage.CaseActor{User: "old"}); err != nil {
		t.Fatalf("case on a migrated database: %v", err)
	}
	if _, err := st.LinkPersona(ctx, storage.PersonaLink{AdID: "a"}); err != nil {
		t.Fatalf("persona on a migrated database: %v", err)
	}
	// A database newer than this build is refused, not damaged.
	st.Close()
	db, _ = sql.Open("sqlite", path)
	db.ExecContext(ctx, `PRAGMA user_version = 999`)
	db.Close()
	if st2, err := Open(ctx, path); err == nil {
		st2.Close()
		t.Fatal("opened a database from a newer release")
	}
}
