package classifiers

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/lokerwatch/lokerwatch"
)

// Model holds the learned weights that turn fired rules and the text
// model's output into scores. Rules say what is in an ad (and where);
// the model says how much each of those things weighs. It is trained from
// labelled ads and analysts' verdicts (`lokerwatch train`), written as JSON,
// and loaded from classify.model; the default ships embedded.
//
// Heads: "risk" (risky or not: the score, a probability × 100), "not_offer"
// (warning, news, story: not a job offer), and one per category ("scam",
// "nonprocedural", "trafficking": which kind of risk, fitted on risky ads).
// Every head reads the same features: each rule that fired (1) and the
// text model's log-odds for each head (the stacked "Bayes" rule).
type Model struct {
	Format int `json:"format"`
	// Version is a digest of the model's content; every assessment records it.
	Version string `json:"version"`
	// Rules is the version of the rule set the model was trained with.
	Rules string `json:"rules"`
	// Data says what it was trained on (files and counts).
	Data     []string         `json:"data,omitempty"`
	Features []string         `json:"features"`
	Heads    map[string]*Head `json:"heads"`
	Text     *TextModel       `json:"text,omitempty"`
}

// Head is one logistic regression over the model's features.
type Head struct {
	Bias    float64   `json:"bias"`
	Weights []float64 `json:"weights"` // aligned with Model.Features
}

// TextModel is the hashed n-gram logistic regression (one per head) whose
// log-odds the heads read as features.
type TextModel struct {
	Dim     int                  `json:"dim"`
	Heads   []string             `json:"heads"`
	Bias    []float64            `json:"bias"`
	Buckets []uint32             `json:"buckets"` // sorted
	Weights map[string][]float32 `json:"weights"` // head -> aligned with Buckets
}

// Head names.
const (
	headRisk     = "risk"
	headNotOffer = "not_offer"
)

var riskHeads = []string{string(lokerwatch.CategoryScam), string(lokerwatch.CategoryNonprocedural), string(lokerwatch.CategoryTrafficking)}

// featText names the stacked text-model feature of a head.
func featText(head string) string { return "text:" + head }

// featRule names a rule's feature.
func featRule(id string) string { return "rule:" + id }

//go:embed defaults/model.json
var embeddedModel []byte

// LoadModel reads a model file written by `lokerwatch train`.
func LoadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load model: %w", err)
	}
	m, err := ParseModel(data)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

// ParseModel decodes and checks a model.
func ParseModel(data []byte) (*Model, error) {
	var m Model
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if m.Format != 1 {
		return nil, fmt.Errorf("format %d, want 1", m.Format)
	}
	for name, h := range m.Heads {
		if h == nil || len(h.Weights) != len(m.Features) {
			return nil, fmt.Errorf("head %s: %d weights for %d features", name, len(h.Weights), len(m.Features))
		}
	}
	if _, ok := m.Heads[headRisk]; !ok {
		return nil, fmt.Errorf("no %q head", headRisk)
	}
	if t := m.Text; t != nil {
		if t.Dim != textDim {
			return nil, fmt.Errorf("text model dim %d, this build hashes into %d", t.Dim, textDim)
		}
		if len(t.Bias) != len(t.Heads) {
			return nil, fmt.Errorf("text model: %d biases for %d heads", len(t.Bias), len(t.Heads))
		}
		if !sort.SliceIsSorted(t.Buckets, func(i, j int) bool { return t.Buckets[i] < t.Buckets[j] }) {
			return nil, fmt.Errorf("text model: buckets not sorted")
		}
		for _, h := range t.Heads {
			if len(t.Weights[h]) != len(t.Buckets) {
				return nil, fmt.Errorf("text model head %s: %d weights for %d buckets", h, len(t.Weights[h]), len(t.Buckets))
			}
		}
	}
	return &m, nil
}

// Encode writes the model as indented JSON with its version set.
func (m *Model) Encode() ([]byte, error) {
	m.Version = ""
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	m.Version = hex.EncodeToString(sum[:6])
	// Compact: the text weights are most of it, and an indented array
	// would put each number on a line of its own.
	body, err = json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}

// boundModel is a model resolved against a loaded engine: weights by rule
// index, text weights in an open-addressing table.
type boundModel struct {
	m        *Model
	bias     [5]float64   // per head
	rule     [][5]float64 // rule index -> weight per head
	text     [5][5]float64
	hasText  bool
	tb       textTable
	textBias [5]float64
	offer    []int // fact ids: at least one must be set for a post to be a job offer
}

// offerFacts name what makes a post about a job at all; a post with none
// of them (a comment "japri pak, WA 0812…", a greeting) is not an offer.
var offerFacts = []string{"job_words", "lure_job", "typing_skill", "scam_tasks", "scam_industry", "explicit_scam_work",
	"domestic_work", "nightlife_job", "umroh_work", "salary_idr", "fee_idr", "high_pay_words", "skilled_reqs", "light_reqs"}

const (
	hRisk = iota
	hNotOffer
	hScam
	hNonproc
	hTraff
	numHeads
)

var headOrder = [numHeads]string{headRisk, headNotOffer, riskHeads[0], riskHeads[1], riskHeads[2]}

// bind resolves m against the engine's rules. A rule the model does not
// know weighs its prior (the YAML weight, see priorOf) until the next
// training; a model feature naming no loaded rule is ignored.
func (e *Engine) bind(m *Model) *boundModel {
	b := &boundModel{m: m, rule: make([][5]float64, len(e.rules))}
	for i := range e.rules {
		for h := 0; h < numHeads; h++ {
			b.rule[i][h] = priorOf(&e.rules[i], headOrder[h])
		}
	}
	for _, f := range offerFacts {
		if id, ok := e.factID[f]; ok {
			b.offer = append(b.offer, id)
		}
	}
	ruleIdx := make(map[string]int, len(e.rules))
	for i, r := range e.rules {
		ruleIdx[featRule(r.id)] = i
	}
	for h := 0; h < numHeads; h++ {
		hd := m.Heads[headOrder[h]]
		if hd == nil {
			continue
		}
		b.bias[h] = hd.Bias
		for k, f := range m.Features {
			if i, ok := ruleIdx[f]; ok {
				b.rule[i][h] = hd.Weights[k]
				continue
			}
			for t := 0; t < numHeads; t++ {
				if f == featText(headOrder[t]) {
					b.text[h][t] = hd.Weights[k]
				}
			}
		}
	}
	if t := m.Text; t != nil && len(t.Buckets) > 0 {
		b.hasText = true
		hi := make([]int, numHeads)
		for h := range hi {
			hi[h] = -1
		}
		for k, name := range t.Heads {
			for h := 0; h < numHeads; h++ {
				if headOrder[h] == name {
					hi[h] = k
					b.textBias[h] = t.Bias[k]
				}
			}
		}
		b.tb = newTextTable(len(t.Buckets))
		ws := make([][numHeads]float32, len(t.Buckets))
		for k := range t.Buckets {
			for h := 0; h < numHeads; h++ {
				if hi[h] >= 0 {
					ws[k][h] = t.Weights[t.Heads[hi[h]]][k]
				}
			}
		}
		b.tb.fill(t.Buckets, ws)
	}
	return b
}

// priorOf is a rule's starting weight for a head, from its YAML weight
// (points on the old 0–100 scale; 20 points = 1 unit of log-odds):
// the risk head takes risk and legitimacy rules with their sign and
// not_offer rules against; the not_offer head takes not_offer rules;
// a category head takes its own category's rules.
func priorOf(r *rule, head string) float64 {
	w := float64(r.weight) / priorScale
	switch head {
	case headRisk:
		if r.category == CategoryNotOffer {
			return -w
		}
		if r.category == "" {
			return 0
		}
		return w
	case headNotOffer:
		if r.category == CategoryNotOffer {
			return w
		}
		return 0
	default:
		if r.category == head {
			return w
		}
		return 0
	}
}

// priorScale converts YAML weights (points) to log-odds.
const priorScale = 20

// textTable maps a bucket to its five head weights: open addressing over
// a power-of-two array of keys, with the weights of a slot in a parallel
// array as int16 scaled per head. The text model's cost is a cache miss
// per n-gram, so the table is kept small enough to share the core's L2
// with the keyword automaton: 32,768 keys are 128 KB and only the slots
// that match are read from the 320 KB of weights (float32 entries with
// their keys were 768 KB, and the two evicted each other). int16 keeps
// each weight to 1/32,767 of its head's largest, far below what a score
// rounded to whole points can show.
type textTable struct {
	mask  uint32
	keys  []uint32 // bucket+1; 0 = empty
	w     [][numHeads]int16
	scale [numHeads]float32 // weight = w * scale
}

func newTextTable(n int) textTable {
	// load at most 2/3: short probes
	size := 1
	for size < n+n/2 {
		size <<= 1
	}
	return textTable{mask: uint32(size - 1), keys: make([]uint32, size), w: make([][numHeads]int16, size)}
}

func (t *textTable) slot(k uint32) uint32 { return (k * 2654435761) & t.mask }

// fill puts every bucket with its weights (weights[k] for buckets[k]).
func (t *textTable) fill(buckets []uint32, weights [][numHeads]float32) {
	var most [numHeads]float32
	for _, w := range weights {
		for h, x := range w {
			most[h] = max(most[h], float32(math.Abs(float64(x))))
		}
	}
	for h := range most {
		t.scale[h] = most[h] / math.MaxInt16
	}
	for k, bk := range buckets {
		i := t.slot(bk)
		for t.keys[i] != 0 && t.keys[i] != bk+1 {
			i = (i + 1) & t.mask
		}
		t.keys[i] = bk + 1
		for h, x := range weights[k] {
			if t.scale[h] > 0 {
				t.w[i][h] = int16(math.Round(float64(x / t.scale[h])))
			}
		}
	}
}

// find is the slot of bucket k, or -1.
func (t *textTable) find(k uint32) int {
	if t.keys == nil {
		return -1
	}
	i := t.slot(k)
	for {
		switch t.keys[i] {
		case 0:
			return -1
		case k + 1:
			return int(i)
		}
		i = (i + 1) & t.mask
	}
}

// textScore is the text model's log-odds per head for one normalised
// text, and the n-grams that weighed most for the risk head (evidence):
// the sum over textFeatures' features (TestTextScoreMatchesFeatures), but
// a word's letter groups are weighed once per word and remembered in wc.
// seen is scratch, emptied on return.
//
// sim, when not nil, is fed every word for the SimHash fingerprint on the
// same walk (it must see the whole text, so the walk goes on past
// maxTextFeats reading no more features).
func (b *boundModel) textScore(text []byte, seen *featSet, wc *wordCache, top *[3]textContrib, sim *simVoter) [numHeads]float64 {
	var z [numHeads]float64
	*top = [3]textContrib{}
	if !b.hasText {
		return z
	}
	defer seen.reset()
	wc.use(b)
	var sum [numHeads]int64
	n := 0
	var prevH uint32
	prevS := -1
	for i := 0; ; {
		s, e := textWord(text, i)
		if s >= len(text) {
			break
		}
		i = e
		if sim != nil {
			sim.word(simWordHash(text, s, e))
		}
		if n >= maxTextFeats {
			if sim == nil {
				break
			}
			continue
		}
		wh, key := wordHashes(text, s, e)
		if seen.add(wh % textDim) {
			g := wc.word(b, key, wh%textDim, text, s, e)
			n += 1 + int(g.n)
			for h := range sum {
				sum[h] += int64(g.sum[h])
			}
			if g.known {
				offerTop(top, textFeat{h: wh % textDim, s: int32(s), e: int32(e), kind: tfWord}, g.raw)
			}
			if g.best != 0 {
				offerTop(top, textFeat{s: int32(s + int(g.bs)), e: int32(s + int(g.be)), kind: tfChars}, g.best)
			}
		}
		if prevS >= 0 {
			if bh := pairHash(prevH, text, s, e) % textDim; seen.add(bh) {
				n++
				b.addBucket(bh, textFeat{s: int32(prevS), e: int32(e), kind: tfBigram}, &sum, top)
			}
		}
		prevH, prevS = wh, s
	}
	v := textValue(n)
	z = b.textBias
	for h := 0; h < numHeads; h++ {
		z[h] += float64(sum[h]) * float64(b.tb.scale[h]) * v
	}
	for k := range top {
		top[k].c = float64(top[k].raw) * float64(b.tb.scale[hRisk]) * v
	}
	return z
}

// addBucket adds the weights of one word or word pair, when the model
// knows it.
func (b *boundModel) addBucket(k uint32, f textFeat, sum *[numHeads]int64, top *[3]textContrib) {
	i := b.tb.find(k)
	if i < 0 {
		return
	}
	w := &b.tb.w[i]
	for h := 0; h < numHeads; h++ {
		sum[h] += int64(w[h])
	}
	f.h = k
	offerTop(top, f, w[hRisk])
}

// offerTop keeps the three n-grams of largest |risk weight| (words and
// word pairs first: they read better than letter groups of the same
// weight; the first of equals wins).
func offerTop(top *[3]textContrib, f textFeat, raw int16) {
	// ranking key: |raw| × 2, × 3 for words and pairs (the 1.5 above)
	ac := abs(int(raw)) * 2
	if f.kind != tfChars {
		ac = ac * 3 / 2
	}
	if ac <= top[2].abs {
		return
	}
	for k := 0; k < 3; k++ {
		if ac > top[k].abs {
			copy(top[k+1:], top[k:2])
			top[k] = textContrib{f: f, raw: raw, abs: ac}
			return
		}
	}
}

type textContrib struct {
	f   textFeat
	raw int16   // risk weight, table units
	abs int     // ranking key (offerTop)
	c   float64 // log-odds it added to the risk head
}

// wordGrams is what one word weighs: the word itself and its letter
// groups, summed.
type wordGrams struct {
	sum    [numHeads]int32
	n      int32 // letter groups in the word
	raw    int16 // the word's own risk weight
	known  bool  // the model knows the word itself
	best   int16 // risk weight of the heaviest group
	bs, be uint8 // its span in the word
}

// wordCache remembers wordGrams by word (digits folded) for one model.
// It is per state, so needs no lock; a hostile stream of distinct words
// only makes it start over when full.
type wordCache struct {
	model *boundModel
	m     map[uint64]int32 // word -> index in g
	g     []wordGrams
}

const maxWordCache = 1 << 15

func (wc *wordCache) use(b *boundModel) {
	if wc.model != b || len(wc.m) >= maxWordCache {
		wc.model = b
		wc.m = make(map[uint64]int32, 1024)
		wc.g = wc.g[:0]
	}
}

// wordHashes are wordHash and a 64-bit hash of the same bytes (the cache
// key: 32 bits would mistake one word for another now and then).
func wordHashes(text []byte, s, e int) (uint32, uint64) {
	h := fnvAdd(fnvOffset, 'w')
	key := uint64(14695981039346656037)
	for k := s; k < e; k++ {
		b := foldDigit(text[k])
		h = fnvAdd(h, b)
		key = (key ^ uint64(b)) * 1099511628211
	}
	return h, key
}

// word is what the word text[s:e] (bucket wb, cache key key) weighs.
func (wc *wordCache) word(b *boundModel, key uint64, wb uint32, text []byte, s, e int) *wordGrams {
	if i, ok := wc.m[key]; ok {
		return &wc.g[i]
	}
	var g wordGrams
	if i := b.tb.find(wb); i >= 0 {
		w := &b.tb.w[i]
		for h := range g.sum {
			g.sum[h] += int32(w[h])
		}
		g.raw, g.known = w[hRisk], true
	}
	if hasGroups(e - s) {
		letterGroups(text, s, e, func(h uint32, gs, ge int) {
			g.n++
			i := b.tb.find(h)
			if i < 0 {
				return
			}
			w := &b.tb.w[i]
			for h := range g.sum {
				g.sum[h] += int32(w[h])
			}
			if abs(int(w[hRisk])) > abs(int(g.best)) {
				g.best, g.bs, g.be = w[hRisk], uint8(gs-s), uint8(ge-s)
			}
		})
	}
	wc.m[key] = int32(len(wc.g))
	wc.g = append(wc.g, g)
	return &wc.g[len(wc.g)-1]
}

// ModelVersion names the model in force.
func (e *Engine) ModelVersion() string {
	if e.model == nil {
		return ""
	}
	return e.model.m.Version
}

// Model returns the model in force (nil when none).
func (e *Engine) Model() *Model {
	if e.model == nil {
		return nil
	}
	return e.model.m
}

// DataLabel names a training file in a model's Data: its base name and
// how many ads it gave, so that a model says what it learned from without
// depending on where the file was.
func DataLabel(path string, n int) string {
	return fmt.Sprintf("%s (%d ads)", filepath.Base(path), n)
}

// BaseScore is the score of an ad with no evidence at all: the signals'
// weights of an assessment add up to its score minus this (rounded).
func (e *Engine) BaseScore() int {
	if e.model == nil {
		return 0
	}
	return int(math.Round(100 * sigmoid(e.model.bias[hRisk])))
}
