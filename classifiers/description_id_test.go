package classifiers

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every rule an analyst can see — the YAML rules, the generated cue.* and
// fact.* rules — has an English and an Indonesian description
// (description_id), and they are not the same text: the console shows the
// one in the analyst's language.
func TestEveryRuleHasBothDescriptions(t *testing.T) {
	e := engine(t)
	if len(e.rules) < 100 {
		t.Fatalf("only %d rules loaded", len(e.rules))
	}
	for _, r := range e.rules {
		en, id := e.RuleDescription(r.id, "en"), e.RuleDescription(r.id, "id")
		switch {
		case strings.TrimSpace(en) == "":
			t.Errorf("rule %s (%s): no English description", r.id, r.where)
		case r.descID == "":
			t.Errorf("rule %s (%s): no Indonesian description (description_id)", r.id, r.where)
		case id == en:
			t.Errorf("rule %s (%s): the Indonesian description is the English one: %q", r.id, r.where, id)
		}
	}
	for _, c := range e.lex.cues {
		if strings.Contains(c.name, ":") || noIndicator[c.name] {
			continue // internal cues are not rules
		}
		if c.descID == "" {
			t.Errorf("cue %s (%s): no description_id", c.name, c.where)
		}
	}
}

func TestRuleDescriptionLanguages(t *testing.T) {
	e := engine(t)
	for _, tc := range []struct{ rule, lang, want string }{
		{"np.one_way_ticket", "en", "One-way ticket only (BP2MI)."},
		{"np.one_way_ticket", "id", "Hanya tiket sekali jalan (BP2MI)."},
		{"np.one_way_ticket", "fr", "One-way ticket only (BP2MI)."},
		{"fact.whatsapp", "id", "Kontaknya nomor atau tautan WhatsApp."},
		{"cue.one_way_ticket", "id", "hanya tiket sekali jalan"},
		{"no.such_rule", "id", ""},
	} {
		if got := e.RuleDescription(tc.rule, tc.lang); got != tc.want {
			t.Errorf("RuleDescription(%s, %s) = %q, want %q", tc.rule, tc.lang, got, tc.want)
		}
	}
}

// A rule file of one's own may give description_id or not (then analysts
// reading Indonesian see the English one); a misspelt field is an error
// with its file and line.
func TestDescriptionIDInRuleFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`rules:
  - id: my.both
    category: scam
    weight: 10
    description: "Mine, in English."
    description_id: "Milik saya, dalam bahasa Indonesia."
    when: lure_job
  - id: my.english_only
    category: scam
    weight: 10
    description: "Only English."
    when: lure_job
`)
	e, err := New(Options{RulesDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.RuleDescription("my.both", "id"); got != "Milik saya, dalam bahasa Indonesia." {
		t.Errorf("my.both in id: %q", got)
	}
	if got := e.RuleDescription("my.english_only", "id"); got != "Only English." {
		t.Errorf("my.english_only in id: %q", got)
	}
	write(`rules:
  - id: my.typo
    category: scam
    weight: 10
    description: "x"
    descripton_id: "y"
    when: lure_job
`)
	_, err = New(Options{RulesDir: dir})
	if err == nil || !strings.Contains(err.Error(), "mine.yaml:6") || !strings.Contains(err.Error(), `"descripton_id"`) {
		t.Fatalf("misspelt description_id: %v", err)
	}
}

// A translation changes no score, so it leaves the rules version (and the
// model trained for it) alone.
func TestTranslationsLeaveRulesVersion(t *testing.T) {
	for _, tc := range []struct{ name, with, without string }{
		{"one line", "rules:\n  - id: a\n    description: x\n    description_id: y\n    when: b\n", "rules:\n  - id: a\n    description: x\n    when: b\n"},
		{"folded", "  - cue: c\n    description_id: >\n      panjang\n      sekali\n    terms: [x]\n", "  - cue: c\n    terms: [x]\n"},
		{"none", "rules: []\n", "rules: []\n"},
	} {
		if got := string(withoutTranslations([]byte(tc.with))); got != tc.without {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.without)
		}
	}
	dir := t.TempDir()
	rule := "rules:\n  - id: my.r\n    category: scam\n    weight: 10\n    description: \"Mine.\"\n%s    when: lure_job\n"
	version := func(extra string) string {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "mine.yaml"), fmt.Appendf(nil, rule, extra), 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := New(Options{RulesDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return e.RulesVersion()
	}
	if a, b := version(""), version("    description_id: \"Milik saya.\"\n"); a != b {
		t.Errorf("adding description_id changed the rules version: %s -> %s", a, b)
	}
	if a, b := version(""), version("    evidence: [lure_job]\n"); a == b {
		t.Errorf("adding a real field left the rules version at %s", a)
	}
}
