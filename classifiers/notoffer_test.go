package classifiers

import (
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/lokerwatch/lokerwatch"
)

type quotedWarning struct {
	ID    string `json:"id"`
	Lang  string `json:"lang"`
	Title string `json:"title"`
	Quote string `json:"quote"` // the ad the post quotes
	Text  string `json:"text"`  // the post, with {Q} where the ad stands
}

func loadQuoted(t *testing.T) []quotedWarning {
	t.Helper()
	data, err := os.ReadFile("testdata/quoted-warnings.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []quotedWarning
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var q quotedWarning
		if err := json.Unmarshal([]byte(line), &q); err != nil {
			t.Fatal(err)
		}
		out = append(out, q)
	}
	return out
}

// TestQuotedAdsNotFlagged: warnings, news, questions and stories that quote
// a whole risky ad are not flagged at thresholds 30, 50 and 70, while the
// quoted ad on its own is flagged at each of them. And the demotion is the
// not-offer component's doing: with that head switched off (it never says
// "not an offer"), the same posts are flagged — so neither the not-offer
// head nor the quoted ads' own risk can silently stop mattering.
func TestQuotedAdsNotFlagged(t *testing.T) {
	posts := loadQuoted(t)
	for _, th := range []int{30, 50, 70} {
		e, err := New(Options{Threshold: th})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range posts {
			ad := &lokerwatch.Ad{ID: q.ID, Lang: q.Lang, Title: q.Title, Text: q.Quote}
			e.Classify(ad)
			if !ad.Assessment.Flagged {
				t.Errorf("threshold %d: %s: the quoted ad alone is not flagged (score %d)", th, q.ID, ad.Assessment.Score)
			}
			post := &lokerwatch.Ad{ID: q.ID, Lang: q.Lang, Title: q.Title, Text: strings.Replace(q.Text, "{Q}", q.Quote, 1)}
			e.Classify(post)
			if post.Assessment.Flagged {
				t.Errorf("threshold %d: %s: the post quoting it is flagged (score %d, signals %v)", th, q.ID, post.Assessment.Score, ruleIDs(post.Assessment))
			}
		}
	}

	// Switch the not-offer head off.
	m, err := ParseModel(embeddedModel)
	if err != nil {
		t.Fatal(err)
	}
	no := *m.Heads[headNotOffer]
	no.Bias = -50
	no.Weights = make([]float64, len(no.Weights))
	m.Heads = maps.Clone(m.Heads)
	m.Heads[headNotOffer] = &no
	off, err := New(Options{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for _, q := range posts {
		post := &lokerwatch.Ad{ID: q.ID, Lang: q.Lang, Title: q.Title, Text: strings.Replace(q.Text, "{Q}", q.Quote, 1)}
		off.Classify(post)
		if post.Assessment.Flagged {
			flagged++
		}
	}
	t.Logf("without the not-offer head %d of %d quoting posts are flagged", flagged, len(posts))
	if flagged < len(posts)/2 {
		t.Errorf("without the not-offer head only %d of %d quoting posts are flagged: the test no longer shows the head at work", flagged, len(posts))
	}
}

// TestNoRuleNeedsACountry: every rule can fire with no country, place or
// hotspot named — destination facts are never the only way in. Each
// condition is run with every fact that does not depend on a named
// country set (booleans true, counts and amounts high) and every fact that
// does set to zero; facts the condition negates are left false.
func TestNoRuleNeedsACountry(t *testing.T) {
	e := engineAllFacts(t)
	countryFacts := map[string]bool{"countries": true, "hotspot": true, "dest_no_placement": true, "dest_moratorium": true,
		"overseas": true, "phone_no_placement": true}
	for _, r := range e.rules {
		if destinationRule(r, countryFacts) {
			continue
		}
		negated := map[string]bool{}
		node := r.program.Node()
		collectNegated(node, negated)
		env := map[string]any{}
		for name, zero := range e.factKinds {
			switch zero.(type) {
			case bool:
				env[name] = !countryFacts[name] && !negated[name]
			case int:
				env[name] = 0
				if !countryFacts[name] && !negated[name] {
					env[name] = 1 << 30
				}
			case float64:
				env[name] = 0.0
				if !countryFacts[name] && !negated[name] {
					env[name] = 1e9
				}
			case string:
				env[name] = ""
			case []string:
				env[name] = []string{}
			}
		}
		env["min_age"] = 16 // an age is given and low
		out, err := exprRun(r, env)
		if err != nil {
			t.Errorf("rule %s: %v", r.id, err)
			continue
		}
		if !out {
			t.Errorf("rule %s (%s) cannot fire without a named country: %s", r.id, r.where, r.when)
		}
	}
}

func collectNegated(n ast.Node, into map[string]bool) {
	ast.Walk(&n, negVisitor{into})
}

type negVisitor struct{ into map[string]bool }

func (v negVisitor) Visit(n *ast.Node) {
	if u, ok := (*n).(*ast.UnaryNode); ok && (u.Operator == "!" || u.Operator == "not") {
		inner := u.Node
		ast.Walk(&inner, identVisitor(func(name string) { v.into[name] = true }))
	}
	// "fee_idr == 0" wants the fact at zero, as a negation does
	if b, ok := (*n).(*ast.BinaryNode); ok && b.Operator == "==" {
		if id, ok := b.Left.(*ast.IdentifierNode); ok {
			if z, ok := b.Right.(*ast.IntegerNode); ok && z.Value == 0 {
				v.into[id.Value] = true
			}
		}
	}
}

func exprRun(r rule, env map[string]any) (bool, error) {
	out, err := vm.Run(r.program, env)
	if err != nil {
		return false, err
	}
	b, _ := out.(bool)
	return b, nil
}

// destinationRule: a rule that is about the destination itself — every
// fact it names is a destination fact ("fact.hotspot"), or it encodes a
// country's law (the Middle-East domestic-work moratorium) — may need one.
func destinationRule(r rule, countryFacts map[string]bool) bool {
	if r.id == "np.domestic_work_moratorium" {
		return true
	}
	only := true
	node := r.program.Node()
	ast.Walk(&node, identVisitor(func(name string) {
		if !countryFacts[name] {
			only = false
		}
	}))
	return only
}
