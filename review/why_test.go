package review

import (
	"slices"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

func TestShortReason(t *testing.T) {
	for _, c := range []struct{ desc, want string }{
		{"A foreign salary in USD with no experience asked (Kemnaker sign 3).", "a foreign salary in USD with no experience asked"},
		{"A WhatsApp-only contact — no office, no landline.", "a WhatsApp-only contact"},
		{"Asks for KTP, KK or passport photos by chat (Kemnaker sign 5).", "asks for KTP, KK or passport photos by chat"},
		{"KTP photos asked by chat.", "KTP photos asked by chat"},
		{"BP2MI says so; more here", "BP2MI says so"},
		{"Text model, the learned \"Bayes\" rule: words, word pairs; more", "text model, the learned \"Bayes\" rule"},
		{"Lure job (CS, admin (nested), IT) or gambling work in Cambodia — the profile (Kemlu).", "lure job or gambling work in Cambodia"},
		{"Unbalanced (paren never closed, so the rest goes", "unbalanced"},
		{"", ""},
		{"   ", ""},
		{"é accented start.", "é accented start"},
		{strings.Repeat("word ", 40), strings.TrimSpace(strings.Repeat("word ", maxReason/5)) + "…"},
		{strings.Repeat("x", 200), strings.Repeat("x", maxReason) + "…"},
	} {
		if got := shortReason(c.desc); got != c.want {
			t.Errorf("shortReason(%q) = %q, want %q", c.desc, got, c.want)
		}
	}
}

func TestTopReason(t *testing.T) {
	sig := func(rule string, w int, desc string) lokerwatch.Signal {
		return lokerwatch.Signal{Rule: rule, Weight: w, Description: desc, Category: lokerwatch.CategoryScam}
	}
	for _, c := range []struct {
		name string
		a    *lokerwatch.Assessment
		want string
		sent string
	}{
		{"nil", nil, "", ""},
		{"no signals", &lokerwatch.Assessment{Score: 3}, "", "Not flagged (3): no rule fired."},
		{"largest rule, not the text model", &lokerwatch.Assessment{Score: 86, Flagged: true, Signals: []lokerwatch.Signal{
			sig("text.model", 40, "Text model: words"), sig("b", 7, "Second reason."), sig("a", 12, "First reason (source)."), sig("c", 0, "Zero."),
		}}, "first reason", "Flagged 86: first reason, and second reason."},
		{"a rule's signals add up", &lokerwatch.Assessment{Score: 60, Flagged: true, Signals: []lokerwatch.Signal{
			sig("a", 10, "Ten."), sig("b", 8, "Eight and six."), sig("b", 6, "supporting evidence (x)"),
		}}, "eight and six", "Flagged 60: eight and six, and ten."},
		{"same words once", &lokerwatch.Assessment{Score: 70, Flagged: true, Signals: []lokerwatch.Signal{
			sig("sc.fast", 9, "Fast departure (Tirto)."), sig("np.fast", 8, "Fast departure."), sig("c", 2, "Other."),
		}}, "fast departure", "Flagged 70: fast departure, and other."},
		{"post-role rules are no risk reason", &lokerwatch.Assessment{Score: 55, Flagged: true, Signals: []lokerwatch.Signal{
			sig("post.live_contact", 20, "Asks readers to apply through a live contact."), sig("a", 5, "Real reason."),
		}}, "real reason", "Flagged 55: real reason."},
		{"rule weights: the ad's category's rules", &lokerwatch.Assessment{Score: 92, Flagged: true, Category: lokerwatch.CategoryScam, Version: "test", Signals: []lokerwatch.Signal{
			{Rule: "np.visa", Category: lokerwatch.CategoryNonprocedural, Weight: 30, Description: "Tourist visa."}, sig("sc.hotspot", 25, "Hotspot."), sig("sc.job", 20, "Lure job."),
		}}, "hotspot", "Flagged 92: hotspot, and lure job."},
		{"not an offer", &lokerwatch.Assessment{Score: 2, NotAnOffer: true, Version: "r+m", Signals: []lokerwatch.Signal{
			sig("a", 30, "Lure job in a hotspot."), sig("post.not_an_offer", -60, "reads as a warning, news report, question or story rather than a job offer with probability 0.97: the score is the chance of a risky offer; never flagged"),
		}}, "reads as a warning, news report, question or story rather than a job offer with probability 0.97",
			"Not flagged (2): reads as a warning, news report, question or story rather than a job offer with probability 0.97, and lure job in a hotspot."},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ""
			if r := topReasons(c.a, 1, nil); len(r) > 0 {
				got = r[0].Text
			}
			if got != c.want {
				t.Errorf("top reason = %q, want %q", got, c.want)
			}
			if c.a == nil {
				return
			}
			if got := whySentence(i18n.English, c.a, nil); got != c.sent {
				t.Errorf("sentence = %q, want %q", got, c.sent)
			}
		})
	}
}

// In Indonesian the sentence is built from the rules' Indonesian
// descriptions and reads "Ditandai 86: …, dan …."; a rule without one
// keeps the description its signal recorded.
func TestWhySentenceIndonesian(t *testing.T) {
	idDesc := map[string]string{
		"sc.salary": "Gaji luar negeri dalam USD tanpa syarat pengalaman (tanda Kemnaker 3).",
		"sc.wa":     "Kontak hanya lewat WhatsApp — tanpa kantor, tanpa telepon kantor.",
	}
	s := &Server{describe: func(rule, lang string) string {
		if lang == "id" {
			return idDesc[rule]
		}
		return ""
	}}
	sig := func(rule string, w int, desc, ev string) lokerwatch.Signal {
		return lokerwatch.Signal{Rule: rule, Weight: w, Description: desc, Evidence: ev, Category: lokerwatch.CategoryScam}
	}
	a := &lokerwatch.Assessment{Score: 86, Flagged: true, Version: "r+m", Signals: []lokerwatch.Signal{
		sig("sc.salary", 30, "A foreign salary in USD with no experience asked.", "USD 1500"),
		sig("sc.wa", 20, "A WhatsApp-only contact.", "WA only"),
		sig("sc.other", 5, "Something else.", "x"),
	}}
	for _, c := range []struct {
		lang i18n.Lang
		want string
	}{
		{i18n.English, "Flagged 86: a foreign salary in USD with no experience asked, and a WhatsApp-only contact."},
		{i18n.Indonesian, "Ditandai 86: gaji luar negeri dalam USD tanpa syarat pengalaman, dan kontak hanya lewat WhatsApp."},
	} {
		if got := whySentence(c.lang, a, s.describer(c.lang)); got != c.want {
			t.Errorf("%s: %q, want %q", c.lang, got, c.want)
		}
	}
	a.Signals[1].Rule = "sc.untranslated"
	if got, want := whySentence(i18n.Indonesian, a, s.describer(i18n.Indonesian)), "Ditandai 86: gaji luar negeri dalam USD tanpa syarat pengalaman, dan a WhatsApp-only contact."; got != want {
		t.Errorf("a rule without an Indonesian description: %q, want %q", got, want)
	}
	a.Flagged, a.Signals = false, nil
	if got, want := whySentence(i18n.Indonesian, a, s.describer(i18n.Indonesian)), "Tidak ditandai (86): tidak ada aturan yang terpicu."; got != want {
		t.Errorf("no reason: %q, want %q", got, want)
	}
	// The rows of the why carry the Indonesian description (its tooltip)
	// and the highlight's tooltip too.
	a.Flagged, a.Signals = true, []lokerwatch.Signal{sig("sc.salary", 30, "A foreign salary in USD with no experience asked.", "USD 1500")}
	a.Signals[0].Start, a.Signals[0].End = 0, 8
	v := buildWhy(i18n.Indonesian, a, "USD 1500 sebulan", s.describer(i18n.Indonesian))
	if d := v.Risk.Rules[0].Description; d != idDesc["sc.salary"] {
		t.Errorf("why row description %q", d)
	}
	segs := highlight(i18n.Indonesian, "USD 1500 sebulan", a.Signals, s.describer(i18n.Indonesian))
	if want := "sc.salary (penipuan (online scam)): " + idDesc["sc.salary"]; segs[0].Title != want {
		t.Errorf("highlight title %q, want %q", segs[0].Title, want)
	}
}

// Rules fall into their groups by what they did to the score; with the
// YAML rules alone, post-role weights are on the not-offer score and a
// live contact (−30 there) is no legitimacy sign: it goes to "offer or
// not", marked as a sign of a live offer, never with the green of the
// legitimacy rules (issue 22).
func TestBuildWhyGroups(t *testing.T) {
	body := "Admin Kamboja. WA 0812. PT Resmi berizin."
	at := func(s string) (int, int) { i := strings.Index(body, s); return i, i + len(s) }
	sig := func(rule string, cat lokerwatch.Category, w int, desc, ev string) lokerwatch.Signal {
		s, e := at(ev)
		return lokerwatch.Signal{Rule: rule, Category: cat, Weight: w, Description: desc, Evidence: ev, Start: s, End: e}
	}
	sigs := []lokerwatch.Signal{
		sig("sc.lure", lokerwatch.CategoryScam, 45, "Lure job in a hotspot.", "Admin Kamboja"),
		sig("sc.lure", lokerwatch.CategoryScam, 0, "supporting evidence (hotspot)", "Kamboja"),
		sig("post.live_contact", "", -30, "Asks readers to apply through a live contact.", "WA 0812"),
		sig("legit.licence_claimed", "", -10, "Quotes a licence.", "berizin"),
		sig("fact.agency", lokerwatch.CategoryScam, 0, "Names a company.", "PT Resmi"),
	}
	type want struct{ risk, against, notOffer, support, cls string }
	for _, c := range []struct {
		name    string
		version string
		want    want
	}{
		{"rule weights", "rules1", want{"sc.lure +45", "legit.licence_claimed −10", "post.live_contact −30", "fact.agency 0", "notoffer up"}},
		{"points", "rules1+model1", want{"sc.lure +45", "legit.licence_claimed −10", "post.live_contact −30", "fact.agency 0", "notoffer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := &lokerwatch.Assessment{Score: 40, Flagged: false, Version: c.version, Signals: sigs}
			v := buildWhy(i18n.English, a, body, nil)
			list := func(g whyGroup) string {
				var s []string
				for _, r := range g.Rules {
					s = append(s, r.Rule+" "+r.Signed())
				}
				return strings.Join(s, ", ")
			}
			got := want{list(v.Risk), list(v.Against), list(v.NotOffer), list(v.Support), ""}
			if len(v.NotOffer.Rules) == 1 {
				got.cls = v.NotOffer.Rules[0].Class
			}
			if got != c.want {
				t.Errorf("groups %+v, want %+v", got, c.want)
			}
			if v.Points != strings.Contains(c.version, "+") {
				t.Errorf("points %v for version %q", v.Points, c.version)
			}
			if v.Points && v.Base != 40-5 {
				t.Errorf("base %d, want score minus the points (35)", v.Base)
			}
			lure := v.Risk.Rules[0]
			if len(lure.Phrases) != 2 || lure.Phrases[1].Note != "supporting evidence (hotspot)" || !lure.Phrases[1].HasSpan || lure.Phrases[1].Index != 1 {
				t.Errorf("a rule's signals are not grouped under it: %+v", lure.Phrases)
			}
		})
	}
}

func TestWhyFold(t *testing.T) {
	var sigs []lokerwatch.Signal
	for i := range 9 {
		sigs = append(sigs, lokerwatch.Signal{Rule: "r" + string(rune('a'+i)), Weight: 9 - i, Category: lokerwatch.CategoryScam})
	}
	v := buildWhy(i18n.English, &lokerwatch.Assessment{Score: 70, Flagged: true, Version: "a+b", Signals: sigs}, "", nil)
	if len(v.Risk.Shown) != whyShown || len(v.Risk.More) != 9-whyShown || v.Risk.MoreTotal != 4+3+2+1 {
		t.Errorf("fold: %d shown, %d more (%d points)", len(v.Risk.Shown), len(v.Risk.More), v.Risk.MoreTotal)
	}
	// YAML-rule assessments come in rule order: the largest are shown all
	// the same.
	rev := slices.Clone(sigs)
	slices.Reverse(rev)
	v = buildWhy(i18n.English, &lokerwatch.Assessment{Score: 70, Flagged: true, Version: "a", Signals: rev}, "", nil)
	if v.Risk.Shown[0].Points != 9 || v.Risk.More[len(v.Risk.More)-1].Points != 1 {
		t.Errorf("unsorted signals folded as %+v / %+v", v.Risk.Shown, v.Risk.More)
	}
	// One rule beyond the limit is shown rather than folded alone.
	v = buildWhy(i18n.English, &lokerwatch.Assessment{Score: 70, Flagged: true, Version: "a+b", Signals: sigs[:whyShown+1]}, "", nil)
	if len(v.Risk.Shown) != whyShown+1 || len(v.Risk.More) != 0 {
		t.Errorf("fold of %d: %d shown, %d more", whyShown+1, len(v.Risk.Shown), len(v.Risk.More))
	}
}

// Bad input: spans out of range, absurd counts and empty rules do not
// panic and keep every signal.
func TestBuildWhyOddSignals(t *testing.T) {
	sigs := []lokerwatch.Signal{
		{Rule: "", Weight: 3, Evidence: "x", Start: -5, End: 1 << 30},
		{Rule: "a", Weight: 2, Evidence: "", Start: 7, End: 2},
		{Rule: "a", Weight: -2, Description: "other"},
	}
	v := buildWhy(i18n.English, &lokerwatch.Assessment{Score: 10, Signals: sigs}, "héllo", nil)
	if n := len(v.Risk.Rules) + len(v.Support.Rules); n != 2 {
		t.Fatalf("groups: %+v", v)
	}
	if r := v.Risk.Rules[0]; r.Rule != "" || !r.Phrases[0].HasSpan || r.Short() != "" {
		t.Errorf("rule without id: %+v", r)
	}
	if buildWhy(i18n.English, nil, "", nil) != nil {
		t.Error("a view for no assessment")
	}
}
