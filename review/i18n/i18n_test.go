package i18n

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// sameInBoth are messages whose Indonesian is rightly the English text
// (names, loanwords the desk's staff use as they are). Anything else left
// in English in id.toml is an untranslated message.
var sameInBoth = map[string]bool{
	"nav.audit": true, "filter.status": true, "cases.col.status": true, "case.status": true,
	"export.format": true, "kind.whatsapp": true, "kind.telegram": true, "kind.domain": true,
	"role.admin": true, "role.investigator": true, "itemkind.persona": true,
	"common.persona_n": true, "persona.title": true, "ad.persona": true, "case.title": true, "searchkind.email": true,
}

var placeholderRE = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Every message is in both catalogs, with the same placeholders, in the
// plural forms each language needs (English: one and other when it counts;
// Indonesian: other), and translated.
func TestEveryMessageInBothLanguages(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	en, id := c.msgs[English], c.msgs[Indonesian]
	if len(en) < 200 {
		t.Fatalf("English catalog has only %d messages", len(en))
	}
	for _, k := range slices.Sorted(maps.Keys(en)) {
		m := en[k]
		tr, ok := id[k]
		if !ok {
			t.Errorf("%s: not in id.toml", k)
			continue
		}
		if strings.TrimSpace(tr.Other) == "" {
			t.Errorf("%s: empty in id.toml (Indonesian needs the \"other\" form)", k)
		}
		if strings.TrimSpace(m.Other) == "" {
			t.Errorf("%s: no \"other\" form in en.toml", k)
		}
		if strings.Contains(m.Other, ".Count") && m.One == "" {
			t.Errorf("%s: counts (.Count) but has no \"one\" form in en.toml", k)
		}
		want := placeholders(m.One + m.Other)
		if got := placeholders(tr.Other); !slices.Equal(got, want) {
			t.Errorf("%s: placeholders %v in id.toml, %v in en.toml", k, got, want)
		}
		if tr.Other == m.Other && !sameInBoth[k] {
			t.Errorf("%s: id.toml has the English text %q (translate it, or list it in sameInBoth)", k, m.Other)
		}
	}
	for k := range id {
		if _, ok := en[k]; !ok {
			t.Errorf("%s: in id.toml but not in en.toml (a stale or misspelt key)", k)
		}
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		cookie, accept string
		want           Lang
	}{
		{"", "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7", Indonesian},
		{"", "id", Indonesian},
		{"", "in-ID", Indonesian}, // the old code for Indonesian
		{"", "en-US,en;q=0.9", English},
		{"", "en-GB,id;q=0.5", English},
		{"", "fr-FR,id;q=0.3", Indonesian}, // the first language we have
		{"", "fr-FR", English},
		{"", "", English},
		{"", "!!!;q=x", English},
		{"", strings.Repeat("id-ID,", 5000), Indonesian},
		{"en", "id-ID", English}, // the reader's choice wins
		{"id", "en-US", Indonesian},
		{"ID", "en-US", English}, // only the exact codes
		{"<script>", "id", Indonesian},
	} {
		if got := Match(tc.cookie, tc.accept); got != tc.want {
			t.Errorf("Match(%q, %.40q) = %s, want %s", tc.cookie, tc.accept, got, tc.want)
		}
	}
}

func TestT(t *testing.T) {
	c, err := parse(fstest.MapFS{
		"en.toml": {Data: []byte("a = \"Queue\"\nonly_en = \"English only\"\n[n]\none = \"{{.Count}} ad\"\nother = \"{{.Count}} ads\"\n[g]\nhi = \"Hello {{.Name}}\"\n")},
		"id.toml": {Data: []byte("a = \"Antrean\"\n[n]\nother = \"{{.Count}} iklan\"\n[g]\nhi = \"Halo {{.Name}}\"\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lang Lang
		key  string
		args []any
		want string
	}{
		{English, "a", nil, "Queue"},
		{Indonesian, "a", nil, "Antrean"},
		{English, "n", []any{"Count", 1}, "1 ad"},
		{English, "n", []any{"Count", 3}, "3 ads"},
		{Indonesian, "n", []any{"Count", 1}, "1 iklan"},
		{Indonesian, "g.hi", []any{"Name", "<b>ina</b>"}, "Halo <b>ina</b>"}, // text: the page escapes it
		{Indonesian, "only_en", nil, "English only"},                         // falls back to English
		{Indonesian, "no.such", nil, "no.such"},                              // shows the key
		{"xx", "a", nil, "Queue"},
		{English, "g.hi", []any{"Name"}, "Hello <no value>"}, // odd args do not panic
	} {
		if got := c.T(tc.lang, tc.key, tc.args...); got != tc.want {
			t.Errorf("T(%s, %s, %v) = %q, want %q", tc.lang, tc.key, tc.args, got, tc.want)
		}
	}
	if !c.Has(Indonesian, "a") || c.Has(Indonesian, "only_en") {
		t.Error("Has does not tell a message of the language from a fallback")
	}
	if _, err := parse(fstest.MapFS{"en.toml": {Data: []byte("a = \"x\"\n")}, "id.toml": {Data: []byte("a = \n")}}); err == nil || !strings.Contains(err.Error(), "id.toml") {
		t.Errorf("a broken catalog: %v", err)
	}
}
