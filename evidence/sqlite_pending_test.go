package evidence

import (
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
)

// openSQLite returns nil until storage/sqlite lands (temporary).
func openSQLite(t testing.TB) storage.Store { return nil }
