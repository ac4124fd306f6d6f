package classifiers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func writeRule(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRuleLoadErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // substrings of the error
	}{
		{"malformed yaml", "rules:\n  - id: a\n    weight: [1,\n", []string{"x.yaml:3:"}},
		{"bad indentation", "rules:\n  - id: a\n  category: scam\n weight: 1\n", []string{"x.yaml:"}},
		{"unknown fact", "rules:\n  - id: r1\n    category: scam\n    weight: 10\n    description: d\n    when: lure_job && no_such_fact\n",
			[]string{"x.yaml:2:", "rule r1", "unknown name no_such_fact"}},
		{"not boolean", "rules:\n  - id: r1\n    category: scam\n    weight: 10\n    description: d\n    when: salary_idr + 1\n",
			[]string{"x.yaml:2:", "rule r1", "bool"}},
		{"unknown field", "rules:\n  - id: r1\n    categroy: scam\n", []string{"x.yaml:3:", "unknown rule field \"categroy\""}},
		{"bad category", "rules:\n  - id: r1\n    category: fraud\n    weight: 10\n    description: d\n    when: lure_job\n", []string{"x.yaml:2:", "category \"fraud\""}},
		{"zero weight", "rules:\n  - id: r1\n    category: scam\n    weight: 0\n    description: d\n    when: lure_job\n", []string{"x.yaml:2:", "weight"}},
		{"no description", "rules:\n  - id: r1\n    category: scam\n    weight: 5\n    when: lure_job\n", []string{"x.yaml:2:", "description"}},
		{"duplicate id", "rules:\n  - {id: r1, category: scam, weight: 5, description: d, when: lure_job}\n  - {id: r1, category: scam, weight: 5, description: d, when: lure_job}\n", []string{"x.yaml:3:", "twice"}},
		{"bad term", "cues:\n  - cue: c1\n    terms:\n      id: [\"{a|b\"]\n", []string{"x.yaml:2:", "cue c1"}},
		{"bad cue name", "cues:\n  - cue: Bad-Name\n    terms: {id: [x]}\n", []string{"x.yaml:2:", "lower_snake_case"}},
		{"bad language", "cues:\n  - cue: c1\n    terms: {fr: [x]}\n", []string{"x.yaml:2:", "language"}},
		{"unknown top-level", "rulez: []\n", []string{"x.yaml:1:", "unknown file field"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Options{RulesDir: writeRule(t, c.body)})
			if err == nil {
				t.Fatal("loaded without error")
			}
			var le *LoadError
			if !errors.As(err, &le) {
				t.Errorf("error %T is not a *LoadError: %v", err, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := New(Options{RulesDir: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Error("a missing rules directory loaded")
	}
}

// TestRulesDir adds a keyword and a rule from a directory, as a rule author
// would, and checks they take effect.
func TestRulesDir(t *testing.T) {
	ad := func() *lokerwatch.Ad {
		return &lokerwatch.Ad{Title: "Kerja Malaysia", Text: "Kerja kebun di Malaysia, dijemput di pelabuhan Tawau."}
	}
	base := engine(t)
	a0 := ad()
	base.Classify(a0)
	e, err := New(Options{RulesDir: "testdata/rules-extra"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Version() == base.Version() {
		t.Error("rule set version did not change with extra rules")
	}
	a1 := ad()
	e.Classify(a1)
	if a0.Assessment.Flagged || !a1.Assessment.Flagged {
		t.Fatalf("flagged without/with extra rules: %v/%v, signals %v", a0.Assessment.Flagged, a1.Assessment.Flagged, ruleIDs(a1.Assessment))
	}
	var ev string
	for _, s := range a1.Assessment.Signals {
		if s.Rule == "local.ferry_pickup" && s.Weight > 0 {
			ev = s.Evidence
		}
	}
	if ev != "dijemput di pelabuhan" {
		t.Errorf("evidence %q", ev)
	}
	// the merged cue keeps its default terms and gains the new one
	a2 := &lokerwatch.Ad{Title: "x", Text: "operator chat"}
	e.Classify(a2)
	st := e.pool.Get().(*state)
	st.run(a2)
	got := st.truthy[e.factID["lure_job"]]
	e.pool.Put(st)
	if !got {
		t.Error("extra term of merged cue lure_job did not match")
	}
}

func TestThresholdAndRates(t *testing.T) {
	text := "Dibutuhkan customer service di Sihanoukville. Gaji $1.000, tanpa pengalaman, tiket ditanggung, visa turis."
	low, err := New(Options{Threshold: 99})
	if err != nil {
		t.Fatal(err)
	}
	ad := &lokerwatch.Ad{Title: "x", Text: text}
	low.Classify(ad)
	if ad.Assessment.Flagged && ad.Assessment.Score < 99 {
		t.Errorf("flagged at score %d with threshold 99", ad.Assessment.Score)
	}
	r, err := New(Options{Rates: map[string]float64{"usd": 20000}})
	if err != nil {
		t.Fatal(err)
	}
	ad = &lokerwatch.Ad{Title: "x", Text: "Gaji $1.000"}
	r.Classify(ad)
	if ad.Entities.SalaryIDR != 20000000 {
		t.Errorf("salary with USD rate 20000 = %d", ad.Entities.SalaryIDR)
	}
	if _, err := New(Options{Rates: map[string]float64{"USD": -1}}); err == nil {
		t.Error("negative rate accepted")
	}
}

// FuzzRuleLoader: any bytes as a rule file load or fail with an error;
// never a panic. Seeds: testdata/fuzz/FuzzRuleLoader.
func FuzzRuleLoader(f *testing.F) {
	seed, err := os.ReadFile("testdata/rules-extra/my-rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("rules:\n  - {id: a, category: scam, weight: 5, description: d, when: 'lure_job && salary_ratio > 2'}\n"))
	f.Add([]byte("cues:\n  - cue: c\n    terms: {id: ['{a|b} *2 [c] d~']}\n"))
	f.Add([]byte("countries:\n  - {code: XX, names: [x], wage: 1, currency: USD}\n"))
	f.Add([]byte(": : :\n\t- ["))
	// A small base keeps each run fast; the loader code is the same.
	base := []namedFile{{"base.yaml", []byte("cues:\n  - cue: lure_job\n    terms: {id: [admin, cs]}\n  - cue: abroad\n    terms: {id: [luar negeri]}\n" +
		"currencies:\n  - {code: USD, rate: 16000, names: [usd, $]}\n" +
		"countries:\n  - {code: KH, names: [kamboja], wage: 200, currency: USD, placement: false}\n" +
		"rules:\n  - {id: b1, category: scam, weight: 60, description: d, when: lure_job && dest_no_placement}\n")}}
	f.Fuzz(func(t *testing.T, data []byte) {
		files := append(append([]namedFile{}, base...), namedFile{"fuzz.yaml", data})
		e, err := newFromFiles(Options{}, files)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") && !strings.Contains(err.Error(), "base.yaml") && !strings.Contains(err.Error(), "lexicon") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		ad := &lokerwatch.Ad{Title: "Loker", Text: "CS Kamboja gaji $1000 visa turis WA 0812 3456 7890"}
		e.Classify(ad)
		if ad.Assessment == nil {
			t.Fatal("no assessment")
		}
	})
}

// TestRuleRuntimeFailure: a rule whose condition fails on an ad (an index
// out of range) becomes a "rule failed" signal carrying its id, and the
// other rules still run. Signals are ordered by contribution; the rules of
// equal weight here keep rule order, the failure (no weight) after them.
func TestRuleRuntimeFailure(t *testing.T) {
	e, err := New(Options{RulesDir: writeRule(t, "rules:\n"+
		"  - {id: local.a_first, category: scam, weight: 5, description: first, when: text_len > 0}\n"+
		"  - {id: local.b_broken, category: scam, weight: 5, description: broken, when: 'countries[3] == \"KH\"'}\n"+
		"  - {id: local.c_last, category: scam, weight: 5, description: last, when: text_len > 0}\n")})
	if err != nil {
		t.Fatal(err)
	}
	ad := &lokerwatch.Ad{Title: "x", Text: "kerja di Kamboja"}
	e.Classify(ad)
	var got []string
	for _, s := range ad.Assessment.Signals {
		if strings.HasPrefix(s.Rule, "local.") {
			got = append(got, s.Rule+"|"+strings.SplitN(s.Description, ":", 2)[0])
		}
	}
	want := []string{"local.a_first|first", "local.c_last|last", "local.b_broken|rule failed"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("signals %v, want %v", got, want)
	}
}
