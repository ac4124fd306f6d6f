package classifiers

import "math/bits"

// spread[x] holds bit i of x in byte i, so eight bit counters can be
// added with one 64-bit addition.
var spread = func() (t [256]uint64) {
	for x := 0; x < 256; x++ {
		var v uint64
		for i := 0; i < 8; i++ {
			if x&(1<<i) != 0 {
				v |= 1 << (8 * i)
			}
		}
		t[x] = v
	}
	return
}()

// SimHash is a 64-bit near-duplicate fingerprint of normalised text: every
// word and every word bigram votes on each bit with its (FNV-1a, mixed)
// hash. Numbers are left out, so reposts that only change the phone number
// or the price get the same fingerprint; a few changed words move a few
// bits; unrelated ads differ in about half of them.
func SimHash(text []byte) uint64 {
	var counts [64]int32
	var acc [8]uint64 // byte i of acc[j]: votes for bit 8j+i since the last flush
	pending := 0
	features := 0
	flush := func() {
		for j := 0; j < 8; j++ {
			a := acc[j]
			for i := 0; i < 8; i++ {
				counts[8*j+i] += int32((a >> (8 * i)) & 0xff)
			}
			acc[j] = 0
		}
		pending = 0
	}
	add := func(f uint64) {
		for j := 0; j < 8; j++ {
			acc[j] += spread[byte(f>>(8*j))]
		}
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
