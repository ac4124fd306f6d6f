package classifiers

import (
	"math"
	"slices"
	"strconv"

	"github.com/lokerwatch/lokerwatch"
)

// clipText bounds the text model's log-odds as a feature: one very long
// post cannot outvote every rule.
const clipText = 8

func clipLogOdds(z float64) float64 { return math.Max(-clipText, math.Min(clipText, z)) }

// assess scores an ad with the model: each head adds its bias, the
// weights of the rules that fired and the text model's log-odds; the
// score is P(risky | offer) × P(offer) × 100. Each rule's signal weight is
// its share of the risk probability's distance from the base score (for a
// logistic model the exact integrated-gradients attribution along the
// straight path from "no evidence"), and the not-offer demotion is a
// signal of its own, so an ad's weights add up to (score − base), give or
// take rounding.
func (st *state) assess(ad *lokerwatch.Ad, a *lokerwatch.Assessment, body string) {
	e := st.e
	bm := e.model
	z := bm.bias
	var top [3]textContrib
	var tz [numHeads]float64
	var sim simVoter // the fingerprint's votes, read on the text model's walk
	if bm.hasText {
		tz = bm.textScore(st.nt.Text, &st.seen, &st.words, &top, &sim)
		for t := range tz {
			tz[t] = clipLogOdds(tz[t])
		}
		for h := 0; h < numHeads; h++ {
			for t := 0; t < numHeads; t++ {
				z[h] += bm.text[h][t] * tz[t]
			}
		}
	}
	for _, ri := range st.fired {
		for h := 0; h < numHeads; h++ {
			z[h] += bm.rule[ri][h]
		}
	}
	p := sigmoid(z[hRisk])
	pNo := sigmoid(z[hNotOffer])
	noJob := !st.anyTruthy(bm.offer)
	if noJob {
		pNo = math.Max(pNo, noJobNotOffer)
	}
	a.NotAnOffer = pNo >= 0.5
	// The score is the chance that the post is a risky offer: risky, and
	// an offer at all. A post that reads as a warning or report is never
	// flagged.
	a.Score = clamp(int(math.Round(100 * p * (1 - pNo))))
	var q [numRiskCats]float64
	for c := 0; c < numRiskCats; c++ {
		q[c] = sigmoid(z[hScam+c])
	}
	best := 0
	for c := 1; c < numRiskCats; c++ {
		if q[c] > q[best] {
			best = c
		}
	}
	// The likeliest category carries the ad's score; the others in
	// proportion to how likely they are beside it.
	for c := 0; c < numRiskCats; c++ {
		a.Categories[lokerwatch.Categories[c]] = clamp(int(math.Round(float64(a.Score) * q[c] / q[best])))
	}
	a.Flagged = a.Score >= e.threshold && !a.NotAnOffer
	if a.Flagged {
		a.Category = lokerwatch.Categories[best]
	}

	// Attribution: points per unit of log-odds on the straight path.
	base := 100 * sigmoid(bm.bias[hRisk])
	dz := z[hRisk] - bm.bias[hRisk]
	perUnit := 0.0
	if math.Abs(dz) > 1e-9 {
		perUnit = (100*p - base) / dz
	}
	points := func(c float64) int { return int(math.Round(c * perUnit)) }

	// One signal per fired rule (its first span), the text model's three
	// n-grams and the not-offer share: supporting-evidence rows are left
	// out, the analyst sees each rule once with what it added.
	sigs := st.sigs[:0]
	for _, o := range st.order {
		if o < 0 {
			sigs = append(sigs, st.failed[-o-1])
			continue
		}
		r := &e.rules[o]
		w := bm.rule[o][hRisk]
		sigs = st.evidenceWith(sigs, r, body, bm.signalCategory(r, int(o)), points(w), false)
	}
	if bm.hasText {
		c := 0.0
		for t := 0; t < numHeads; t++ {
			c += bm.text[hRisk][t] * tz[t]
		}
		const desc = "Text model, the learned \"Bayes\" rule: words, word pairs and letter groups of the whole text, weighed from labelled ads and analysts' verdicts; the n-grams that weighed most are shown"
		first := true
		for _, tc := range top {
			if tc.abs == 0 {
				break
			}
			os, oe := st.nt.Span(int(tc.f.s), int(tc.f.e))
			sig := lokerwatch.Signal{Rule: ruleText, Evidence: body[os:oe], Start: os, End: oe}
			if first {
				sig.Weight, sig.Description = points(c), desc
				if c > 0 {
					sig.Category = a.Category
				}
				first = false
			} else {
				// constant texts: a formatted weight cost an allocation per ad
				// and meant little to an analyst beside the points above
				sig.Description = "one more of the n-grams that weighed most, towards risky"
				if tc.c < 0 {
					sig.Description = "one more of the n-grams that weighed most, against risky"
				}
			}
			sigs = append(sigs, sig)
		}
		if first {
			sigs = append(sigs, lokerwatch.Signal{Rule: ruleText, Weight: points(c), Description: desc})
		}
	}
	// The not-offer demotion takes its own share: the points between the
	// risk probability and the score.
	if demote := int(math.Round(100*p)) - a.Score; demote > 0 || a.NotAnOffer {
		desc := "reads as a warning, news report, question or story rather than a job offer with probability " + strconv.FormatFloat(pNo, 'f', 2, 64) + ": the score is the chance of a risky offer"
		if noJob {
			desc = "names no job, work, salary or recruitment at all, so it is not a job offer: the score is the chance of a risky offer"
		}
		if a.NotAnOffer {
			desc += "; never flagged"
		}
		sigs = append(sigs, lokerwatch.Signal{Rule: ruleNotOffer, Weight: -demote, Description: desc})
	}
	a.Signals = st.ordered(sigs)
	st.sigs = sigs
	ad.Assessment = a
	if bm.hasText {
		ad.Fingerprint = sim.sum()
	} else {
		ad.Fingerprint = SimHash(st.nt.Text)
	}
}

// ordered copies sigs, built in scratch, into an exact-size slice with
// the largest contributions first; failures and ties keep rule order.
// Sorting small keys and copying each signal once is cheaper than a
// stable sort moving the 88-byte signals about.
func (st *state) ordered(sigs []lokerwatch.Signal) []lokerwatch.Signal {
	keys := st.sigKeys[:0]
	for i := range sigs {
		// |weight| descending, then position: distinct keys, so an
		// unstable sort gives the stable order
		keys = append(keys, uint64(math.MaxUint32-min(abs(sigs[i].Weight), math.MaxUint32))<<32|uint64(i))
	}
	slices.Sort(keys)
	out := make([]lokerwatch.Signal, len(sigs))
	for k, key := range keys {
		out[k] = sigs[uint32(key)]
	}
	st.sigKeys = keys
	clear(sigs) // the scratch must not keep this ad's strings alive
	return out
}

// noJobNotOffer is the not-an-offer probability of a post that names no
// job at all.
const noJobNotOffer = 0.9

func (st *state) anyTruthy(ids []int) bool {
	for _, id := range ids {
		if st.truthy[id] {
			return true
		}
	}
	return false
}

// ruleText is the rule id of the text model's signal; ruleNotOffer of the
// not-an-offer demotion.
const (
	ruleText     = "text.model"
	ruleNotOffer = "post.not_an_offer"
)

// signalCategory is the category a rule's signal is shown under: its own
// for risk rules; for single indicators and legitimacy rules that raised
// the risk, the category head that weighs it most.
func (bm *boundModel) signalCategory(r *rule, i int) lokerwatch.Category {
	if r.cat >= 0 {
		return lokerwatch.Categories[r.cat]
	}
	if bm.rule[i][hRisk] <= 0 {
		return lokerwatch.CategoryNone
	}
	best := 0
	for c := 1; c < numRiskCats; c++ {
		if bm.rule[i][hScam+c] > bm.rule[i][hScam+best] {
			best = c
		}
	}
	return lokerwatch.Categories[best]
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
