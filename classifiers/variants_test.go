package classifiers

import (
	"strings"
	"testing"
)

// termVariantsOf turns a lexicon phrase into the plain words a post would
// write (gaps and markers dropped).
func plainWords(variant string) []string {
	var words []string
	for _, w := range strings.Fields(variant) {
		if w[0] != '*' {
			words = append(words, strings.TrimSuffix(w, "~"))
		}
	}
	return words
}

var leetSwap = strings.NewReplacer("a", "4", "e", "3", "i", "1", "o", "0")

// obfuscate rewrites the longest word of a phrase the way posts hide
// words from filters.
func obfuscate(words []string, how string) string {
	out := append([]string(nil), words...)
	k := 0
	for i, w := range out {
		if len(w) > len(out[k]) {
			k = i
		}
		_ = w
	}
	w := out[k]
	switch how {
	case "leet":
		// keep the first letter: a word starting with a digit reads as a number
		out[k] = w[:1] + leetSwap.Replace(w[1:])
	case "spaced":
		out[k] = strings.Join(strings.Split(w, ""), " ")
	case "dotted":
		out[k] = strings.Join(strings.Split(w, ""), ".")
	case "repeated":
		for i := len(w) - 1; i >= 0; i-- {
			if strings.IndexByte("aeiou", w[i]) >= 0 {
				out[k] = w[:i] + strings.Repeat(w[i:i+1], 4) + w[i+1:]
				break
			}
		}
	case "upper":
		out[k] = strings.ToUpper(w)
	}
	return strings.Join(out, " ")
}

// TestLexiconSurvivesObfuscation generates, for every phrase of every cue
// (each alternative spelled out), leetspeak, letter-by-letter spacing,
// dotted letters, repeated letters and capitals in its longest word, and
// checks that each still matches its cue. Words the normaliser cannot
// tell from numbers or codes are exempt (listed below, with why).
func TestLexiconSurvivesObfuscation(t *testing.T) {
	e := engine(t)
	ms := &matchScratch{}
	checked, failed := 0, 0
	for ci, c := range e.lex.cues {
		if strings.Contains(c.name, ":") || noIndicator[c.name] {
			continue
		}
		for _, term := range c.terms {
			body := term[strings.IndexByte(term, 0)+1:]
			vars, err := expandTerm(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range vars {
				words := plainWords(v)
				long := ""
				for _, w := range words {
					if len(w) > len(long) {
						long = w
					}
				}
				if !obfuscatable(long) {
					continue
				}
				for _, how := range []string{"leet", "spaced", "dotted", "repeated", "upper"} {
					if how == "leet" && (!strings.ContainsAny(long[1:], "aeio") || strings.Contains(leetSwap.Replace(long[1:]), "000") || threeDigits(leetSwap.Replace(long[1:]))) {
						continue // nothing to swap, or a run of three digits no reader takes for a word
					}
					if (how == "spaced" || how == "dotted") && len(words) > 1 {
						continue // a spaced word beside other words is ambiguous to a reader too
					}
					text := obfuscate(words, how)
					nt := Normalize("Loker " + text + " sekarang")
					hits := e.lex.Match(nt.Text, nil, ms)
					checked++
					ok := false
					for _, h := range hits {
						cue := h.Cue
						if h.Negated && cue >= 0 {
							cue = e.lex.cues[cue].negatedIdx
						}
						if cue == ci || h.Cue == ci {
							ok = true
						}
					}
					if !ok {
						failed++
						t.Errorf("cue %s: %s of %q is %q, normalised %q: no match", c.name, how, strings.Join(words, " "), text, nt.Text)
					}
				}
			}
		}
	}
	if checked < 2000 {
		t.Fatalf("only %d variants checked", checked)
	}
	t.Logf("%d obfuscated variants checked, %d failed", checked, failed)
}

// obfuscatable: words of 4+ letters only (short words and codes such as
// "cs", "wa", "ln" are too short to space out or swap without becoming
// other words).
func obfuscatable(w string) bool {
	if len(w) < 4 {
		return false
	}
	for i := 0; i < len(w); i++ {
		if !(w[i] >= 'a' && w[i] <= 'z') {
			return false
		}
	}
	return true
}

func threeDigits(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			if run >= 3 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}
