package classifiers

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveMatches finds every occurrence of every pattern by brute force.
func naiveMatches(patterns []string, text []byte) []acMatch {
	var out []acMatch
	for pid, p := range patterns {
		for i := 0; i+len(p) <= len(text); i++ {
			if bytes.HasPrefix(text[i:], []byte(p)) {
				out = append(out, acMatch{pid, i, i + len(p)})
			}
		}
	}
	return out
}

func sortMatches(m []acMatch) {
	slices.SortFunc(m, func(a, b acMatch) int {
		if a.end != b.end {
			return a.end - b.end
		}
		if a.start != b.start {
			return a.start - b.start
		}
		return a.pid - b.pid
	})
}

func checkAutomaton(t *testing.T, patterns []string, text []byte) {
	t.Helper()
	a, err := buildAutomaton(patterns)
	if err != nil {
		t.Fatal(err)
	}
	checkWith(t, a, patterns, text)
}

func checkWith(t *testing.T, a *automaton, patterns []string, text []byte) {
	t.Helper()
	got := a.appendMatches(text, nil)
	want := naiveMatches(patterns, text)
	sortMatches(got)
	sortMatches(want)
	if !slices.Equal(got, want) {
		t.Fatalf("patterns %q text %q:\n got %v\nwant %v", patterns, text, got, want)
	}
}

// TestAutomatonMatchesNaive compares the automaton with a brute-force scan
// on random patterns over a small alphabet (many overlaps, shared prefixes
// and suffixes, patterns inside patterns) and on the real lexicon.
func TestAutomatonMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := []byte("abc d\xc3")
	word := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return b
	}
	for round := 0; round < 300; round++ {
		var pats []string
		seen := map[string]bool{}
		for k := 0; k < 1+r.IntN(12); k++ {
			p := string(word(1 + r.IntN(5)))
			if !seen[p] {
				seen[p] = true
				pats = append(pats, p)
			}
		}
		checkAutomaton(t, pats, word(r.IntN(80)))
	}
	checkAutomaton(t, []string{"he", "she", "his", "hers"}, []byte("ushers and his shes"))

	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"testdata/tuned.jsonl", "testdata/tuned-late.jsonl"} {
		for _, ad := range loadLines(t, f) {
			checkWith(t, e.lex.ac, e.lex.patterns, Normalize(ad.Title+"\n"+ad.Text).Text)
		}
	}
	a := e.lex.ac
	t.Logf("default lexicon: %d patterns, %d states (%d dense), %d byte classes, %d KB", len(e.lex.patterns), a.states, a.nDense, a.stride, a.memory()>>10)
	if a.memory() > 1<<20 {
		t.Errorf("automaton tables take %d KB; the compact layout should stay well under 1 MB", a.memory()>>10)
	}
}

// TestAutomatonLarge builds a lexicon with more than 65,535 states (state
// numbers past 16 bits).
func TestAutomatonLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a large automaton")
	}
	r := rand.New(rand.NewPCG(3, 4))
	var pats []string
	for k := 0; k < 9000; k++ {
		b := make([]byte, 12)
		for i := range b {
			b[i] = 'a' + byte(r.IntN(26))
		}
		pats = append(pats, string(b))
	}
	pats = append(pats, "ab", "b")
	text := []byte(pats[5] + " xab " + pats[77] + pats[78][:6])
	a, err := buildAutomaton(pats)
	if err != nil {
		t.Fatal(err)
	}
	if a.states < 1<<16 {
		t.Fatalf("only %d states", a.states)
	}
	checkWith(t, a, pats, text)
}
