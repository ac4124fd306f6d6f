package classifiers

import "math/bits"

// SimHash is a 64-bit near-duplicate fingerprint of normalised text: every
// word bigram (a two-word shingle) votes on each bit with its FNV-1a hash.
// Reposts of one ad with a changed phone number, price or a few words differ
// in a few bits; unrelated ads differ in about half of them.
func SimHash(text []byte) uint64 {
	var v [64]int32
	var prev uint64
	havePrev := false
	n := len(text)
	features := 0
	add := func(h uint64) {
		features++
		for b := 0; b < 64; b++ {
			if h&(1<<uint(b)) != 0 {
				v[b]++
			} else {
				v[b]--
			}
		}
	}
	for i := 0; i < n; {
		for i < n && !isWordByte(text[i]) {
			i++
		}
		if i >= n {
			break
		}
		// FNV-1a of the word
		h := uint64(14695981039346656037)
		for i < n && isWordByte(text[i]) {
			h ^= uint64(text[i])
			h *= 1099511628211
			i++
		}
		if havePrev {
			add(mix(prev*31 + h))
		}
		prev, havePrev = h, true
	}
	if features == 0 {
		if havePrev {
			return mix(prev)
		}
		return 0
	}
	var out uint64
	for b := 0; b < 64; b++ {
		if v[b] > 0 {
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
