package classifiers

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/lokerwatch/lokerwatch"
)

// Obfuscations recruiters use to slip past keyword filters (issue 18):
// each rewrites an ad's text the way a real post does it. The robustness
// test applies each to every risky ad of the development set, and all of
// them at once, and requires that at least 90% of the rewrites stay
// flagged. None of them knows any ad: they are rules of rewriting.

type obfuscation struct {
	name string
	fn   func(s string, rng *rand.Rand) string
}

var obfuscations = []obfuscation{
	{"leetspeak", leetify},
	{"spacing", spaceOut},
	{"country codes", codeCountries},
	{"amounts in words", amountsInWords},
	{"emoji", emojify},
}

var leetMap = map[rune]rune{'a': '4', 'e': '3', 'i': '1', 'o': '0', 's': '5'}

// leetify swaps letters for digits in a third of the longer words.
func leetify(s string, rng *rand.Rand) string {
	return mapWords(s, func(w string) string {
		if len(w) < 4 || rng.IntN(3) != 0 || strings.ContainsAny(w, "0123456789") {
			return w
		}
		var b strings.Builder
		for _, r := range w {
			if l, ok := leetMap[unicode.ToLower(r)]; ok && rng.IntN(2) == 0 {
				b.WriteRune(l)
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	})
}

// spaceOut writes one word in six letter by letter ("g a j i", "k.a.m.b.o.j.a").
func spaceOut(s string, rng *rand.Rand) string {
	return mapWords(s, func(w string) string {
		if len(w) < 4 || len(w) > 10 || rng.IntN(6) != 0 || !isLetters(w) {
			return w
		}
		sep := []string{" ", ".", "-"}[rng.IntN(3)]
		return strings.Join(strings.Split(w, ""), sep)
	})
}

// countryCodes are the code names and abbreviations posts use instead of
// a country's or hotspot's name.
var countryCodes = []struct {
	re    *regexp.Regexp
	codes []string
}{
	{regexp.MustCompile(`(?i)\b(kamboja|cambodia)\b`), []string{"KH", "K-H", "Kmbj", "negara K"}},
	{regexp.MustCompile(`(?i)\bphnom penh\b`), []string{"PP", "P.Penh"}},
	{regexp.MustCompile(`(?i)\bsihanoukville\b`), []string{"SHV", "Sihanouk"}},
	{regexp.MustCompile(`(?i)\bmyanmar\b`), []string{"MM", "Myanm4r", "Burma"}},
	{regexp.MustCompile(`(?i)\b(thailand|thailan)\b`), []string{"TH", "Thai"}},
	{regexp.MustCompile(`(?i)\bmalaysia\b`), []string{"MY", "M'sia", "Msia", "negeri jiran"}},
	{regexp.MustCompile(`(?i)\b(laos)\b`), []string{"LA", "Lao"}},
	{regexp.MustCompile(`(?i)\b(vietnam)\b`), []string{"VN", "Viet"}},
	{regexp.MustCompile(`(?i)\b(taiwan)\b`), []string{"TW", "Formosa"}},
	{regexp.MustCompile(`(?i)\b(arab saudi|saudi arabia|saudi)\b`), []string{"KSA", "Saudi"}},
	{regexp.MustCompile(`(?i)\b(korea selatan|south korea|korea)\b`), []string{"KR", "Korsel"}},
	{regexp.MustCompile(`(?i)\b(jepang|japan)\b`), []string{"JP", "Jpg"}},
	{regexp.MustCompile(`(?i)\b(hong kong)\b`), []string{"HK"}},
	{regexp.MustCompile(`(?i)\b(singapura|singapore)\b`), []string{"SG", "Spore"}},
	{regexp.MustCompile(`(?i)\b(dubai|uni emirat arab|uae)\b`), []string{"UAE", "DXB"}},
	{regexp.MustCompile(`(?i)\b(filipina|philippines)\b`), []string{"PH", "Pinas"}},
}

func codeCountries(s string, rng *rand.Rand) string {
	for _, c := range countryCodes {
		s = c.re.ReplaceAllStringFunc(s, func(string) string { return c.codes[rng.IntN(len(c.codes))] })
	}
	return s
}

var (
	idDigits   = []string{"", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"}
	jutaRe     = regexp.MustCompile(`(?i)\b(\d{1,2})(?:[.,](\d))?\s?(jt|juta)\b`)
	dollarRe   = regexp.MustCompile(`(?i)(?:\$\s?|usd\s?)(\d)[.,]?(\d)(\d\d)\b|\b(\d)[.,]?(\d)(\d\d)\s?(?:\$|usd)`)
	idTeensMap = map[int]string{10: "sepuluh", 11: "sebelas"}
)

// idNumber spells 1–99 in Indonesian.
func idNumber(n int) string {
	switch {
	case n < 10:
		return idDigits[n]
	case n == 10 || n == 11:
		return idTeensMap[n]
	case n < 20:
		return idDigits[n-10] + " belas"
	}
	s := idDigits[n/10] + " puluh"
	if n%10 > 0 {
		s += " " + idDigits[n%10]
	}
	return s
}

// amountsInWords writes "20 juta" as "dua puluh juta", "1,5jt" as "satu
// setengah juta" and "$1,200" / "1200 USD" as "1.2k$".
func amountsInWords(s string, rng *rand.Rand) string {
	s = jutaRe.ReplaceAllStringFunc(s, func(m string) string {
		p := jutaRe.FindStringSubmatch(m)
		n := 0
		for _, c := range p[1] {
			n = n*10 + int(c-'0')
		}
		if n == 0 {
			return m
		}
		w := idNumber(n)
		if p[2] == "5" {
			w += " setengah"
		} else if p[2] != "" {
			return m
		}
		return w + " juta"
	})
	return dollarRe.ReplaceAllStringFunc(s, func(m string) string {
		p := dollarRe.FindStringSubmatch(m)
		a, b := p[1], p[2]
		if a == "" {
			a, b = p[4], p[5]
		}
		if b == "0" {
			return a + "k$"
		}
		return a + "." + b + "k$"
	})
}

var emojiWords = []struct {
	re    *regexp.Regexp
	emoji string
}{
	{regexp.MustCompile(`(?i)\btiket( pesawat)?\b|\bflight\b|\bticket\b`), "✈️"},
	{regexp.MustCompile(`(?i)\bmess\b|\basrama\b|\bdormitory\b|\baccommodation\b`), "🏠"},
	{regexp.MustCompile(`(?i)\bgaji\b|\bsalary\b`), "💵"},
	{regexp.MustCompile(`(?i)\bpaspor\b|\bpassport\b`), "🛂"},
}

func emojify(s string, rng *rand.Rand) string {
	for _, e := range emojiWords {
		s = e.re.ReplaceAllString(s, e.emoji)
	}
	return s
}

func mapWords(s string, fn func(string) string) string {
	var b strings.Builder
	word := []rune{}
	flush := func() {
		if len(word) > 0 {
			b.WriteString(fn(string(word)))
			word = word[:0]
		}
	}
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			word = append(word, r)
			continue
		}
		flush()
		b.WriteRune(r)
	}
	flush()
	return b.String()
}

func isLetters(w string) bool {
	for _, r := range w {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// TestObfuscationRobustness: every risky ad of the development set,
// rewritten by each obfuscation and by all of them together, stays
// flagged at least 90% of the time.
func TestObfuscationRobustness(t *testing.T) {
	e := engine(t)
	var risky []InputLine
	for _, in := range loadLines(t, devSet(t)) {
		if in.Flag != nil && *in.Flag {
			risky = append(risky, in)
		}
	}
	if len(risky) < 50 {
		t.Fatalf("only %d risky dev ads", len(risky))
	}
	rng := rand.New(rand.NewPCG(18, 2026))
	total, kept := 0, 0
	check := func(name string, rewrite func(string) string) {
		n, k := 0, 0
		for _, in := range risky {
			ad := &lokerwatch.Ad{ID: in.ID, Title: rewrite(in.Title), Text: rewrite(in.Text), Source: in.Source}
			e.Classify(ad)
			n++
			if ad.Assessment.Flagged {
				k++
			} else if testing.Verbose() {
				t.Logf("%s: %s not flagged (score %d): %.120q", name, in.ID, ad.Assessment.Score, ad.Text)
			}
		}
		t.Logf("%-17s %d of %d flagged (%.3f)", name, k, n, float64(k)/float64(n))
		total += n
		kept += k
	}
	for _, o := range obfuscations {
		check(o.name, func(s string) string { return o.fn(s, rng) })
	}
	check("all together", func(s string) string {
		for _, o := range obfuscations {
			s = o.fn(s, rng)
		}
		return s
	})
	if rate := float64(kept) / float64(total); rate < 0.9 {
		t.Errorf("%d of %d obfuscated risky ads flagged (%.3f), want at least 0.9", kept, total, rate)
	}
}

// TestObfuscationsRewrite checks that each obfuscation changes the text it
// is meant to change (a rewrite that does nothing would pass the
// robustness test without testing anything).
func TestObfuscationsRewrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := map[string]string{
		"country codes":    "kerja di Kamboja dan Myanmar, transit Malaysia",
		"amounts in words": "gaji 20 juta, bonus 1,5jt, atau $1,200 per bulan",
		"emoji":            "tiket pesawat dan mess gratis, gaji besar, paspor",
	}
	for _, o := range obfuscations {
		in, ok := cases[o.name]
		if !ok {
			in = strings.Repeat("customer service kamboja gaji besar tanpa pengalaman ", 10)
		}
		if out := o.fn(in, rng); out == in {
			t.Errorf("%s left %q unchanged", o.name, in)
		} else {
			t.Logf("%s: %q -> %q", o.name, in, out)
		}
	}
}
