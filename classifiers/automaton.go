package classifiers

import "fmt"

// automaton is an Aho-Corasick automaton over byte classes that reports
// every pattern ending at every position (overlapping matches) through a
// loop the caller owns (scanText), so a search allocates nothing.
//
// Why our own and not github.com/coregx/ahocorasick (used before): its
// overlapping search returns a freshly grown []Match on every call (about a
// quarter of classify time went to that and to the search), and its full
// DFA (a power-of-two stride of uint32 transitions, ≈3.8 MB for the default
// lexicon) does not stay in cache next to the rest of the pipeline: the
// table loads were most of the keyword stage's time inside Classify.
//
// Layout: states near the root (depth ≤ denseDepth, where the text spends
// most of its time) have full rows of resolved transitions. Deeper states
// (mostly one child: the rest of a word) are variable-length records in
// one []uint32, laid out depth-first so the states of one word sit in one
// or two cache lines: failure link, child count, output range, then one
// word per child. A state reference carries two flags: sparse (an offset
// into the records rather than a dense row) and out (some pattern ends
// here), so the scan needs no other table. For the default lexicon that is
// ≈0.2 MB instead of 3.8 MB. The construction is the textbook one (trie,
// failure links by breadth-first search); TestAutomatonMatchesNaive
// compares it with a brute-force scan.
type automaton struct {
	class  [256]uint8
	stride uint32
	dense  []uint32 // dense row*stride + class -> state reference
	recs   []uint32 // sparse state records (see above)
	outAt  []int32  // dense row -> first index in outs; outAt[row+1] ends it
	outs   []int32  // pattern ids, longest first
	plen   []int32  // pattern -> length
	states int
	nDense int
}

// denseDepth: states this close to the root get full transition rows.
const denseDepth = 2

// State references and the child words of a record.
const (
	refSparse = 1 << 31 // the low bits are an offset into recs
	refOut    = 1 << 30 // some pattern ends in this state
	refLow    = refOut - 1
	kidRef    = 1<<24 - 1 // child word: class<<25 | out<<24 | record offset
	maxRecs   = kidRef
)

// record layout: recs[off] = failure reference, recs[off+1] = children |
// outputs<<8, recs[off+2] = first index in outs (only when outputs > 0),
// then the children.
func recKids(w uint32) uint32 { return w & 0xff }
func recOuts(w uint32) uint32 { return w >> 8 }

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
	if a.stride > 127 {
		return nil, fmt.Errorf("keyword automaton: %d distinct bytes in the patterns (at most 126)", a.stride-1)
	}
	// Trie; 0 is the root. kids are kept sorted by class.
	type kid struct {
		c uint8
		t int32
	}
	type node struct {
		kids  []kid
		out   []int32
		fail  int32
		depth int
	}
	nodes := []node{{}}
	child := func(s int32, c uint8) (int32, bool) {
		for _, k := range nodes[s].kids {
			if k.c == c {
				return k.t, true
			}
		}
		return 0, false
	}
	for pid, p := range patterns {
		a.plen[pid] = int32(len(p))
		s := int32(0)
		for i := 0; i < len(p); i++ {
			c := a.class[p[i]]
			t, ok := child(s, c)
			if !ok {
				t = int32(len(nodes))
				nodes = append(nodes, node{depth: nodes[s].depth + 1})
				ks := append(nodes[s].kids, kid{c, t})
				for j := len(ks) - 1; j > 0 && ks[j-1].c > ks[j].c; j-- {
					ks[j-1], ks[j] = ks[j], ks[j-1]
				}
				nodes[s].kids = ks
			}
			s = t
		}
		nodes[s].out = append(nodes[s].out, int32(pid))
	}
	a.states = len(nodes)
	// Failure links and outputs, breadth-first.
	order := []int32{0}
	for k := 0; k < len(order); k++ {
		s := order[k]
		for _, kd := range nodes[s].kids {
			t := kd.t
			if s != 0 {
				f := nodes[s].fail
				for {
					if g, ok := child(f, kd.c); ok {
						nodes[t].fail = g
						break
					}
					if f == 0 {
						break
					}
					f = nodes[f].fail
				}
			}
			// own pattern (the longest) first, then the failure state's
			nodes[t].out = append(nodes[t].out, nodes[nodes[t].fail].out...)
			order = append(order, t)
		}
	}
	// Numbering: dense rows in breadth-first order, then records
	// depth-first from each first-sparse state.
	ref := make([]uint32, len(nodes))
	var denseNodes []int32
	for _, s := range order {
		if nodes[s].depth > denseDepth {
			break
		}
		ref[s] = uint32(len(denseNodes))
		denseNodes = append(denseNodes, s)
	}
	a.nDense = len(denseNodes)
	var sparseNodes []int32
	offset := 0
	var dfs func(s int32)
	dfs = func(s int32) {
		ref[s] = refSparse | uint32(offset)
		sparseNodes = append(sparseNodes, s)
		offset += 2 + len(nodes[s].kids)
		if len(nodes[s].out) > 0 {
			offset++
		}
		for _, kd := range nodes[s].kids {
			dfs(kd.t)
		}
	}
	for _, s := range denseNodes {
		for _, kd := range nodes[s].kids {
			if nodes[kd.t].depth > denseDepth {
				dfs(kd.t)
			}
		}
	}
	if offset > maxRecs {
		return nil, fmt.Errorf("keyword automaton: %d words of state records (at most %d); split the lexicon", offset, maxRecs)
	}
	for s := range nodes {
		if len(nodes[s].out) > 0 {
			if len(nodes[s].out) > 1<<23 {
				return nil, fmt.Errorf("keyword automaton: too many patterns end in one state")
			}
			ref[s] |= refOut
		}
	}
	// Dense rows: resolved transitions; a failure state is shallower, so
	// its row is complete before it is read.
	a.dense = make([]uint32, a.nDense*int(a.stride))
	a.outAt = make([]int32, a.nDense+1)
	for row, s := range denseNodes {
		a.outAt[row] = int32(len(a.outs))
		a.outs = append(a.outs, nodes[s].out...)
		base := row * int(a.stride)
		for c := 0; c < int(a.stride); c++ {
			if t, ok := child(s, uint8(c)); ok {
				a.dense[base+c] = ref[t]
			} else if s != 0 && c != 0 {
				a.dense[base+c] = a.dense[int(ref[nodes[s].fail]&refLow)*int(a.stride)+c]
			}
		}
	}
	a.outAt[a.nDense] = int32(len(a.outs))
	// Records.
	a.recs = make([]uint32, 0, offset)
	for _, s := range sparseNodes {
		nd := &nodes[s]
		a.recs = append(a.recs, ref[nd.fail], uint32(len(nd.kids))|uint32(len(nd.out))<<8)
		if len(nd.out) > 0 {
			a.recs = append(a.recs, uint32(len(a.outs)))
			a.outs = append(a.outs, nd.out...)
		}
		for _, kd := range nd.kids {
			r := ref[kd.t]
			w := uint32(kd.c)<<25 | r&kidRef
			if r&refOut != 0 {
				w |= 1 << 24
			}
			a.recs = append(a.recs, w)
		}
	}
	return a, nil
}

// outputs lists the patterns that end in the state ref (which has refOut).
func (a *automaton) outputs(ref uint32) []int32 {
	if ref&refSparse == 0 {
		row := ref & refLow
		return a.outs[a.outAt[row]:a.outAt[row+1]]
	}
	off := ref & refLow
	n := recOuts(a.recs[off+1])
	at := a.recs[off+2]
	return a.outs[at : at+n]
}

// step is the transition from state reference ref on byte b.
func (a *automaton) step(ref uint32, b byte) uint32 {
	c := uint32(a.class[b])
	for {
		if ref&refSparse == 0 {
			return a.dense[(ref&refLow)*a.stride+c]
		}
		off := ref & refLow
		w := a.recs[off+1]
		k := off + 2
		if recOuts(w) > 0 {
			k++
		}
		for e := k + recKids(w); k < e; k++ {
			if kw := a.recs[k]; kw>>25 == c {
				return refSparse | (kw>>24&1)<<30 | kw&kidRef
			}
		}
		ref = a.recs[off]
	}
}

// memory is the size of the tables in bytes.
func (a *automaton) memory() int {
	return 4*len(a.dense) + 4*len(a.recs) + 4*len(a.outAt) + 4*len(a.outs) + 4*len(a.plen)
}

// acMatch is one pattern occurrence.
type acMatch struct{ pid, start, end int }

// appendMatches lists every occurrence; the keyword stage uses scanText,
// this is its plain form for tests and tools.
func (a *automaton) appendMatches(text []byte, out []acMatch) []acMatch {
	ref := uint32(0)
	for i, b := range text {
		ref = a.step(ref, b)
		if ref&refOut == 0 {
			continue
		}
		for _, pid := range a.outputs(ref) {
			out = append(out, acMatch{int(pid), i + 1 - int(a.plen[pid]), i + 1})
		}
	}
	return out
}
