package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
	"github.com/lokerwatch/lokerwatch/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		s, err := sqlite.OpenURL(context.Background(), "sqlite::memory:")
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
