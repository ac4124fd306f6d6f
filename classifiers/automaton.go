package classifiers

import "fmt"

// automaton is a dense Aho-Corasick DFA over byte classes that reports
// every pattern ending at every position (overlapping matches) through a
// loop the caller owns, so a search allocates nothing.
//
// Why our own and not github.com/coregx/ahocorasick (used before): its
// overlapping search returns a freshly grown []Match on every call (about a
// quarter of classify time went to that and to the search), and its table
// has a power-of-two stride of uint32 transitions (≈3.8 MB for the default
// lexicon). Here a state is a uint16 whenever the lexicon has fewer than
// 65,536 states (the default has ~15,000), the stride is the exact number of
// byte classes, and states are numbered breadth-first so the rows the text
// visits most (near the root) sit together: ≈1.4 MB, half of it rarely
// touched. The construction is the textbook one (trie, failure links by
// breadth-first search, every transition resolved); fuzzing and the
// quality fixtures check it against the behaviour of the library it
// replaced (TestAutomatonMatchesNaive compares it with a naive scan).
type automaton struct {
	class   [256]uint8
	stride  int
	trans16 []uint16 // state*stride + class -> state (when states < 65536)
	trans32 []uint32 // otherwise
	hasOut  []uint64 // bit per state: some pattern ends here
	outAt   []int32  // state -> first index in outs; outAt[s+1] ends it
	outs    []int32  // pattern ids, longest first
	plen    []int32  // pattern -> length
	states  int
}

func buildAutomaton(patterns []string) (*automaton, error) {
	a := &automaton{plen: make([]int32, len(patterns))}
	// Byte classes: every byte used by a pattern gets its own class; all
	// others share class 0, which always leads back to the root.
	var used [256]bool
	for _, p := range patterns {
		if p == "" {
			return nil, fmt.Errorf("keyword automaton: empty pattern")
		}
		for i := 0; i < len(p); i++ {
			used[p[i]] = true
		}
	}
	a.stride = 1
	for b := 0; b < 256; b++ {
		if used[b] {
			a.class[b] = uint8(a.stride)
			a.stride++
		}
	}
	if a.stride > 256 {
		return nil, fmt.Errorf("keyword automaton: too many byte classes")
	}
	// Trie with sparse children; 0 is the root.
	type node struct {
		next map[uint8]int32
		out  []int32
		fail int32
	}
	nodes := []node{{}}
	for pid, p := range patterns {
		a.plen[pid] = int32(len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := a.class[p[i]]
			t, ok := nodes[s].next[c]
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{})
				if nodes[s].next == nil {
					nodes[s].next = map[uint8]int32{}
				}
				nodes[s].next[c] = t
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(pid))
	}
	// Breadth-first order gives the new numbering and the failure links.
	order := make([]int32, 0, len(nodes))
	order = append(order, 0)
	for k := 0; k < len(order); k++ {
		s := order[k]
		for c := 0; c < a.stride; c++ {
			t, ok := nodes[s].next[uint8(c)]
			if !ok {
				continue
			}
			if s == 0 {
				nodes[t].fail = 0
			} else {
				f := nodes[s].fail
				for {
					if g, ok := nodes[f].next[uint8(c)]; ok {
						nodes[t].fail = g
						break
					}
					if f == 0 {
						nodes[t].fail = 0
						break
					}
					f = nodes[f].fail
				}
			}
			// outputs: own (longest) first, then the failure state's
			nodes[t].out = append(nodes[t].out, nodes[nodes[t].fail].out...)
			order = append(order, t)
		}
	}
	n := len(nodes)
	a.states = n
	id := make([]int32, n) // old -> new
	for k, s := range order {
		id[s] = int32(k)
	}
	// Resolved transitions, computed in breadth-first order so a failure
	// state's row is complete before it is read.
	delta := make([]int32, n*a.stride)
	for k, s := range order {
		row := k * a.stride
		for c := 0; c < a.stride; c++ {
			if t, ok := nodes[s].next[uint8(c)]; ok {
				delta[row+c] = id[t]
			} else if s == 0 || c == 0 {
				delta[row+c] = 0
			} else {
				delta[row+c] = delta[int(id[nodes[s].fail])*a.stride+c]
			}
		}
	}
	if n < 1<<16 {
		a.trans16 = make([]uint16, len(delta))
		for i, v := range delta {
			a.trans16[i] = uint16(v)
		}
	} else {
		a.trans32 = make([]uint32, len(delta))
		for i, v := range delta {
			a.trans32[i] = uint32(v)
		}
	}
	a.hasOut = make([]uint64, (n+63)/64)
	a.outAt = make([]int32, n+1)
	for k, s := range order {
		a.outAt[k] = int32(len(a.outs))
		if len(nodes[s].out) > 0 {
			a.hasOut[k>>6] |= 1 << (k & 63)
			a.outs = append(a.outs, nodes[s].out...)
		}
	}
	a.outAt[n] = int32(len(a.outs))
	return a, nil
}

// memory is the size of the tables in bytes (for the README and tests).
func (a *automaton) memory() int {
	return 2*len(a.trans16) + 4*len(a.trans32) + 8*len(a.hasOut) + 4*len(a.outAt) + 4*len(a.outs) + 4*len(a.plen)
}

// acMatch is one pattern occurrence.
type acMatch struct{ pid, start, end int }

// appendMatches lists every occurrence; the keyword stage uses scanText,
// this is its plain form for tests and tools.
func (a *automaton) appendMatches(text []byte, out []acMatch) []acMatch {
	s := 0
	for i, b := range text {
		if a.trans16 != nil {
			s = int(a.trans16[s*a.stride+int(a.class[b])])
		} else {
			s = int(a.trans32[s*a.stride+int(a.class[b])])
		}
		for _, pid := range a.outs[a.outAt[s]:a.outAt[s+1]] {
			out = append(out, acMatch{int(pid), i + 1 - int(a.plen[pid]), i + 1})
		}
	}
	return out
}
