package crawler_test

import (
	"testing"

	"github.com/lokerwatch/lokerwatch/classifiers"
)

// newClassifier is the real engine with its built-in rules, as `crawl` uses it.
func newClassifier(t testing.TB) *classifiers.Engine {
	t.Helper()
	eng, err := classifiers.New(classifiers.Options{})
	if err != nil {
		t.Fatalf("classifiers.New: %v", err)
	}
	return eng
}
