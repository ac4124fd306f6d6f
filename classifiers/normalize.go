package classifiers

import (
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalized is text folded for matching, with a map from every output byte
// back to the bytes of the original text that produced it, so that a keyword
// found in the folded text can be shown (and highlighted) in the original.
type Normalized struct {
	Text []byte
	// starts[i] and ends[i] are the original byte span that output byte i
	// came from.
	starts []int32
	ends   []int32
	orig   string
}

// Span maps the output range [s, e) back to the original text.
func (n *Normalized) Span(s, e int) (int, int) {
	if len(n.Text) == 0 || e <= s {
		return 0, 0
	}
	if s < 0 {
		s = 0
	}
	if e > len(n.Text) {
		e = len(n.Text)
	}
	if s >= len(n.Text) {
		return len(n.orig), len(n.orig)
	}
	os, oe := int(n.starts[s]), int(n.ends[e-1])
	if oe < os {
		oe = os
	}
	return os, oe
}

// Original returns the original text of the output range [s, e).
func (n *Normalized) Original(s, e int) string {
	os, oe := n.Span(s, e)
	return n.orig[os:oe]
}

// Normalize folds text for keyword matching: Unicode compatibility folding
// (NFKC/NFKD via golang.org/x/text, so fancy fonts, full-width and circled
// letters become plain letters), accents and combining marks dropped, case
// folded, zero-width and variation characters removed, homoglyphs (Cyrillic,
// Greek, small capitals) mapped to Latin, emoji keycap digits kept as digits,
// flag emoji turned into "flag_xx" words, spaced or dotted letters joined
// ("w h a t s a p p", "K.a.m.b.o.j.a"), leetspeak digits inside words mapped
// to letters (g4ji, t3l3gram), letters repeated three or more times collapsed,
// and runs of white space collapsed.
func Normalize(text string) *Normalized {
	n := &Normalized{}
	normalizeInto(n, text, nil, nil)
	return n
}

// protectedTokens are words that contain digits on purpose and must not be
// read as leetspeak.
var defaultProtected = map[string]bool{
	"p3mi": true, "bp2mi": true, "kp2mi": true, "bp3mi": true, "sip3mi": true, "sip2mi": true,
	"siskop2mi": true, "p2mi": true, "kemenp2mi": true, "g2g": true, "b2b": true, "b2c": true,
	"mp3": true, "mp4": true, "h2o": true, "p3k": true, "k3": true, "covid19": true, "s1": true,
	"s2": true, "s3": true, "d1": true, "d3": true, "d4": true, "n1": true, "n2": true, "n3": true,
	"n4": true, "n5": true, "a1": true, "a2": true, "b1": true, "b2": true, "c1": true, "c2": true,
	"6g": true, "3g": true, "4g": true, "5g": true, "1g": true, "2g": true, "usdt": true, "t1": true,
	"e1": true, "e2": true, "pph21": true, "x1": true, "mlc2006": true, "iso9001": true,
}

type normScratch struct {
	fold   []byte
	fstart []int32
	fend   []int32
}

var scratchPool = sync.Pool{New: func() any { return &normScratch{} }}

// normalizeInto fills n, reusing its buffers.
func normalizeInto(n *Normalized, text string, protected, vocab map[string]bool) {
	if protected == nil {
		protected = defaultProtected
	}
	n.orig = text
	sc := scratchPool.Get().(*normScratch)
	defer scratchPool.Put(sc)
	sc.fold, sc.fstart, sc.fend = foldRunes(text, sc.fold[:0], sc.fstart[:0], sc.fend[:0])
	n.Text, n.starts, n.ends = tokenPass(sc.fold, sc.fstart, sc.fend, n.Text[:0], n.starts[:0], n.ends[:0], protected, vocab)
}

// foldRunes is pass 1: per-rune folding. Output keeps one entry per output
// byte with the original span of the rune that produced it.
func foldRunes(text string, out []byte, st, en []int32) ([]byte, []int32, []int32) {
	// Room for the ASCII fast path: one output byte per input byte.
	if cap(out)-len(out) < len(text) {
		out = append(make([]byte, 0, len(out)+len(text)+len(text)/4), out...)
		st = append(make([]int32, 0, cap(out)), st...)
		en = append(make([]int32, 0, cap(out)), en...)
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf && len(out) < cap(out) && len(st) < cap(st) && len(en) < cap(en) {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == '\t' || c == '\r' || c == '\v' || c == '\f':
				c = ' '
			case c < 0x20 && c != '\n' || c == 0x7f:
				c = ' '
			}
			k := len(out)
			out, st, en = out[:k+1], st[:k+1], en[:k+1]
			out[k], st[k], en[k] = c, int32(i), int32(i+1)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch {
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			case c == '\t' || c == '\r' || c == '\v' || c == '\f':
				c = ' '
			case c < 0x20 && c != '\n' || c == 0x7f:
				c = ' '
			}
			out = append(out, c)
			st = append(st, int32(i))
			en = append(en, int32(i+1))
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		j := i + size
		// Flag emoji: two regional indicators make a country code.
		if r >= 0x1F1E6 && r <= 0x1F1FF {
			r2, size2 := utf8.DecodeRuneInString(text[j:])
			if r2 >= 0x1F1E6 && r2 <= 0x1F1FF {
				s := " flag_" + string(rune('a'+r-0x1F1E6)) + string(rune('a'+r2-0x1F1E6)) + " "
				for k := 0; k < len(s); k++ {
					out = append(out, s[k])
					st = append(st, int32(i))
					en = append(en, int32(j+size2))
				}
				i = j + size2
				continue
			}
		}
		f := foldRune(r)
		for k := 0; k < len(f); k++ {
			out = append(out, f[k])
			st = append(st, int32(i))
			en = append(en, int32(j))
		}
		i = j
	}
	return out, st, en
}

var (
	foldMu    sync.RWMutex
	foldCache = map[rune]string{}
)

// foldRune maps one non-ASCII rune to its folded form (possibly empty).
func foldRune(r rune) string {
	foldMu.RLock()
	s, ok := foldCache[r]
	foldMu.RUnlock()
	if ok {
		return s
	}
	s = computeFold(r)
	foldMu.Lock()
	if len(foldCache) < 1<<16 { // bound the cache against hostile input
		foldCache[r] = s
	}
	foldMu.Unlock()
	return s
}

func computeFold(r rune) string {
	if r == utf8.RuneError {
		return " "
	}
	if s, ok := specialFold[r]; ok {
		return s
	}
	switch {
	case r >= 0x200B && r <= 0x200F, r >= 0x2060 && r <= 0x2064, r == 0xFEFF, r == 0x00AD,
		r >= 0xFE00 && r <= 0xFE0F, r == 0x180E, r >= 0xE0100 && r <= 0xE01EF, r == 0x034F,
		r >= 0x1F3FB && r <= 0x1F3FF, r == 0x20E3, r == 0x200D:
		return "" // zero-width, joiners, variation selectors, skin tones, keycap
	case r >= 0x2010 && r <= 0x2015, r == 0x2212, r == 0xFE58, r == 0xFE63, r == 0xFF0D:
		return "-"
	case r >= 0x1F130 && r <= 0x1F149:
		return string(rune('a' + r - 0x1F130))
	case r >= 0x1F150 && r <= 0x1F169:
		return string(rune('a' + r - 0x1F150))
	case r >= 0x1F170 && r <= 0x1F189:
		return string(rune('a' + r - 0x1F170))
	case r >= 0x1F1E6 && r <= 0x1F1FF: // lone regional indicator
		return string(rune('a' + r - 0x1F1E6))
	}
	if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
		return ""
	}
	if unicode.IsSpace(r) || unicode.Is(unicode.Zs, r) {
		return " "
	}
	// Compatibility decomposition (the K of NFKC): math alphanumerics, full
	// width, circled and superscript forms become plain letters and digits.
	d := norm.NFKD.String(string(r))
	var b []byte
	for _, x := range d {
		if unicode.Is(unicode.Mn, x) || unicode.Is(unicode.Me, x) {
			continue
		}
		x = unicode.ToLower(x)
		if h, ok := homoglyph[x]; ok {
			x = h
		}
		if s, ok := specialFold[x]; ok {
			b = append(b, s...)
			continue
		}
		if x < utf8.RuneSelf {
			if x >= 'A' && x <= 'Z' {
				x += 'a' - 'A'
			}
			b = append(b, byte(x))
			continue
		}
		if unicode.IsLetter(x) || unicode.IsDigit(x) {
			b = utf8.AppendRune(b, x)
			continue
		}
		// Emoji and other symbols separate words.
		b = append(b, ' ')
	}
	return string(b)
}

// specialFold covers characters NFKD leaves alone but ads use for words:
// quotes, currency signs, bullets.
var specialFold = map[rune]string{
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", '“': "\"", '”': "\"", '„': "\"", '″': "\"",
	'«': "\"", '»': "\"", '…': "...", '•': " ", '·': ".", '×': "x",
	'¥': " jpy ", '€': " eur ", '£': " gbp ", '₩': " krw ", '₱': " php ", '฿': " thb ", '₫': " vnd ",
	'₹': " inr ", '¢': " ", '￥': " jpy ", '￦': " krw ", '＄': "$",
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'đ': "d", 'ł': "l", 'ı': "i", 'ȷ': "j",
	'–': "-", '—': "-",
	// Emoji that stand for words in recruitment posts ("✈️ 🏠 🍽 gratis",
	// "💵 20jt"): read as the word, so every cue sees them.
	'✈': " tiket ", '🛫': " tiket ", '🛬': " tiket ", '🎫': " tiket ",
	'🏠': " mess ", '🏡': " mess ", '🏨': " mess ", '🛏': " mess ", '🏢': " kantor ",
	'💵': " gaji ", '💰': " gaji ", '💸': " gaji ", '💴': " gaji ", '💶': " gaji ", '💷': " gaji ", '🤑': " gaji ",
	'🛂': " paspor ", '🍽': " makan ", '🍱': " makan ",
	'🚢': " kapal ", '⛴': " kapal ", '🚤': " speedboat ", '🛥': " speedboat ",
	'🎰': " judi ", '🎲': " judi ", '💻': " komputer ", '⌨': " komputer ",
}

// homoglyph maps look-alike letters from other scripts (and small capitals)
// to the Latin letter a reader sees.
var homoglyph = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
	'һ': 'h', 'ӏ': 'l', 'ɡ': 'g', 'ո': 'n', 'ս': 'u', 'ɑ': 'a', 'ⅼ': 'l',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y', 'μ': 'u', 'ς': 's', 'σ': 'o',
	// Small capitals and modifier letters
	'ᴀ': 'a', 'ʙ': 'b', 'ᴄ': 'c', 'ᴅ': 'd', 'ᴇ': 'e', 'ꜰ': 'f', 'ɢ': 'g', 'ʜ': 'h', 'ɪ': 'i', 'ᴊ': 'j',
	'ᴋ': 'k', 'ʟ': 'l', 'ᴍ': 'm', 'ɴ': 'n', 'ᴏ': 'o', 'ᴘ': 'p', 'ǫ': 'q', 'ʀ': 'r', 'ꜱ': 's', 'ᴛ': 't',
	'ᴜ': 'u', 'ᴠ': 'v', 'ᴡ': 'w', 'ʏ': 'y', 'ᴢ': 'z',
}

// isWordByte reports whether b is part of a word in folded text: ASCII
// letters and digits, underscore, or any byte of a multi-byte letter.
func isWordByte(b byte) bool { return wordByte[b] }

// wordByte is isWordByte as a table: one load instead of four compares on
// the hottest test of the keyword, entity and fingerprint scans.
var wordByte = func() (t [256]bool) {
	for b := 0; b < 256; b++ {
		t[b] = b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b >= 0x80
	}
	return
}()

func isLetterByte(b byte) bool { return b >= 'a' && b <= 'z' || b >= 0x80 }
func isDigitByte(b byte) bool  { return b >= '0' && b <= '9' }

// moneyPrefix are currency letters glued to an amount ("rp15", "rm18").
var moneyPrefix = map[string]bool{"rp": true, "rm": true, "us": true, "sg": true, "nt": true, "hk": true, "au": true, "bn": true}

var leet = [256]byte{'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '@': 'a', '$': 's'}

// units may follow a number directly ("15jt", "3x", "8jam") and stop it from
// being read as leetspeak.
var units = map[string]bool{
	"jt": true, "juta": true, "jtan": true, "rb": true, "ribu": true, "k": true, "x": true, "th": true,
	"thn": true, "tahun": true, "bln": true, "bulan": true, "hari": true, "jam": true, "minggu": true,
	"am": true, "pm": true, "h": true, "m": true, "km": true, "kg": true, "cm": true, "gb": true,
	"mb": true, "usd": true, "rm": true, "sgd": true, "st": true, "nd": true, "rd": true, "an": true,
	"orang": true, "org": true, "menit": true, "mnt": true, "detik": true, "hr": true, "hrs": true,
	"mo": true, "yrs": true, "yr": true, "y": true, "d": true, "kali": true, "tahunan": true,
	"s": true, "days": true, "day": true, "bulanan": true, "harian": true, "jutaan": true,
}

// tokenPass is pass 2: joins spaced letters, reads leetspeak, collapses
// repeated letters and white space.
func tokenPass(in []byte, ist, ien []int32, out []byte, st, en []int32, protected, vocab map[string]bool) ([]byte, []int32, []int32) {
	// Output is never longer than the input: grow once, append without checks.
	if cap(out) < len(in) {
		out = make([]byte, 0, len(in)+len(in)/4)
		st = make([]int32, 0, cap(out))
		en = make([]int32, 0, cap(out))
	}
	emit := func(c byte, k int) {
		out = append(out, c)
		st = append(st, ist[k])
		en = append(en, ien[k])
	}
	emitSpace := func(c byte, k int) {
		if len(out) == 0 {
			return
		}
		last := out[len(out)-1]
		if last == ' ' || last == '\n' {
			if c == '\n' && last == ' ' {
				out[len(out)-1] = '\n'
			}
			return
		}
		emit(c, k)
	}
	n := len(in)
	for i := 0; i < n; {
		c := in[i]
		if c == ' ' || c == '\n' {
			emitSpace(c, i)
			i++
			continue
		}
		// Spaced or dotted single letters: "l o k e r", "k.a.m.b.o.j.a", "w.a".
		if isASCIILetter(c) && (i == 0 || !isWordByte(in[i-1])) {
			if j, cnt := spacedRun(in, i); cnt > 0 {
				for k := i; k < j; k += 2 {
					emit(in[k], k)
				}
				i = j
				continue
			}
		}
		if !isWordByte(c) && c != '@' && c != '$' {
			// "myan*mar": a star or similar inside a word is a censor dodge.
			if c == '*' && i > 0 && i+1 < n && isASCIILetter(in[i-1]) && isASCIILetter(in[i+1]) {
				i++
				continue
			}
			emit(c, i)
			i++
			continue
		}
		// A token: word bytes plus @ and $ between them.
		j := i
		for j < n && (isWordByte(in[j]) || (in[j] == '@' || in[j] == '$') && j > i && j+1 < n && isWordByte(in[j+1])) {
			j++
		}
		if j == i { // lone @ or $
			emit(c, i)
			i++
			continue
		}
		tok := in[i:j]
		// A hashtag of run-together words ("#lokerkamboja", "#kerjaLN")
		// is split into the lexicon's words when they cover it whole.
		if vocab != nil && i > 0 && in[i-1] == '#' {
			if cuts := splitHashtag(tok, vocab); cuts != nil {
				prev := i
				for _, c := range cuts {
					for k := prev; k < i+c; k++ {
						emit(in[k], k)
					}
					if i+c < j {
						emit(' ', i+c)
					}
					prev = i + c
				}
				i = j
				continue
			}
		}
		conv := leetPlan(tok, j < n && in[j] == '.' && j+1 < n && isASCIILetter(in[j+1]), protected)
		if !conv && !tripleLetter(tok) {
			// the common case: the token is copied as it is
			out = append(out, tok...)
			st = append(st, ist[i:j]...)
			en = append(en, ien[i:j]...)
			i = j
			continue
		}
		var prev byte
		run := 0
		for k := i; k < j; k++ {
			b := in[k]
			if conv && leet[b] != 0 && !(b == '@' && k == i) {
				b = leet[b]
			}
			if isASCIILetter(b) && b == prev {
				run++
			} else {
				run = 1
			}
			prev = b
			if run == 3 && isASCIILetter(b) {
				// third repeat: drop this and the previous one ("gratiiis" -> "gratis")
				out = out[:len(out)-1]
				st = st[:len(st)-1]
				en = en[:len(en)-1]
				continue
			}
			if run > 3 && isASCIILetter(b) {
				continue
			}
			emit(b, k)
		}
		i = j
	}
	// Trim a trailing space.
	for len(out) > 0 && (out[len(out)-1] == ' ' || out[len(out)-1] == '\n') {
		out, st, en = out[:len(out)-1], st[:len(st)-1], en[:len(en)-1]
	}
	return out, st, en
}

// tripleLetter reports whether an ASCII letter appears three times in a
// row (the token loop would collapse it).
func tripleLetter(tok []byte) bool {
	for k := 2; k < len(tok); k++ {
		if b := tok[k]; b == tok[k-1] && b == tok[k-2] && isASCIILetter(b) {
			return true
		}
	}
	return false
}

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' }

// spacedRun detects single letters separated by one separator character,
// returning the end index and the count of letters (0 when no run).
func spacedRun(in []byte, i int) (int, int) {
	n := len(in)
	if i+2 >= n {
		return 0, 0
	}
	sep := in[i+1]
	switch sep {
	case ' ', '.', '-', '*', '_':
	default:
		return 0, 0
	}
	cnt := 1
	j := i + 1 // position after the last letter
	for j+1 < n && in[j] == sep && isASCIILetter(in[j+1]) && (j+2 >= n || !isWordByte(in[j+2])) {
		cnt++
		j += 2
	}
	min := 3
	if sep != ' ' {
		min = 2
	}
	if cnt < min {
		return 0, 0
	}
	// A trailing dot after dotted letters ("a.n.") belongs to the run.
	return j, cnt
}

// leetPlan decides whether the digits and symbols of a token are letters in
// disguise.
func leetPlan(tok []byte, emailNext bool, protected map[string]bool) bool {
	letters, digits, syms := 0, 0, 0
	for _, b := range tok {
		switch {
		case isLetterByte(b):
			letters++
		case isDigitByte(b):
			digits++
		case b == '@' || b == '$':
			syms++
		}
	}
	if letters == 0 || digits+syms == 0 {
		return false
	}
	if syms > 0 && emailNext {
		return false // an e-mail address, not "s@lary"
	}
	for k := 0; k+1 < len(tok); k++ {
		if (tok[k] == '$' || tok[k] == '@') && isDigitByte(tok[k+1]) {
			return false // "us$1,200", "nt$27.000": money
		}
	}
	if protected[string(tok)] {
		return false
	}
	// Leading digits: "15jt" is a number with a unit; "0pen" is leetspeak.
	lead := 0
	for lead < len(tok) && isDigitByte(tok[lead]) {
		lead++
	}
	if lead > 0 {
		rest := tok[lead:]
		if lead > 1 || units[string(rest)] || len(rest) < 3 || leet[tok[0]] == 0 {
			return false
		}
		for _, b := range rest {
			if isDigitByte(b) {
				return false
			}
		}
		return true
	}
	trail := 0
	for trail < len(tok) && isDigitByte(tok[len(tok)-1-trail]) {
		trail++
	}
	// Trailing digits: "kerj4" yes, "fr33", "s3ns31" yes (two digits that
	// both stand for letters, after two or more letters); "n4", "covid19" no.
	if trail > 0 {
		if trail > 2 || len(tok)-trail < 3 && !(trail == 2 && len(tok)-trail >= 2 && !moneyPrefix[string(tok[:len(tok)-trail])]) {
			return false
		}
		for _, b := range tok[len(tok)-trail:] {
			if leet[b] == 0 {
				return false
			}
		}
	}
	// Inner digit runs must be short and map to letters.
	run := 0
	for _, b := range tok {
		if isDigitByte(b) {
			run++
			if run > 2 || leet[b] == 0 {
				return false
			}
		} else {
			run = 0
		}
	}
	return true
}

// splitHashtag finds the fewest words of vocab (two letters or more) that
// spell tok end to end, and returns the end offset of each; nil when tok is
// not letters only, too short or too long, or cannot be covered.
func splitHashtag(tok []byte, vocab map[string]bool) []int {
	n := len(tok)
	if n < 5 || n > 48 {
		return nil
	}
	for _, b := range tok {
		if b < 'a' || b > 'z' {
			return nil
		}
	}
	const inf = 1 << 30
	var best [49]int
	var from [49]int
	for k := 1; k <= n; k++ {
		best[k] = inf
		for j := max(0, k-24); j <= k-2; j++ {
			if best[j] < inf && best[j]+1 < best[k] && vocab[string(tok[j:k])] {
				best[k], from[k] = best[j]+1, j
			}
		}
	}
	if best[n] >= inf || best[n] < 2 {
		return nil
	}
	cuts := make([]int, best[n])
	for k, c := n, best[n]-1; k > 0; k, c = from[k], c-1 {
		cuts[c] = k
	}
	return cuts
}
