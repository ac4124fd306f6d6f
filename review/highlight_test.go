package review

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

func sig(rule string, start, end, weight int) lokerwatch.Signal {
	return lokerwatch.Signal{Rule: rule, Category: lokerwatch.CategoryScam, Weight: weight, Start: start, End: end}
}

// render flattens segments as text with [..] around highlighted runs and
// the covering signal indexes, for readable expectations.
func renderSegs(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		if len(s.Signals) == 0 {
			b.WriteString(s.Text)
			continue
		}
		b.WriteString("[")
		b.WriteString(s.Text)
		b.WriteString("|")
		for i, x := range s.Signals {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(string(rune('0' + x)))
		}
		b.WriteString("]")
	}
	return b.String()
}

func TestHighlight(t *testing.T) {
	body := "Gaji 15 juta di Kamboja"
	tests := []struct {
		name string
		body string
		sigs []lokerwatch.Signal
		want string
	}{
		{"none", body, nil, body},
		{"one", body, []lokerwatch.Signal{sig("a", 0, 12, 10)}, "[Gaji 15 juta|0] di Kamboja"},
		{"overlap", body, []lokerwatch.Signal{sig("a", 0, 12, 10), sig("b", 8, 23, 5)},
			"[Gaji 15 |0][juta|0,1][ di Kamboja|1]"},
		{"nested", body, []lokerwatch.Signal{sig("a", 0, 23, 10), sig("b", 16, 23, 5)},
			"[Gaji 15 juta di |0][Kamboja|0,1]"},
		{"same span twice", body, []lokerwatch.Signal{sig("a", 5, 7, 10), sig("b", 5, 7, 5)}, "Gaji [15|0,1] juta di Kamboja"},
		{"past the end is clamped", body, []lokerwatch.Signal{sig("a", 16, 9999, 10)}, "Gaji 15 juta di [Kamboja|0]"},
		{"negative start is clamped", body, []lokerwatch.Signal{sig("a", -5, 4, 10)}, "[Gaji|0] 15 juta di Kamboja"},
		{"reversed is dropped", body, []lokerwatch.Signal{sig("a", 10, 4, 10)}, body},
		{"empty is dropped", body, []lokerwatch.Signal{sig("a", 4, 4, 10)}, body},
		{"no span (0,0)", body, []lokerwatch.Signal{sig("source", 0, 0, 10)}, body},
		{"entirely out of range", body, []lokerwatch.Signal{sig("a", 100, 200, 10)}, body},
		// "Café" is C a f 0xC3 0xA9: a span ending inside é grows to cover it,
		// one starting inside it shrinks back to its first byte.
		{"utf8 end inside rune", "Café ok", []lokerwatch.Signal{sig("a", 0, 4, 10)}, "[Café|0] ok"},
		{"utf8 start inside rune", "Café ok", []lokerwatch.Signal{sig("a", 4, 8, 10)}, "Caf[é ok|0]"},
		{"emoji", "go 🚀 now", []lokerwatch.Signal{sig("a", 4, 5, 10)}, "go [🚀|0] now"},
		{"invalid utf8 shown as U+FFFD", "a\xffb", []lokerwatch.Signal{sig("a", 1, 2, 10)}, "a[\uFFFD|0]b"},
		{"markup is just text", "<script>x</script>", []lokerwatch.Signal{sig("a", 0, 8, 10)}, "[<script>|0]x</script>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := renderSegs(highlight(i18n.English, tt.body, tt.sigs, nil))
			if got != tt.want {
				t.Errorf("highlight =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

func TestHighlightClasses(t *testing.T) {
	sigs := []lokerwatch.Signal{
		{Rule: "r1", Category: lokerwatch.CategoryTrafficking, Weight: 30, Start: 0, End: 4, Description: "debt"},
		{Rule: "r2", Category: lokerwatch.CategoryScam, Weight: 5, Start: 2, End: 8},
		{Rule: "legit", Category: lokerwatch.CategoryNonprocedural, Weight: -10, Start: 10, End: 12},
	}
	segs := highlight(i18n.English, "abcdefghijklmn", sigs, nil)
	byText := map[string]segment{}
	for _, s := range segs {
		byText[s.Text] = s
	}
	if c := byText["ab"].Class; c != "hl cat-trafficking" {
		t.Errorf("ab class %q", c)
	}
	if c := byText["cd"].Class; c != "hl cat-trafficking multi" {
		t.Errorf("cd class %q (strongest signal gives the colour)", c)
	}
	if c := byText["kl"].Class; c != "hl cat-nonprocedural neg" {
		t.Errorf("kl class %q", c)
	}
	if got := byText["cd"].Title; got != "r1 (trafficking): debt\nr2 (scam)" {
		t.Errorf("cd title %q", got)
	}
	if a := byText["ab"].Anchors; len(a) != 1 || a[0] != 0 {
		t.Errorf("ab anchors %v", a)
	}
	if a := byText["cd"].Anchors; len(a) != 1 || a[0] != 1 {
		t.Errorf("cd anchors %v", a)
	}
}

// FuzzHighlight: whatever the offsets, the segments put back together are
// the body (made valid UTF-8), and no segment is invalid UTF-8.
func FuzzHighlight(f *testing.F) {
	f.Add("Gaji 15 juta di Kamboja", 0, 12, 8, 23)
	f.Add("Café 🚀 \xff", 3, 5, -1, 100)
	f.Fuzz(func(t *testing.T, body string, s1, e1, s2, e2 int) {
		segs := highlight(i18n.English, body, []lokerwatch.Signal{sig("a", s1, e1, 1), sig("b", s2, e2, -1)}, nil)
		var b strings.Builder
		for _, s := range segs {
			if !utf8.ValidString(s.Text) {
				t.Fatalf("segment %q is not valid UTF-8", s.Text)
			}
			if s.Text == "" {
				t.Fatal("empty segment")
			}
			b.WriteString(s.Text)
		}
		// Cutting may split an invalid sequence differently from one pass of
		// ToValidUTF8 (which folds runs of bad bytes into one U+FFFD), so
		// compare with runs folded on both sides.
		fold := func(s string) string { return strings.ReplaceAll(s, "\uFFFD\uFFFD", "\uFFFD") }
		got, want := b.String(), strings.ToValidUTF8(body, "\uFFFD")
		for strings.Contains(got, "\uFFFD\uFFFD") {
			got = fold(got)
		}
		for strings.Contains(want, "\uFFFD\uFFFD") {
			want = fold(want)
		}
		if got != want {
			t.Fatalf("segments rebuild %q, want %q", got, want)
		}
	})
}

// A post-role rule's span is never shown in the green of a legitimacy
// sign, whatever its weight (post.live_contact weighs −30 on the
// not-offer score with the YAML rules alone: issue 22).
func TestHighlightPostRoleNotGreen(t *testing.T) {
	body := "Hubungi WA 0812 berizin"
	sigs := []lokerwatch.Signal{
		{Rule: "post.live_contact", Weight: -30, Start: 0, End: 15},
		{Rule: "legit.licence_claimed", Weight: -10, Start: 16, End: 23},
		{Rule: "post.warning_language", Weight: 40, Start: 8, End: 10},
	}
	got := map[string]string{}
	for _, s := range highlight(i18n.English, body, sigs, nil) {
		got[s.Text] = s.Class
	}
	for text, want := range map[string]string{
		"Hubungi ": "hl cat-other notoffer",
		"WA":       "hl cat-other multi",
		"berizin":  "hl cat-other neg",
	} {
		if got[text] != want {
			t.Errorf("%q: class %q, want %q (all: %q)", text, got[text], want, got)
		}
	}
}
