package review

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// segment is a run of ad text covered by the same set of signal spans. The
// template escapes Text; nothing here produces HTML.
type segment struct {
	Text    string
	Signals []int  // indexes into the signal list of the spans covering it
	Class   string // CSS classes when highlighted
	Title   string // tooltip: the rules that fired here
	Anchors []int  // signals whose span starts here (targets of #sig-N)
}

// maxSignals bounds the work on an assessment with absurdly many signals.
const maxSignals = 1000

// highlight cuts body into segments at every signal span boundary. Spans
// are byte offsets into body and may overlap, nest, be empty or out of
// range: out-of-range offsets are clamped, and boundaries inside a UTF-8
// sequence are moved outwards to whole characters. Invalid UTF-8 in the
// body shows as U+FFFD.
//
// The tooltips name each rule, its category and its description in lang
// (through describe).
func highlight(lang i18n.Lang, body string, sigs []lokerwatch.Signal, describe describer) []segment {
	type span struct{ i, start, end int }
	var spans []span
	for i, sg := range sigs {
		if i >= maxSignals {
			break
		}
		start, end := clampSpan(body, sg.Start, sg.End)
		if start < end {
			spans = append(spans, span{i, start, end})
		}
	}
	cuts := []int{0, len(body)}
	for _, sp := range spans {
		cuts = append(cuts, sp.start, sp.end)
	}
	sort.Ints(cuts)
	var segs []segment
	for k := 0; k+1 < len(cuts); k++ {
		a, b := cuts[k], cuts[k+1]
		if a == b {
			continue
		}
		seg := segment{Text: strings.ToValidUTF8(body[a:b], "\uFFFD")}
		var titles []string
		strongest := -1
		// Green is for signs of a legitimate offer; a post-role rule
		// (is this an offer at all?) is never one, whatever its sign.
		allNeg, allNotOffer := true, true
		for _, sp := range spans {
			if sp.start == a {
				seg.Anchors = append(seg.Anchors, sp.i)
			}
			if sp.start <= a && sp.end >= b {
				seg.Signals = append(seg.Signals, sp.i)
				sg := sigs[sp.i]
				titles = append(titles, signalTitle(lang, sg, describe))
				if strongest < 0 || abs(sg.Weight) > abs(sigs[strongest].Weight) {
					strongest = sp.i
				}
				notOffer := strings.HasPrefix(sg.Rule, postRolePrefix)
				if sg.Weight >= 0 || notOffer {
					allNeg = false
				}
				if sg.Weight >= 0 || !notOffer {
					allNotOffer = false
				}
			}
		}
		if len(seg.Signals) > 0 {
			cls := []string{"hl", categoryClass(sigs[strongest].Category)}
			switch {
			case allNeg:
				cls = append(cls, "neg")
			case allNotOffer:
				cls = append(cls, "notoffer")
			}
			if len(seg.Signals) > 1 {
				cls = append(cls, "multi")
			}
			seg.Class = strings.Join(cls, " ")
			seg.Title = strings.Join(titles, "\n")
		}
		segs = append(segs, seg)
	}
	return segs
}

// clampSpan brings [start, end) inside body and onto character boundaries.
func clampSpan(body string, start, end int) (int, int) {
	start = min(max(start, 0), len(body))
	end = min(max(end, 0), len(body))
	if start >= end {
		return 0, 0
	}
	return snap(body, start, false), snap(body, end, true)
}

// snap moves p to the nearest character boundary of body, down (start of
// the character holding p) or up (past its end). Boundaries are those of
// decoding body rune by rune: a stray continuation byte is a character of
// its own (shown as U+FFFD).
func snap(body string, p int, up bool) int {
	if p <= 0 || p >= len(body) || utf8.RuneStart(body[p]) {
		return p
	}
	// p is on a continuation byte. Find the lead byte before it, if any
	// within one character's reach; lead bytes always start a character.
	q := p - 1
	for q > 0 && p-q < utf8.UTFMax && !utf8.RuneStart(body[q]) {
		q--
	}
	if !utf8.RuneStart(body[q]) {
		return p // a run of stray continuation bytes: each is a character
	}
	_, w := utf8.DecodeRuneInString(body[q:])
	if q+w <= p {
		return p // the character at q ended before p: p is a stray byte
	}
	if up {
		return q + w
	}
	return q
}

// signalTitle is a signal's tooltip: "rule (category): description",
// the category and description in lang. In English the category is its
// code, as in the rule files.
func signalTitle(lang i18n.Lang, sg lokerwatch.Signal, describe describer) string {
	t := sg.Rule
	if sg.Category != "" {
		cat := string(sg.Category)
		if lang != i18n.English {
			cat = categoryLabelIn(lang, sg.Category)
		}
		t += " (" + cat + ")"
	}
	if d := describe.of(sg.Rule, sg.Description); d != "" {
		t += ": " + d
	}
	return t
}

func categoryClass(c lokerwatch.Category) string {
	switch c {
	case lokerwatch.CategoryScam, lokerwatch.CategoryNonprocedural, lokerwatch.CategoryTrafficking:
		return "cat-" + string(c)
	}
	return "cat-other"
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
