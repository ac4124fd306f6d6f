package classifiers

import "math/bits"

// SimHash is a 64-bit near-duplicate fingerprint of normalised text: every
// word and every word bigram votes on each bit with its (FNV-1a, mixed)
// hash. Numbers are left out, so reposts that only change the phone number
// or the price get the same fingerprint; a few changed words move a few
// bits; unrelated ads differ in about half of them.
func SimHash(text []byte) uint64 {
	var counts [64]int32
	var acc [8]uint64 // byte i of acc[j]: votes for bit 8i+j since the last flush
	pending := 0
	features := 0
	flush := func() {
		for j := 0; j < 8; j++ {
			a := acc[j]
			for i := 0; i < 8; i++ {
				counts[8*i+j] += int32((a >> (8 * i)) & 0xff)
			}
			acc[j] = 0
		}
		pending = 0
	}
	// Bit j of every byte of f, one per byte lane: eight votes per add,
	// no table loads.
	const lanes = 0x0101010101010101
	add := func(f uint64) {
		acc[0] += f & lanes
		acc[1] += f >> 1 & lanes
		acc[2] += f >> 2 & lanes
		acc[3] += f >> 3 & lanes
		acc[4] += f >> 4 & lanes
		acc[5] += f >> 5 & lanes
		acc[6] += f >> 6 & lanes
		acc[7] += f >> 7 & lanes
		features++
		pending++
		if pending == 255 {
			flush()
		}
	}
	var prev uint64
	havePrev := false
	n := len(text)
	for i := 0; i < n; {
		for i < n && !isWordByte(text[i]) {
			i++
		}
		if i >= n {
			break
		}
		h := uint64(14695981039346656037) // FNV-1a of the word
		letters := false
		for i < n && isWordByte(text[i]) {
			if !isDigitByte(text[i]) {
				letters = true
			}
			h ^= uint64(text[i])
			h *= 1099511628211
			i++
		}
		if !letters {
			continue // numbers (phones, prices) change between reposts
		}
		add(mix(h))
		if havePrev {
			add(mix(prev*31 + h))
		}
		prev, havePrev = h, true
	}
	if features == 0 {
		return 0
	}
	flush()
	var out uint64
	for b := 0; b < 64; b++ {
		if 2*int(counts[b]) > features {
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
