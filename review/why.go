package review

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// describer gives a rule's description in the reader's language from its
// id and the description its signal recorded (English, from when the ad
// was scored): Server.describer. Nil keeps the recorded one.
type describer func(rule, recorded string) string

func (d describer) of(rule, recorded string) string {
	if d == nil {
		return recorded
	}
	return d(rule, recorded)
}

// describer is s.ruleDescription in lang.
func (s *Server) describer(lang i18n.Lang) describer {
	return func(rule, recorded string) string { return s.ruleDescription(lang, rule, recorded) }
}

// The compact "why" of an ad: its signals grouped under their rule, the
// rules sorted into what raised the score, what lowered it (legitimacy),
// whether the post is an offer at all, and the supporting evidence that
// moved it by less than a point (folded on the page). With a model the
// weights are points: shares of the distance between the score and the
// score of an ad with no evidence, adding up to it (classifiers/score.go).
// With the YAML rules alone they are rule weights per category.

// Rule ids the why treats apart: the text model names no single phrase,
// and the post-role rules decide whether a post is an offer at all
// (rules.yaml: category not_offer), not how risky the offer is.
const (
	ruleTextModel  = "text.model"
	ruleNotAnOffer = "post.not_an_offer"
	postRolePrefix = "post."
)

// maxReason bounds one reason of the sentence, in characters.
const maxReason = 120

// whyShown is how many rules of a group show unfolded: the largest
// carry most of the score; the rest are one click away.
const whyShown = 5

// whyGroupKind names the groups of the why, as CSS classes too.
type whyGroupKind string

const (
	groupRisk     whyGroupKind = "risk"     // raised the score
	groupAgainst  whyGroupKind = "against"  // legitimacy: lowered it
	groupNotOffer whyGroupKind = "notoffer" // is it an offer at all
	groupSupport  whyGroupKind = "support"  // less than a point either way
)

// whyPhrase is one evidence phrase of a rule; Index is its signal's
// index in the assessment (the page's #sig-N anchor) when HasSpan.
type whyPhrase struct {
	Text    string
	Index   int
	HasSpan bool
	Note    string // what a further phrase supports (its description)
}

// whyRule is one rule that fired, with all its signals.
type whyRule struct {
	Rule        string
	Category    lokerwatch.Category
	Points      int // sum of its signals' weights
	Description string
	Phrases     []whyPhrase
	Class       string // CSS classes of the row
}

// Signed is the weight as shown: with its sign, a real minus.
func (r whyRule) Signed() string { return signed(r.Points) }

// Short is the description's first clause (the whole one is its tooltip).
func (r whyRule) Short() string {
	if s := shortReason(r.Description); s != "" {
		return s
	}
	return r.Rule
}

type whyGroup struct {
	Kind   whyGroupKind
	Rules  []whyRule
	Total  int
	Points bool // weights are points of the score
	// Shown are the rules shown unfolded, More the rest (MoreTotal their
	// sum).
	Shown, More []whyRule
	MoreTotal   int
}

// Signed is the group's total with its sign.
func (g whyGroup) Signed() string { return signed(g.Total) }

// MoreSigned is the folded rules' total with its sign.
func (g whyGroup) MoreSigned() string { return signed(g.MoreTotal) }

// fold splits the rules into those shown and those folded; the
// supporting evidence is folded whole by the page.
func (g *whyGroup) fold(n int) {
	g.Shown, g.More = g.Rules, nil
	if len(g.Rules) > n+1 { // folding one rule away saves nothing
		g.Shown, g.More = g.Rules[:n], g.Rules[n:]
	}
	g.MoreTotal = 0
	for _, r := range g.More {
		g.MoreTotal += r.Points
	}
}

type whyView struct {
	Sentence string
	// Points is set when the weights are points of the score (a model
	// scored the ad); Base is then the score with no evidence, give or
	// take rounding.
	Points   bool
	Base     int
	Risk     whyGroup
	Against  whyGroup
	NotOffer whyGroup
	Support  whyGroup
	Signals  int // signals in all
}

// Terms are the groups' totals as the sum line adds them: " +80 −3 +1".
func (v *whyView) Terms() string {
	var b strings.Builder
	for _, g := range []whyGroup{v.Risk, v.Against, v.NotOffer} {
		if len(g.Rules) > 0 {
			b.WriteString(" " + g.Signed())
		}
	}
	return b.String()
}

// scoredByModel reports whether an assessment's weights are points: the
// version of a model-scored assessment is "<rules>+<model>".
func scoredByModel(a *lokerwatch.Assessment) bool { return strings.Contains(a.Version, "+") }

// buildWhy groups an assessment's signals for the ad page, in lang; body is
// the ad body the spans point into, describe the rule descriptions in lang.
func buildWhy(lang i18n.Lang, a *lokerwatch.Assessment, body string, describe describer) *whyView {
	if a == nil {
		return nil
	}
	v := &whyView{Points: scoredByModel(a), Signals: len(a.Signals)}
	for g, k := range map[*whyGroup]whyGroupKind{&v.Risk: groupRisk, &v.Against: groupAgainst, &v.NotOffer: groupNotOffer, &v.Support: groupSupport} {
		g.Kind, g.Points = k, v.Points
	}
	sum := 0
	for _, r := range groupByRule(a.Signals, body, describe) {
		sum += r.Points
		g := v.groupOf(r)
		r.Class = whyClass(g.Kind, r, v.Points)
		g.Rules = append(g.Rules, r)
		g.Total += r.Points
	}
	// Largest first within each group (the classifier sorts its signals
	// so with a model; YAML-rule assessments come in rule order).
	for _, g := range []*whyGroup{&v.Risk, &v.Against, &v.NotOffer, &v.Support} {
		slices.SortStableFunc(g.Rules, func(x, y whyRule) int { return abs(y.Points) - abs(x.Points) })
	}
	v.Risk.fold(whyShown)
	v.Against.fold(whyShown)
	v.NotOffer.fold(len(v.NotOffer.Rules))
	v.Support.fold(len(v.Support.Rules))
	if v.Points {
		v.Base = a.Score - sum
	}
	v.Sentence = whySentence(lang, a, describe)
	return v
}

// groupOf is the group a rule goes to.
func (v *whyView) groupOf(r whyRule) *whyGroup {
	switch {
	case r.Rule == ruleNotAnOffer:
		return &v.NotOffer // its note says why, even at 0 points
	case r.Points == 0:
		return &v.Support
	case strings.HasPrefix(r.Rule, postRolePrefix):
		return &v.NotOffer
	case r.Points < 0:
		return &v.Against
	}
	return &v.Risk
}

// whyClass is a rule row's CSS classes. In the not-an-offer group "up"
// marks a sign of a live offer: with points it raised the score; with
// rule weights (the not-offer score) it is a negative weight.
func whyClass(k whyGroupKind, r whyRule, points bool) string {
	switch k {
	case groupRisk:
		return categoryClass(r.Category)
	case groupNotOffer:
		if r.Rule == ruleNotAnOffer || points && r.Points < 0 || !points && r.Points > 0 {
			return "notoffer"
		}
		return "notoffer up"
	case groupAgainst:
		return "neg"
	}
	return "support"
}

// groupByRule merges the signals of each rule, in the order of each
// rule's first signal (largest contribution first, as the classifier
// sorts them). The description is the rule's (the first signal that has
// one, through describe); further signals' own descriptions are notes on
// their phrases.
func groupByRule(sigs []lokerwatch.Signal, body string, describe describer) []whyRule {
	var out []whyRule
	at := map[string]int{}
	recorded := map[string]string{} // each rule's first recorded description
	for i, sg := range sigs {
		if i >= maxSignals {
			break
		}
		k, ok := at[sg.Rule]
		if !ok {
			k = len(out)
			at[sg.Rule] = k
			out = append(out, whyRule{Rule: sg.Rule, Category: sg.Category})
		}
		r := &out[k]
		r.Points += sg.Weight
		if r.Category == lokerwatch.CategoryNone {
			r.Category = sg.Category
		}
		p := whyPhrase{Text: sg.Evidence, Index: i}
		if rec, ok := recorded[sg.Rule]; !ok || rec == "" {
			recorded[sg.Rule] = sg.Description
			if sg.Description != "" || r.Description == "" {
				r.Description = describe.of(sg.Rule, sg.Description)
			}
		} else if sg.Description != rec {
			p.Note = sg.Description
		}
		if st, en := clampSpan(body, sg.Start, sg.End); st < en {
			p.HasSpan = true
		}
		if p.Text != "" {
			r.Phrases = append(r.Phrases, p)
		}
	}
	return out
}

// whySentence is the top two reasons as one sentence in lang: "Flagged 86:
// a, and b." ("Ditandai 86: a, dan b."). The reasons are the rules that
// added the most (the text model's share is in the list but names no
// phrase an analyst can check).
func whySentence(lang i18n.Lang, a *lokerwatch.Assessment, describe describer) string {
	reasons := topReasons(a, 2, describe)
	key := "why.flagged"
	if !a.Flagged {
		key = "why.not_flagged"
	}
	switch len(reasons) {
	case 0:
		return T(lang, key+"0", "Score", a.Score)
	case 1:
		return T(lang, key+"1", "Score", a.Score, "First", reasons[0].Text)
	}
	return T(lang, key+"2", "Score", a.Score, "First", reasons[0].Text, "Second", reasons[1].Text)
}

// reason is one reason an ad was flagged: the first clause of its rule's
// description, and the rule's first phrase in the text ("" when it has
// none).
type reason struct {
	Text, Phrase string
}

// topReason is an ad's main reason in a few words, in lang: the rule that
// added the most to its score, and the phrase that fired it ("" when no
// rule did). A post read as not an offer gives that as its reason. The ad
// page's sentence starts with it; a queue row shows it.
func (s *Server) topReason(lang i18n.Lang, a *lokerwatch.Assessment) reason {
	if r := topReasons(a, 1, s.describer(lang)); len(r) > 0 {
		return r[0]
	}
	return reason{}
}

// topReasons gives up to n short reasons, largest contribution first,
// each said once.
func topReasons(a *lokerwatch.Assessment, n int, describe describer) []reason {
	if a == nil {
		return nil
	}
	rules := groupByRule(a.Signals, "", describe)
	var out []reason
	add := func(r whyRule) {
		s := r.Short()
		for _, o := range out {
			if o.Text == s {
				return
			}
		}
		rs := reason{Text: s}
		if len(r.Phrases) > 0 {
			rs.Phrase = r.Phrases[0].Text
		}
		out = append(out, rs)
	}
	if a.NotAnOffer || !a.Flagged {
		for _, r := range rules {
			if r.Rule == ruleNotAnOffer && a.NotAnOffer {
				add(r)
			}
		}
	}
	// Largest first; rules keep their order on ties. Post-role rules say
	// whether the post is an offer, not why it is risky.
	best := make([]whyRule, 0, len(rules))
	for _, r := range rules {
		if r.Points > 0 && r.Rule != ruleTextModel && !strings.HasPrefix(r.Rule, postRolePrefix) {
			best = append(best, r)
		}
	}
	slices.SortStableFunc(best, func(x, y whyRule) int { return y.Points - x.Points })
	// With YAML rule weights the score is the sum of the ad's category's
	// rules alone: its reasons are those.
	if !scoredByModel(a) && a.Category != lokerwatch.CategoryNone {
		own := slices.DeleteFunc(slices.Clone(best), func(r whyRule) bool { return r.Category != a.Category })
		if len(own) > 0 {
			best = own
		}
	}
	for _, r := range best {
		if len(out) >= n {
			break
		}
		add(r)
	}
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// shortReason cuts a rule description to its first clause: without
// parentheses (sources, examples), up to a dash, colon, semicolon or the
// end of the first sentence, first letter lower-cased unless the first
// word is an acronym, and at most maxReason characters (cut at a word).
func shortReason(desc string) string {
	var b strings.Builder
	depth := 0
	for _, r := range desc {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	s = strings.ReplaceAll(s, " ,", ",")
	s = strings.ReplaceAll(s, " .", ".")
	for _, cut := range []string{" — ", " – ", " - ", "; ", ": ", ". "} {
		if i := strings.Index(s, cut); i > 0 {
			s = s[:i]
		}
	}
	s = strings.TrimRight(s, " .,;:")
	if utf8.RuneCountInString(s) > maxReason {
		rs := []rune(s)[:maxReason]
		cut := string(rs)
		if i := strings.LastIndex(cut, " "); i > maxReason/2 {
			cut = cut[:i]
		}
		s = strings.TrimRight(cut, " ,;:") + "…"
	}
	return lowerFirst(s)
}

// lowerFirst lower-cases the first letter unless the first word is an
// acronym or a name written in capitals (KTP, USDT, BP2MI).
func lowerFirst(s string) string {
	r, w := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsUpper(r) {
		return s
	}
	if r2, _ := utf8.DecodeRuneInString(s[w:]); unicode.IsUpper(r2) || unicode.IsDigit(r2) {
		return s
	}
	return string(unicode.ToLower(r)) + s[w:]
}

// signed writes n with its sign: "+7", "−3" (a real minus), "0".
func signed(n int) string {
	switch {
	case n > 0:
		return "+" + strconv.Itoa(n)
	case n < 0:
		return "−" + strconv.Itoa(-n)
	}
	return "0"
}
