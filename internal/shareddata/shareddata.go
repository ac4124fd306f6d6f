// Package shareddata finds the team's labelled data sets for tests: they
// live in ../shared/data beside the module's checkout (there in CI too)
// and are never copied into the repository.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Path is ../shared/data/name beside the module root. The test skips,
// saying so, when the file is not there.
func Path(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not present (it lives in shared/ beside the clone): %v", p, err)
	}
	return p
}
