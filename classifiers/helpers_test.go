package classifiers

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/lokerwatch/lokerwatch/internal/shareddata"
)

func loadLines(t testing.TB, path string) []InputLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []InputLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var in InputLine
		if err := json.Unmarshal(sc.Bytes(), &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

// devSet is ../shared/data/ads-dev.jsonl (never copied into the
// repository), or the test skips.
func devSet(t testing.TB) string {
	t.Helper()
	return shareddata.Path(t, "ads-dev.jsonl")
}

var testEngine *Engine

func engine(t testing.TB) *Engine {
	t.Helper()
	if testEngine == nil {
		e, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		testEngine = e
	}
	return testEngine
}

// engineAllFacts is a fresh default engine that writes every fact into the
// expr env, also those no rule names (normally skipped), so tests can read
// entity facts such as min_age from it.
func engineAllFacts(t testing.TB) *Engine {
	t.Helper()
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range e.factUsed {
		e.factUsed[i] = true
	}
	return e
}
