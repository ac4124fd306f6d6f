package classifiers

import (
	"math"
	"math/rand/v2"
)

// Logistic regression, fitted by AdaGrad over shuffled samples with an L2
// pull towards a prior. Small on purpose: the data sets are a few thousand
// ads, the features sparse, and the fit must be the same every time for the
// same input (a fixed seed, a fixed order), so that the embedded model can
// be re-trained by a test and compared weight for weight.

// sparseRow is one sample's non-zero features.
type sparseRow struct {
	idx []uint32
	val []float64
}

type lrOptions struct {
	l2     float64   // strength of the pull towards prior (per sample: l2/N)
	epochs int       // passes over the data
	eta    float64   // AdaGrad base step
	seed   uint64    // shuffle seed
	prior  []float64 // dim long or nil (all 0)
	pinned []bool    // dim long or nil: weights kept at their prior
	bias   float64   // starting bias; the bias is not regularised
	weight []float64 // per-sample weight, nil = 1
	// lo and hi bound each weight (nil = unbounded): SpamAssassin keeps a
	// rule's score on the side its kind says (risk rules add, legitimacy
	// rules subtract), so correlated rules cannot cancel into explanations
	// an analyst cannot read ("lure job: −14").
	lo, hi []float64
	// biasMax caps the bias (nil = none): with no evidence at all an ad
	// must not look risky, whatever the class balance of the training set.
	biasMax *float64
}

// fitLR returns weights and bias minimising the weighted log loss plus
// (l2/2)·|w − prior|².
func fitLR(rows []sparseRow, y []float64, dim int, o lrOptions) ([]float64, float64) {
	w := make([]float64, dim)
	if o.prior != nil {
		copy(w, o.prior)
	}
	g2 := make([]float64, dim)
	b, gb := o.bias, 0.0
	n := len(rows)
	if n == 0 {
		return w, b
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(o.seed, 0x5eed))
	reg := o.l2 / float64(n)
	for ep := 0; ep < o.epochs; ep++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			r := rows[i]
			z := b
			for k, j := range r.idx {
				z += w[j] * r.val[k]
			}
			g := sigmoid(z) - y[i]
			if o.weight != nil {
				g *= o.weight[i]
			}
			gb += g * g
			b -= o.eta * g / (math.Sqrt(gb) + 1e-8)
			if o.biasMax != nil && b > *o.biasMax {
				b = *o.biasMax
			}
			for k, j := range r.idx {
				if o.pinned != nil && o.pinned[j] {
					continue
				}
				p := 0.0
				if o.prior != nil {
					p = o.prior[j]
				}
				gj := g*r.val[k] + reg*(w[j]-p)
				g2[j] += gj * gj
				w[j] -= o.eta * gj / (math.Sqrt(g2[j]) + 1e-8)
				if o.lo != nil && w[j] < o.lo[j] {
					w[j] = o.lo[j]
				}
				if o.hi != nil && w[j] > o.hi[j] {
					w[j] = o.hi[j]
				}
			}
		}
	}
	return w, b
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	ez := math.Exp(z)
	return ez / (1 + ez)
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}
