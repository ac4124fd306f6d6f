package classifiers

import "math/bits"

// SimHash is a 64-bit near-duplicate fingerprint of normalised text: every
// word and every word bigram votes on each bit with its (FNV-1a, mixed)
// hash. Numbers are left out, so reposts that only change the phone number
// or the price get the same fingerprint; a few changed words move a few
// bits; unrelated ads differ in about half of them.
func SimHash(text []byte) uint64 {
	var v simVoter
	for i := 0; ; {
		s, e := textWord(text, i)
		if s >= len(text) {
			break
		}
		i = e
		v.word(simWordHash(text, s, e))
	}
	return v.sum()
}

// simWordHash is the FNV-1a hash of a word and whether it has a letter.
func simWordHash(text []byte, s, e int) (uint64, bool) {
	h := uint64(14695981039346656037)
	letters := false
	for k := s; k < e; k++ {
		if !isDigitByte(text[k]) {
			letters = true
		}
		h ^= uint64(text[k])
		h *= 1099511628211
	}
	return h, letters
}

// simVoter counts the votes of a text's words, in order (the text
// model's scorer feeds it from its own walk over the words, SimHash from
// its own).
type simVoter struct {
	counts   [64]int32
	acc      [8]uint64 // byte i of acc[j]: votes for bit 8i+j since the last flush
	pending  int
	features int
	prev     uint64
	havePrev bool
}

// word votes with a word's hash and, after the first, with the pair it
// ends; numbers (no letter: phones, prices change between reposts) do not
// vote and do not break a pair.
func (v *simVoter) word(h uint64, letters bool) {
	if !letters {
		return
	}
	v.add(mix(h))
	if v.havePrev {
		v.add(mix(v.prev*31 + h))
	}
	v.prev, v.havePrev = h, true
}

// add votes with bit j of every byte of f, one per byte lane: eight votes
// per add, no table loads.
func (v *simVoter) add(f uint64) {
	const lanes = 0x0101010101010101
	v.acc[0] += f & lanes
	v.acc[1] += f >> 1 & lanes
	v.acc[2] += f >> 2 & lanes
	v.acc[3] += f >> 3 & lanes
	v.acc[4] += f >> 4 & lanes
	v.acc[5] += f >> 5 & lanes
	v.acc[6] += f >> 6 & lanes
	v.acc[7] += f >> 7 & lanes
	v.features++
	v.pending++
	if v.pending == 255 {
		v.flush()
	}
}

func (v *simVoter) flush() {
	for j := 0; j < 8; j++ {
		a := v.acc[j]
		for i := 0; i < 8; i++ {
			v.counts[8*i+j] += int32((a >> (8 * i)) & 0xff)
		}
		v.acc[j] = 0
	}
	v.pending = 0
}

// sum is the fingerprint: each bit set where most votes were.
func (v *simVoter) sum() uint64 {
	if v.features == 0 {
		return 0
	}
	v.flush()
	var out uint64
	for b := 0; b < 64; b++ {
		if 2*int(v.counts[b]) > v.features {
			out |= 1 << uint(b)
		}
	}
	return out
}

// mix spreads the bits of a hash (splitmix64 finaliser).
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Distance is the number of differing bits between two fingerprints.
func Distance(a, b uint64) int { return bits.OnesCount64(a ^ b) }
