package classifiers

import (
	"fmt"
	"math"
	"testing"
)

// refTextScore is the text model's definition: the weights of every
// feature textFeatures lists (what training reads), summed and scaled.
func refTextScore(b *boundModel, text []byte) ([numHeads]float64, int) {
	var seen featSet
	feats := textFeatures(text, nil, &seen)
	z := b.textBias
	v := textValue(len(feats))
	best := 0
	for _, f := range feats {
		i := b.tb.find(f.h)
		if i < 0 {
			continue
		}
		for h := 0; h < numHeads; h++ {
			z[h] += float64(b.tb.w[i][h]) * float64(b.tb.scale[h]) * v
		}
		ac := abs(int(b.tb.w[i][hRisk])) * 2
		if f.kind != tfChars {
			ac = ac * 3 / 2
		}
		best = max(best, ac)
	}
	return z, best
}

// TestTextScoreMatchesFeatures: the scorer, which weighs a word's letter
// groups once and caches them, gives what the feature list training
// reads gives, for fresh and cached words, and its first evidence is the
// heaviest n-gram.
func TestTextScoreMatchesFeatures(t *testing.T) {
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := e.model
	if !b.hasText {
		t.Fatal("default model has no text model")
	}
	var seen featSet
	var wc wordCache
	// the last is past maxTextFeats: the fingerprint must still read it all
	var long []byte
	for i := 0; i < 3000; i++ {
		long = fmt.Appendf(long, "kata%dx%d ", i, i*7)
	}
	texts := [][]byte{[]byte(""), []byte("a"), []byte("kerja kerja bekerja 18jt 25jt ..."), []byte("0812 3456 loker 0812"), long}
	for _, a := range benchAds(t) {
		texts = append(texts, Normalize(a.Title+"\n"+a.Text).Text)
	}
	for pass := 0; pass < 2; pass++ { // the second pass reads cached words
		for k, tx := range texts {
			var top [3]textContrib
			var sim simVoter
			got := b.textScore(tx, &seen, &wc, &top, &sim)
			if fp, want := sim.sum(), SimHash(tx); fp != want {
				t.Errorf("pass %d text %d: fingerprint on the text model's walk %x, SimHash %x", pass, k, fp, want)
			}
			want, best := refTextScore(b, tx)
			for h := range got {
				if math.Abs(got[h]-want[h]) > 1e-9 {
					t.Fatalf("pass %d text %d head %d: textScore %v, features say %v", pass, k, h, got[h], want[h])
				}
			}
			if top[0].abs != best {
				t.Errorf("pass %d text %d: first evidence weighs %v, heaviest n-gram %v", pass, k, top[0].abs, best)
			}
			if top[0].abs > 0 && (top[0].f.s < 0 || int(top[0].f.e) > len(tx) || top[0].f.s >= top[0].f.e) {
				t.Errorf("pass %d text %d: evidence span %d..%d outside the text", pass, k, top[0].f.s, top[0].f.e)
			}
		}
	}
}
