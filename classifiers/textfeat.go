package classifiers

import "math"

// The text model (the "Bayes" rule, text.model) reads hashed n-grams of the
// normalised text: words, word bigrams and character 3–5-grams inside
// words. Digits are folded to 0, so "18jt" and "25jt" are one feature and a
// phone number is no feature at all (a repost with a new number reads the
// same). Hashing keeps the model a fixed size whatever the vocabulary; a
// feature remembers where it first occurred so the signal can point at it.

// textDim is the number of hash buckets of the text model.
const textDim = 1 << 20

// textFeat is one hashed n-gram present in a text, with its first span in
// the normalised text and its kind (word, bigram, chars).
type textFeat struct {
	h    uint32
	s, e int32
	kind uint8
}

const (
	tfWord = iota
	tfBigram
	tfChars
)

// maxTextFeats bounds the features of one text (a hostile page cannot make
// the model slow); the first ones win.
const maxTextFeats = 20000

func fnvAdd(h uint32, b byte) uint32 { return (h ^ uint32(b)) * 16777619 }

const fnvOffset = 2166136261

// foldDigit maps digits to '0' (numbers are shapes, not values, to the model).
func foldDigit(b byte) byte {
	if b >= '0' && b <= '9' {
		return '0'
	}
	return b
}

// textFeatures appends the distinct hashed n-grams of text to out. seen is
// scratch sized textDim/64 words (a bitset), cleared on return.
func textFeatures(text []byte, out []textFeat, seen []uint64) []textFeat {
	start := len(out)
	add := func(h uint32, s, e int, kind uint8) {
		h %= textDim
		if seen[h>>6]&(1<<(h&63)) != 0 || len(out)-start >= maxTextFeats {
			return
		}
		seen[h>>6] |= 1 << (h & 63)
		out = append(out, textFeat{h: h, s: int32(s), e: int32(e), kind: kind})
	}
	var prevH uint32
	prevS := -1
	n := len(text)
	for i := 0; i < n; {
		for i < n && !isWordByte(text[i]) {
			i++
		}
		if i >= n {
			break
		}
		s := i
		for i < n && isWordByte(text[i]) {
			i++
		}
		e := i
		// word
		wh := uint32(fnvOffset)
		wh = fnvAdd(wh, 'w')
		for k := s; k < e; k++ {
			wh = fnvAdd(wh, foldDigit(text[k]))
		}
		add(wh, s, e, tfWord)
		if prevS >= 0 {
			bh := fnvAdd(prevH, ' ')
			for k := s; k < e; k++ {
				bh = fnvAdd(bh, foldDigit(text[k]))
			}
			add(fnvAdd(bh, 'b'), prevS, e, tfBigram)
		}
		prevH, prevS = wh, s
		// character 3–5-grams of " word ", only for words of letters
		if e-s >= 3 && e-s <= 40 {
			for k := s - 1; k < e; k++ {
				for l := 3; l <= 5; l++ {
					if k+l > e+1 {
						break
					}
					ch := uint32(fnvOffset)
					ch = fnvAdd(ch, 'c')
					for m := k; m < k+l; m++ {
						b := byte(' ')
						if m >= s && m < e {
							b = foldDigit(text[m])
						}
						ch = fnvAdd(ch, b)
					}
					add(ch, max(k, s), min(k+l, e), tfChars)
				}
			}
		}
	}
	for _, f := range out[start:] {
		seen[f.h>>6] = 0
	}
	return out
}

// textValue is the value of each present feature: binary presence scaled
// to unit length, so long posts do not outweigh short ones. Below
// textFloor features (about 20 words) the value shrinks with the text
// (√n/textFloor, equal to 1/√n at the floor): a few words are little
// evidence, so "japri pak" cannot score like a whole ad.
func textValue(n int) float64 {
	if n == 0 {
		return 0
	}
	if n < textFloor {
		return math.Sqrt(float64(n)) / textFloor
	}
	return 1 / math.Sqrt(float64(n))
}

const textFloor = 300
