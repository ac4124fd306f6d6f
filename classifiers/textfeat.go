package classifiers

import "math"

// The text model (the "Bayes" rule, text.model) reads hashed n-grams of the
// normalised text: words, word bigrams and character 4–5-grams inside
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

// featSet is a small open-addressing set of buckets, emptied after each
// text by clearing only the slots it used (a bitset over all buckets was
// 128 KB per pooled state, and re-made whenever the pool was emptied).
type featSet struct {
	keys []uint32 // bucket+1, 0 = empty
	used []uint32 // slots to clear
}

// add inserts h; false when it was there already.
func (fs *featSet) add(h uint32) bool {
	if 2*(len(fs.used)+1) > len(fs.keys) {
		fs.grow()
	}
	mask := uint32(len(fs.keys) - 1)
	i := (h * 2654435761) & mask
	for {
		switch fs.keys[i] {
		case 0:
			fs.keys[i] = h + 1
			fs.used = append(fs.used, i)
			return true
		case h + 1:
			return false
		}
		i = (i + 1) & mask
	}
}

func (fs *featSet) grow() {
	old := fs.keys
	n := max(2*len(old), 2048)
	fs.keys = make([]uint32, n)
	fs.used = fs.used[:0]
	for _, k := range old {
		if k != 0 {
			fs.add(k - 1)
		}
	}
}

func (fs *featSet) reset() {
	for _, i := range fs.used {
		fs.keys[i] = 0
	}
	fs.used = fs.used[:0]
}

// The features of a text are its distinct words, its distinct word pairs,
// and the letter groups of each distinct word (a group two words share
// counts once per word). Letter groups belong to a word, not to the text,
// so the scorer weighs a word's groups once and remembers the sum
// (wordCache): they are three quarters of the features, and looking each
// one up was most of the text model's time.

// wordHash is the hash of the word text[s:e].
func wordHash(text []byte, s, e int) uint32 {
	h := fnvAdd(fnvOffset, 'w')
	for k := s; k < e; k++ {
		h = fnvAdd(h, foldDigit(text[k]))
	}
	return h
}

// pairHash is the hash of the word pair ending in text[s:e], given the
// previous word's hash.
func pairHash(prev uint32, text []byte, s, e int) uint32 {
	h := fnvAdd(prev, ' ')
	for k := s; k < e; k++ {
		h = fnvAdd(h, foldDigit(text[k]))
	}
	return fnvAdd(h, 'b')
}

// hasGroups says whether a word of n bytes has letter groups.
func hasGroups(n int) bool { return n >= 3 && n <= 40 }

// letterGroups calls fn with each 4–5-letter group of " word " (3-grams
// added cost and no measured gain; the 5-gram's hash extends the
// 4-gram's) and its span, clipped to the word.
func letterGroups(text []byte, s, e int, fn func(h uint32, gs, ge int)) {
	for k := s - 1; k+charMin <= e+1; k++ {
		ch := fnvAdd(fnvOffset, 'c')
		for m := k; m < k+charMax && m <= e; m++ {
			b := byte(' ')
			if m >= s && m < e {
				b = foldDigit(text[m])
			}
			ch = fnvAdd(ch, b)
			if l := m - k + 1; l >= charMin {
				fn(ch%textDim, max(k, s), min(k+l, e))
			}
		}
	}
}

// textWord finds the word at or after i: its bounds, or s == len(text).
func textWord(text []byte, i int) (s, e int) {
	n := len(text)
	for i < n && !isWordByte(text[i]) {
		i++
	}
	s = i
	for i < n && isWordByte(text[i]) {
		i++
	}
	return s, i
}

// textFeatures appends the hashed n-grams of text to out (what training
// reads); seen is scratch, emptied on return. No new word is read once
// maxTextFeats features are in.
func textFeatures(text []byte, out []textFeat, seen *featSet) []textFeat {
	start := len(out)
	defer seen.reset()
	var prevH uint32
	prevS := -1
	for i := 0; ; {
		s, e := textWord(text, i)
		if s >= len(text) || len(out)-start >= maxTextFeats {
			break
		}
		i = e
		wh := wordHash(text, s, e)
		if seen.add(wh % textDim) {
			out = append(out, textFeat{h: wh % textDim, s: int32(s), e: int32(e), kind: tfWord})
			if hasGroups(e - s) {
				letterGroups(text, s, e, func(h uint32, gs, ge int) {
					out = append(out, textFeat{h: h, s: int32(gs), e: int32(ge), kind: tfChars})
				})
			}
		}
		if prevS >= 0 {
			if bh := pairHash(prevH, text, s, e) % textDim; seen.add(bh) {
				out = append(out, textFeat{h: bh, s: int32(prevS), e: int32(e), kind: tfBigram})
			}
		}
		prevH, prevS = wh, s
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

// charMin and charMax bound the letter-group lengths the text model reads.
const charMin, charMax = 4, 5
