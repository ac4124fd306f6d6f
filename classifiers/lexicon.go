package classifiers

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A cue is a named fact that lexicon terms make true ("visa_nonwork",
// "lure_job"). Rules refer to cues by name.
type cue struct {
	name        string
	description string
	descID      string // description in Indonesian
	negated     string // "drop" or a cue that negated hits count towards; "" = no negation check
	negatedIdx  int    // index of the negated cue, -1 when none
	strong      bool   // may decide an ad alone (documented; used by tests)
	count       bool   // expose <name>_n
	where       string // file:line of the first definition
	file        string
	line        int
	terms       []string
}

// segment is one run of words inside a phrase, written as one or more
// alternative literals (patterns); gap is the most words allowed between
// the previous segment and this one.
type segment struct {
	pats []int
	gap  int
}

type phrase struct {
	cue    int
	lang   string
	term   string // as written, for explanations
	segs   []segment
	prefix bool // last word may continue (no right word boundary)
}

type patInfo struct {
	needLeft, needRight bool
	refs                []patRef
}

type patRef struct {
	phrase int
	seg    int
}

// Lexicon is the compiled keyword stage: one Aho-Corasick automaton (automaton.go) over all
// literal segments of all phrases of all cues, with word-boundary checks and
// phrase assembly on top.
type Lexicon struct {
	cues     []cue
	cueIdx   map[string]int
	phrases  []phrase
	patterns []string
	pats     []patInfo
	ac       *automaton
	negators map[string]bool
	protect  map[string]bool
	vocab    map[string]bool // the words of every literal (hashtag splitting)
	multi    bool            // some phrase has more than one segment
}

// Hit is one cue occurrence in normalised text.
type Hit struct {
	Cue     int
	Phrase  int
	Start   int // in normalised text
	End     int
	Negated bool
}

const defaultGap = 3

// termVariants expands a term's syntax into plain variants:
// "{a|b c}" alternation, "[x]" optional words, "*" or "*N" a gap of up to
// three (or N) words, and a trailing "~" on the last word for a prefix match.
func termVariants(term string) ([]string, error) {
	out, err := expandTerm(term)
	if err != nil {
		return nil, err
	}
	// The normaliser folds a letter repeated three or more times to one
	// ("gaaaji" → "gaji"), so "perusahaaan" arrives as "perusahan": a
	// word with a doubled letter is also matched with it single (one word
	// at a time: the other words arrive as written).
	for _, v := range out[:len(out):len(out)] {
		words := strings.Fields(v)
		for i, w := range words {
			sq := squeezeDoubles(w)
			if sq == w {
				continue
			}
			alt := strings.Join(slices.Concat(words[:i], []string{sq}, words[i+1:]), " ")
			if !slices.Contains(out, alt) {
				out = append(out, alt)
			}
		}
	}
	return out, nil
}

// expandTerm spells out a term's alternatives and optional words.
func expandTerm(term string) ([]string, error) {
	var out []string
	var rec func(prefix, rest string) error
	rec = func(prefix, rest string) error {
		if len(out) > 4096 {
			return fmt.Errorf("term %q expands to too many variants", term)
		}
		i := strings.IndexAny(rest, "{[")
		if i < 0 {
			if strings.ContainsAny(rest, "}]|") {
				return fmt.Errorf("term %q: unbalanced brackets", term)
			}
			out = append(out, strings.Join(strings.Fields(prefix+rest), " "))
			return nil
		}
		head := rest[:i]
		if strings.ContainsAny(head, "}]|") {
			return fmt.Errorf("term %q: unbalanced brackets", term)
		}
		closeCh := byte('}')
		if rest[i] == '[' {
			closeCh = ']'
		}
		j := strings.IndexByte(rest[i+1:], closeCh)
		if j < 0 {
			return fmt.Errorf("term %q: missing %q", term, string(closeCh))
		}
		inner := rest[i+1 : i+1+j]
		if strings.ContainsAny(inner, "{[") {
			return fmt.Errorf("term %q: nested brackets are not supported", term)
		}
		tail := rest[i+2+j:]
		alts := strings.Split(inner, "|")
		if rest[i] == '[' {
			alts = append(alts, "")
		}
		for _, a := range alts {
			if err := rec(prefix+head+" "+a+" ", tail); err != nil {
				return err
			}
		}
		return nil
	}
	if err := rec("", term); err != nil {
		return nil, err
	}
	return out, nil
}

// squeezeDoubles writes each doubled letter once ("perusahaan" →
// "perusahan"); phrase markers and digits are kept as they are.
func squeezeDoubles(s string) string {
	b := []byte(s)
	out := b[:0:0]
	for i := 0; i < len(b); i++ {
		if i > 0 && b[i] == b[i-1] && b[i] >= 'a' && b[i] <= 'z' {
			continue
		}
		out = append(out, b[i])
	}
	return string(out)
}

// buildLexicon compiles the cues into one automaton.
func buildLexicon(cues []cue, negators, protect []string) (*Lexicon, error) {
	lx := &Lexicon{cues: cues, cueIdx: map[string]int{}, negators: map[string]bool{}, protect: map[string]bool{}}
	for k, v := range defaultProtected {
		lx.protect[k] = v
	}
	for _, p := range protect {
		lx.protect[strings.ToLower(strings.TrimSpace(p))] = true
	}
	for _, n := range negators {
		lx.negators[strings.ToLower(strings.TrimSpace(n))] = true
	}
	for i, c := range cues {
		lx.cueIdx[c.name] = i
	}
	for i := range lx.cues {
		c := &lx.cues[i]
		c.negatedIdx = -1
		if c.negated != "" && c.negated != "drop" {
			j, ok := lx.cueIdx[c.negated]
			if !ok {
				return nil, &LoadError{c.file, c.line, fmt.Sprintf("cue %s: negated cue %q is not defined", c.name, c.negated)}
			}
			c.negatedIdx = j
		}
	}
	patID := map[string]int{}
	for ci, c := range lx.cues {
		for _, t := range c.terms {
			lang, body := "", t
			if k := strings.IndexByte(t, '\x00'); k >= 0 {
				lang, body = t[:k], t[k+1:]
			}
			vars, err := termVariants(body)
			if err != nil {
				return nil, &LoadError{c.file, c.line, fmt.Sprintf("cue %s: %v", c.name, err)}
			}
			// Variants with the same shape (number of parts, gaps, prefix)
			// become one phrase whose parts have alternative literals.
			groups := map[string]*phrase{}
			var order []string
			for _, v := range vars {
				ph, err := lx.compilePhrase(ci, lang, body, v, patID)
				if err != nil {
					return nil, &LoadError{c.file, c.line, fmt.Sprintf("cue %s: %v", c.name, err)}
				}
				if ph == nil {
					continue
				}
				key := fmt.Sprint(len(ph.segs), ph.prefix)
				for _, sg := range ph.segs {
					key += fmt.Sprint(",", sg.gap)
				}
				g, ok := groups[key]
				if !ok {
					groups[key] = ph
					order = append(order, key)
					continue
				}
				for k, sg := range ph.segs {
					if !slices.Contains(g.segs[k].pats, sg.pats[0]) {
						g.segs[k].pats = append(g.segs[k].pats, sg.pats[0])
					}
				}
			}
			for _, k := range order {
				lx.phrases = append(lx.phrases, *groups[k])
			}
		}
	}
	if len(lx.patterns) == 0 {
		return nil, fmt.Errorf("lexicon has no terms")
	}
	for pi, ph := range lx.phrases {
		if len(ph.segs) > 1 {
			lx.multi = true
		}
		for si, sg := range ph.segs {
			for _, p := range sg.pats {
				ref := patRef{pi, si}
				if !slices.Contains(lx.pats[p].refs, ref) {
					lx.pats[p].refs = append(lx.pats[p].refs, ref)
				}
			}
		}
	}
	lx.vocab = map[string]bool{}
	for _, p := range lx.patterns {
		for _, w := range strings.Fields(p) {
			if len(w) >= 2 && strings.Trim(w, "abcdefghijklmnopqrstuvwxyz") == "" {
				lx.vocab[w] = true
			}
		}
	}
	ac, err := buildAutomaton(lx.patterns)
	if err != nil {
		return nil, fmt.Errorf("build keyword automaton: %w", err)
	}
	lx.ac = ac
	return lx, nil
}

func (lx *Lexicon) compilePhrase(ci int, lang, term, variant string, patID map[string]int) (*phrase, error) {
	ph := &phrase{cue: ci, lang: lang, term: term}
	words := strings.Fields(variant)
	if len(words) == 0 {
		return nil, nil
	}
	if last := words[len(words)-1]; strings.HasSuffix(last, "~") && len(last) > 1 {
		ph.prefix = true
		words[len(words)-1] = strings.TrimSuffix(last, "~")
	}
	var cur []string
	gap := 0
	flush := func() error {
		if len(cur) == 0 {
			return fmt.Errorf("term %q: a gap must sit between words", term)
		}
		lit := string(Normalize(strings.Join(cur, " ")).Text)
		if lit == "" {
			return fmt.Errorf("term %q: a part is empty after normalisation", term)
		}
		id, ok := patID[lit]
		if !ok {
			id = len(lx.patterns)
			patID[lit] = id
			lx.patterns = append(lx.patterns, lit)
			lx.pats = append(lx.pats, patInfo{
				needLeft:  isWordByte(lit[0]),
				needRight: isWordByte(lit[len(lit)-1]),
			})
		}
		ph.segs = append(ph.segs, segment{pats: []int{id}, gap: gap})
		cur = cur[:0]
		return nil
	}
	for _, w := range words {
		if w[0] == '*' {
			n := defaultGap
			if len(w) > 1 {
				v, err := strconv.Atoi(w[1:])
				if err != nil || v < 0 || v > 12 {
					return nil, fmt.Errorf("term %q: bad gap %q (use * or *N with N 0-12)", term, w)
				}
				n = v
			}
			if err := flush(); err != nil {
				return nil, err
			}
			gap = n
			continue
		}
		cur = append(cur, w)
	}
	if len(cur) == 0 {
		return nil, fmt.Errorf("term %q: ends with a gap", term)
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return ph, nil
}

// span is a range in normalised text.
type span struct {
	s, e    int
	bounded bool // ends at a word boundary
}

type matchScratch struct {
	byPat   [][]span // pattern -> occurrences (multi-part phrases only)
	touched []int
	firsts  []int
	stamp   []uint32 // phrase -> generation it was queued in
	gen     uint32
}

// Match finds every cue hit in normalised text, appending to hits.
func (lx *Lexicon) Match(text []byte, hits []Hit, ms *matchScratch) []Hit {
	if len(text) == 0 {
		return hits
	}
	if len(ms.byPat) != len(lx.patterns) {
		ms.byPat = make([][]span, len(lx.patterns))
		ms.touched = ms.touched[:0]
	}
	for _, p := range ms.touched {
		ms.byPat[p] = ms.byPat[p][:0]
	}
	ms.touched = ms.touched[:0]
	ms.firsts = ms.firsts[:0]
	if len(ms.stamp) != len(lx.phrases) {
		ms.stamp = make([]uint32, len(lx.phrases))
	}
	ms.gen++
	if ms.gen == 0 {
		clear(ms.stamp)
		ms.gen = 1
	}
	hits = scanText(lx, text, hits, ms)
	for _, pidx := range ms.firsts {
		hits = lx.assemble(text, pidx, ms, hits)
	}
	for i := range hits {
		h := &hits[i]
		if lx.cues[h.Cue].negated != "" {
			h.Negated = lx.negatedAt(text, h.Start)
		}
	}
	return hits
}

// scanText runs the automaton over text and hands every pattern
// occurrence to onPattern. It is automaton.step written out, so the common
// case (a dense row) is one load.
func scanText(lx *Lexicon, text []byte, hits []Hit, ms *matchScratch) []Hit {
	a := lx.ac
	dense, recs, stride := a.dense, a.recs, a.stride
	ref := uint32(0)
	for i, b := range text {
		c := uint32(a.class[b])
	next:
		for {
			if ref&refSparse == 0 {
				ref = dense[(ref&refLow)*stride+c]
				break
			}
			off := ref & refLow
			w := recs[off+1]
			k := off + 2
			if recOuts(w) > 0 {
				k++
			}
			for e := k + recKids(w); k < e; k++ {
				if kw := recs[k]; kw>>25 == c {
					ref = refSparse | (kw>>24&1)<<30 | kw&kidRef
					break next
				}
			}
			ref = recs[off]
		}
		if ref&refOut == 0 {
			continue
		}
		end := i + 1
		for _, pid := range a.outputs(ref) {
			hits = lx.onPattern(text, int(pid), end-int(a.plen[pid]), end, hits, ms)
		}
	}
	return hits
}

// onPattern checks the word boundaries of one pattern occurrence and
// records it: single-part phrases become hits, parts of longer phrases are
// kept for assemble.
func (lx *Lexicon) onPattern(text []byte, pid, start, end int, hits []Hit, ms *matchScratch) []Hit {
	pi := &lx.pats[pid]
	if pi.needLeft && start > 0 && isWordByte(text[start-1]) {
		return hits
	}
	rightOK := !pi.needRight || end >= len(text) || !isWordByte(text[end])
	stored := false
	for _, ref := range pi.refs {
		ph := &lx.phrases[ref.phrase]
		last := ref.seg == len(ph.segs)-1
		if !rightOK && !(last && ph.prefix) {
			continue
		}
		if len(ph.segs) == 1 {
			e := end
			if ph.prefix {
				for e < len(text) && isWordByte(text[e]) {
					e++
				}
			}
			hits = append(hits, Hit{Cue: ph.cue, Phrase: ref.phrase, Start: start, End: e})
			continue
		}
		if !stored {
			if len(ms.byPat[pid]) == 0 {
				ms.touched = append(ms.touched, pid)
			}
			ms.byPat[pid] = append(ms.byPat[pid], span{start, end, rightOK})
			stored = true
		}
		if ref.seg == 0 && ms.stamp[ref.phrase] != ms.gen {
			ms.stamp[ref.phrase] = ms.gen
			ms.firsts = append(ms.firsts, ref.phrase)
		}
	}
	return hits
}

// assemble finds occurrences of a multi-segment phrase.
func (lx *Lexicon) assemble(text []byte, pidx int, ms *matchScratch, hits []Hit) []Hit {
	ph := &lx.phrases[pidx]
	nseg := len(ph.segs)
	for _, p0 := range ph.segs[0].pats {
		for _, first := range ms.byPat[p0] {
			if !first.bounded {
				continue
			}
			end := first.e
			ok := true
			for k := 1; k < nseg && ok; k++ {
				sg := &ph.segs[k]
				last := k == nseg-1
				best := -1
				bestEnd := 0
				for _, p := range sg.pats {
					for _, cand := range ms.byPat[p] {
						if cand.s < end || !cand.bounded && !(last && ph.prefix) {
							continue
						}
						if (best < 0 || cand.s < best) && wordsBetween(text, end, cand.s, sg.gap) {
							best, bestEnd = cand.s, cand.e
						}
						break // later occurrences of this literal are further away
					}
				}
				if best < 0 {
					ok = false
				} else {
					end = bestEnd
				}
			}
			if ok {
				if ph.prefix {
					for end < len(text) && isWordByte(text[end]) {
						end++
					}
				}
				hits = append(hits, Hit{Cue: ph.cue, Phrase: pidx, Start: first.s, End: end})
			}
		}
	}
	return hits
}

// wordsBetween reports whether text[a:b] holds at most max words and no
// sentence break.
func wordsBetween(text []byte, a, b, max int) bool {
	if b-a > (max+1)*24 {
		return false
	}
	words := 0
	in := false
	for i := a; i < b; i++ {
		c := text[i]
		if isWordByte(c) {
			if !in {
				words++
				if words > max {
					return false
				}
			}
			in = true
			continue
		}
		in = false
		if c == '.' || c == '!' || c == '?' || c == ';' || c == '\n' {
			// a dot between digits or letters ("wa.me", "1.000") is not a break
			if c == '.' && i > a && i+1 < b && isWordByte(text[i-1]) && isWordByte(text[i+1]) {
				continue
			}
			return false
		}
	}
	return true
}

// negatedAt looks up to four words back, inside the clause, for a negator.
func (lx *Lexicon) negatedAt(text []byte, pos int) bool {
	words := 0
	i := pos
	for i > 0 && words < 4 {
		// skip separators
		j := i
		for j > 0 && !isWordByte(text[j-1]) {
			c := text[j-1]
			if c == '.' || c == ',' || c == ';' || c == '!' || c == '?' || c == '\n' || c == ':' || c == '(' || c == ')' {
				return false
			}
			j--
		}
		k := j
		for k > 0 && isWordByte(text[k-1]) {
			k--
		}
		if k == j {
			return false
		}
		if lx.negators[string(text[k:j])] {
			return true
		}
		words++
		i = k
	}
	return false
}
