package evidence

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// openSQLite opens the embedded store in a temporary directory.
func openSQLite(t testing.TB) storage.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lokerwatch.db"))
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
