package classifiers

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func evalFile(t *testing.T, path string) *Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out strings.Builder
	rep, bad, err := engine(t).EvalJSONL(context.Background(), f, &out, io.Discard, true)
	if err != nil || bad != 0 {
		t.Fatalf("eval %s: bad=%d err=%v", path, bad, err)
	}
	t.Logf("%s\n%s", path, out.String())
	return rep
}

// TestDevSetGate is the done-when gate: precision and recall on
// `flag` of at least 0.95 on the labelled development set, and no warning
// post flagged.
func TestDevSetGate(t *testing.T) {
	rep := evalFile(t, devSet(t))
	if rep.N < 100 {
		t.Fatalf("development set has only %d ads", rep.N)
	}
	if rep.Overall.Precision < 0.95 || rep.Overall.Recall < 0.95 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.95", rep.Overall.Precision, rep.Overall.Recall)
	}
	if rep.WarningsFlagged != 0 {
		t.Errorf("%d warning posts flagged, want 0", rep.WarningsFlagged)
	}
}

// TestHeldOut checks ads written for this package from the indicator
// catalogue, worded differently from the development set.
func TestHeldOut(t *testing.T) {
	rep := evalFile(t, "testdata/tuned.jsonl")
	if rep.N < 40 {
		t.Fatalf("held-out set has only %d ads", rep.N)
	}
	if rep.Overall.Precision < 0.9 || rep.Overall.Recall < 0.9 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.9", rep.Overall.Precision, rep.Overall.Recall)
	}
	if rep.WarningsFlagged != 0 {
		t.Errorf("%d warning posts flagged, want 0", rep.WarningsFlagged)
	}
}

// TestHeldOutBlind checks a second fixture written after the rules were
// settled. Its first run (before any change) gave precision 0.917 and recall
// 1.000 with one victim story flagged; see README.md.
func TestHeldOutBlind(t *testing.T) {
	rep := evalFile(t, "testdata/tuned-late.jsonl")
	if rep.Overall.Precision < 0.9 || rep.Overall.Recall < 0.9 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.9", rep.Overall.Precision, rep.Overall.Recall)
	}
	if rep.WarningsFlagged != 0 {
		t.Errorf("%d warning posts flagged, want 0", rep.WarningsFlagged)
	}
}

// TestWeakCuesNeverFlagAlone puts every phrase of every cue not marked
// strong into an otherwise empty ad — alone, and with a WhatsApp number.
// Alone, none may be flagged. With a WhatsApp number the weights are
// learned, not set, so the property is a rate: at most 0.5% of them may
// reach the threshold (each is logged), and none may score above 70.
func TestWeakCuesNeverFlagAlone(t *testing.T) {
	e := engine(t)
	checked, withPhone, flaggedWithPhone := 0, 0, 0
	for _, c := range e.lex.cues {
		if c.strong || strings.Contains(c.name, ":") {
			continue
		}
		for _, term := range c.terms {
			body := term[strings.IndexByte(term, 0)+1:]
			vars, err := termVariants(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vars {
				var words []string
				for _, w := range strings.Fields(v) {
					if w[0] != '*' {
						words = append(words, strings.TrimSuffix(w, "~"))
					}
				}
				phrase := strings.Join(words, " ")
				for _, text := range []string{phrase + ".", phrase + ". WA 0812 3456 7890"} {
					ad := &lokerwatch.Ad{Title: "Info", Text: text}
					e.Classify(ad)
					a := ad.Assessment
					if hitsStrong(e, a) {
						continue // the phrase is also a strong cue's ("operator judi": explicit scam work)
					}
					checked++
					if !strings.Contains(text, "WA ") {
						if a.Flagged {
							t.Errorf("cue %s phrase %q alone flagged (score %d, signals %v)", c.name, text, a.Score, ruleIDs(a))
						}
						continue
					}
					withPhone++
					if a.Flagged {
						flaggedWithPhone++
						t.Logf("cue %s phrase %q with a number flagged (score %d, signals %v)", c.name, text, a.Score, ruleIDs(a))
					}
					if a.Score > 70 {
						t.Errorf("cue %s phrase %q with a number scores %d (signals %v)", c.name, text, a.Score, ruleIDs(a))
					}
				}
			}
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d phrases checked", checked)
	}
	if float64(flaggedWithPhone) > 0.005*float64(withPhone) {
		t.Errorf("%d of %d weak phrases with a WhatsApp number flagged, want at most 0.5%%", flaggedWithPhone, withPhone)
	}
}

// hitsStrong reports whether a strong cue's own rule fired.
func hitsStrong(e *Engine, a *lokerwatch.Assessment) bool {
	for _, s := range a.Signals {
		for _, c := range e.lex.cues {
			if c.strong && s.Rule == "cue."+c.name {
				return true
			}
		}
	}
	return false
}

func ruleIDs(a *lokerwatch.Assessment) []string {
	var out []string
	for _, s := range a.Signals {
		if s.Weight != 0 {
			out = append(out, s.Rule)
		}
	}
	return out
}

// TestScenarios covers the behaviours the catalogue asks for, one by one.
func TestScenarios(t *testing.T) {
	cases := []struct {
		name     string
		title    string
		text     string
		flagged  bool
		category lokerwatch.Category
		notOffer bool
		rule     string // a rule that must fire ("" = none required)
	}{
		{name: "scam compound offer", title: "Loker CS Kamboja",
			text:    "Dibutuhkan customer service di Sihanoukville. Gaji $1.000, tanpa pengalaman, tiket ditanggung, berangkat pakai visa turis. WA 0812 3456 7890",
			flagged: true, category: lokerwatch.CategoryScam, rule: "sc.lure_in_hotspot"},
		{name: "tourist-visa maid to Saudi", title: "ART Arab Saudi",
			text:    "Dibutuhkan ART untuk majikan di Riyadh. Berangkat pakai visa ziarah, proses 2 minggu, tanpa pelatihan. Biaya proses 4 juta transfer ke rekening pribadi.",
			flagged: true, category: lokerwatch.CategoryNonprocedural, rule: "np.domestic_work_moratorium"},
		{name: "passport held and debt", title: "Karaoke KL",
			text:    "Dicari cewek usia 17-24 untuk karaoke di Kuala Lumpur. Tiket dipinjami bos, potong gaji. Paspor dipegang bos. WA 0812 3456 7890",
			flagged: true, category: lokerwatch.CategoryTrafficking, rule: "tp.under_age"},
		{name: "warning post quoting a scam", title: "WASPADA loker Kamboja",
			text:    "Hati-hati! Beredar loker CS Kamboja gaji 15 juta, tanpa pengalaman, tiket gratis, visa turis. Ini modus perekrutan ke perusahaan online scam. Jangan daftar, laporkan ke pihak berwenang.",
			flagged: false, notOffer: true, rule: "post.warning_language"},
		{name: "news report", title: "Puluhan WNI dipulangkan",
			text:    "Polisi menyebut puluhan WNI korban perusahaan penipuan online di Myawaddy telah dipulangkan. Mereka dijanjikan kerja admin dengan gaji 20 juta dan bebas visa.",
			flagged: false, notOffer: true},
		{name: "licensed P3MI offer", title: "Caregiver Taiwan (P3MI)",
			text:    "PT Sinar Harapan Abadi (P3MI, SIP3MI No. 5 Tahun 2024) membuka job order caregiver Taiwan. Daftar di Disnaker/LTSA, pelatihan di BLK-LN, visa kerja, perjanjian kerja ditandatangani di hadapan petugas. Tiket ditanggung majikan.",
			flagged: false, rule: "legit.official_process"},
		{name: "domestic CS job", title: "Customer Service Jakarta",
			text:    "Dicari customer service untuk kantor di Jakarta Selatan. Tanpa pengalaman, training diberikan. Gaji Rp5 juta. WA 0812 3456 7890",
			flagged: false},
		{name: "negated fee is no fee", title: "Operator Pabrik",
			text:    "Operator pabrik Cikarang, tidak ada biaya pendaftaran, lamar lewat portal karier.",
			flagged: false},
		{name: "bypass via negated official channel", title: "Kerja Taiwan",
			text:    "Kerja pabrik Taiwan tanpa lewat LTSA, cukup bayar ke saya 40 juta.",
			flagged: true, category: lokerwatch.CategoryNonprocedural, rule: "np.bypass_official"},
	}
	e := engine(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ad := &lokerwatch.Ad{Title: c.title, Text: c.text}
			e.Classify(ad)
			a := ad.Assessment
			if a.Flagged != c.flagged {
				t.Errorf("flagged = %v (score %d, %v), want %v", a.Flagged, a.Score, ruleIDs(a), c.flagged)
			}
			if c.flagged && a.Category != c.category {
				t.Errorf("category = %q, want %q", a.Category, c.category)
			}
			if a.NotAnOffer != c.notOffer {
				t.Errorf("not an offer = %v, want %v", a.NotAnOffer, c.notOffer)
			}
			if c.rule != "" {
				found := false
				for _, s := range a.Signals {
					found = found || s.Rule == c.rule
				}
				if !found {
					t.Errorf("rule %s did not fire; signals %v", c.rule, ruleIDs(a))
				}
			}
			body := ad.Body()
			for _, s := range a.Signals {
				if s.Start < 0 || s.End > len(body) || s.Start > s.End {
					t.Fatalf("signal %s span %d-%d out of range", s.Rule, s.Start, s.End)
				}
				if body[s.Start:s.End] != s.Evidence {
					t.Errorf("signal %s evidence %q != body[%d:%d] %q", s.Rule, s.Evidence, s.Start, s.End, body[s.Start:s.End])
				}
			}
		})
	}
}
