package classifiers

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// Entity is one extracted contact or fact, with its normalised-text span.
type Entity struct {
	Kind  string // phone, whatsapp, telegram, email, agency, licence, age; bank, ewallet, crypto, profile, domain (trail.go)
	Value string // normalised value (E.164, lower-case handle, …)
	Start int
	End   int
	// Country is the ISO region of a phone number.
	Country string
	// Num is a number carried by the entity (an age).
	Num int
	// Holder is the account holder's name of a bank account ("a.n. …").
	Holder string
}

var numberWords = map[string]byte{
	"nol": '0', "kosong": '0', "zero": '0', "satu": '1', "one": '1', "dua": '2', "two": '2',
	"tiga": '3', "three": '3', "empat": '4', "four": '4', "lima": '5', "five": '5', "enam": '6',
	"six": '6', "tujuh": '7', "seven": '7', "delapan": '8', "eight": '8', "sembilan": '9', "nine": '9',
}

// phoneCache remembers parsed numbers; phonenumbers.Parse is the slowest
// step of entity extraction and campaigns repeat the same numbers.
type phoneResult struct {
	e164, region string
	ok           bool
}

// Internal cues of the lexicon that tell the extractors whether to look.
const (
	trigSpelled = "entity:spelled"
	trigLink    = "entity:link"
	trigLicence = "entity:licence"
)

// spelledMarkers: numbers spelled in words start "nol/kosong delapan",
// "zero eight" or "enam dua" (+62).
var spelledMarkers = []string{"delapan", "eight", "enam dua", "six two"}

// linkMarkers: every link prefix (linkPrefixes) holds one of these at a
// word boundary.
var linkMarkers = []string{"me/", "whatsapp.com/", "wa.link/", "telegram.dog/"}

// extractPhones finds phone numbers, including ones spelled out in words
// ("nol delapan satu tiga …") or split by spaces, dashes and dots. spelled
// says a marker word of a spelled number is present; without one only
// digits are scanned.
func (e *Engine) extractPhones(text []byte, spelled bool, out []Entity) []Entity {
	n := len(text)
	var digits [24]byte
	for i := 0; i < n; i++ {
		c := text[i]
		startsNum := isDigitByte(c) || c == '+' && i+1 < n && isDigitByte(text[i+1])
		if !startsNum {
			if !spelled || !isASCIILetter(c) || i > 0 && isWordByte(text[i-1]) {
				continue
			}
			j := i
			for j < n && isASCIILetter(text[j]) {
				j++
			}
			if _, ok := numberWords[string(text[i:j])]; !ok {
				i = j - 1
				continue
			}
		} else if i > 0 && (isLetterByte(text[i-1]) || isDigitByte(text[i-1])) && c != '+' {
			continue
		}
		// Collect digits across separators.
		nd := 0
		plus := c == '+'
		j := i
		if plus {
			j++
		}
		last := j
		words := 0
		for j < n && nd < len(digits) {
			b := text[j]
			if isDigitByte(b) {
				digits[nd] = b
				nd++
				j++
				last = j
				continue
			}
			if spelled && isASCIILetter(b) && (j == 0 || !isWordByte(text[j-1])) {
				k := j
				for k < n && isASCIILetter(text[k]) {
					k++
				}
				if d, ok := numberWords[string(text[j:k])]; ok && (k == n || !isWordByte(text[k])) {
					digits[nd] = d
					nd++
					words++
					j = k
					last = j
					continue
				}
				break
			}
			if b == ' ' || b == '-' || b == '.' || b == '(' || b == ')' || b == '/' {
				// at most two separators in a row ("0813 - 1111")
				if j+1 < n && (text[j+1] == ' ' || text[j+1] == '-') && j+2 < n && (text[j+2] == ' ' || text[j+2] == '-') {
					if j+3 < n && !isWordByte(text[j+3]) {
						break
					}
					j += 2
					continue
				}
				j++
				continue
			}
			break
		}
		if words > 0 && words < 4 && !startsNum {
			// one or two number words ("satu tahun") are not a phone
			i = last - 1
			if i < 0 {
				i = 0
			}
			continue
		}
		if nd >= 8 && nd <= 15 {
			if ent, ok := e.phoneEntityBytes(digits[:nd], plus, i, last); ok {
				out = append(out, ent)
				if len(out) > 64 {
					return out
				}
			}
		}
		if last > i {
			i = last - 1
		}
	}
	return out
}

func (e *Engine) phoneEntity(d string, plus bool, s, end int) (Entity, bool) {
	return e.phoneEntityBytes([]byte(d), plus, s, end)
}

// phoneEntityBytes builds the candidate number in a stack buffer, so a
// number already in the cache costs no allocation.
func (e *Engine) phoneEntityBytes(d []byte, plus bool, s, end int) (Entity, bool) {
	var buf [40]byte
	cand := buf[:0]
	switch {
	case plus:
		cand = append(append(cand, '+'), d...)
	case bytes.HasPrefix(d, []byte("62")) && len(d) >= 10:
		cand = append(append(cand, '+'), d...)
	case bytes.HasPrefix(d, []byte("0")) && !bytes.HasPrefix(d, []byte("00")) && len(d) >= 9:
		cand = append(cand, d...) // national Indonesian format
	case bytes.HasPrefix(d, []byte("00")) && len(d) >= 11:
		cand = append(append(cand, '+'), d[2:]...)
	case bytes.HasPrefix(d, []byte("8")) && len(d) >= 9 && len(d) <= 12:
		cand = append(append(cand, '0'), d...) // Indonesian mobile written without the leading 0
	default:
		for _, cc := range e.foreignCodes {
			if bytes.HasPrefix(d, []byte(cc)) && len(d) >= 10 {
				cand = append(append(cand, '+'), d...)
				break
			}
		}
	}
	if len(cand) == 0 {
		return Entity{}, false
	}
	e.phoneMu.RLock()
	r, ok := e.phoneCache[string(cand)]
	e.phoneMu.RUnlock()
	if !ok {
		r = e.parsePhone(string(cand))
	}
	if !r.ok {
		return Entity{}, false
	}
	return Entity{Kind: "phone", Value: r.e164, Country: r.region, Start: s, End: end}, true
}

func (e *Engine) parsePhone(cand string) phoneResult {
	e.phoneMu.RLock()
	r, ok := e.phoneCache[cand]
	e.phoneMu.RUnlock()
	if ok {
		return r
	}
	num, err := phonenumbers.Parse(cand, "ID")
	if err == nil && phonenumbers.IsPossibleNumber(num) {
		r = phoneResult{e164: phonenumbers.Format(num, phonenumbers.E164), region: phonenumbers.GetRegionCodeForNumber(num), ok: true}
		if r.region == "" {
			r.region = phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
		}
	}
	e.phoneMu.Lock()
	if len(e.phoneCache) > 50000 {
		clear(e.phoneCache)
	}
	e.phoneCache[cand] = r
	e.phoneMu.Unlock()
	return r
}

// contactContext reports whether a WhatsApp word sits just before pos.
func whatsappBefore(text []byte, pos int) bool {
	i := pos
	for step := 0; step < 4 && i > 0; step++ {
		wb, ws := prevWord(text, i)
		w := string(wb)
		if w == "" {
			if i > 0 && (text[i-1] == ':' || text[i-1] == '.' || text[i-1] == '-' || text[i-1] == '/') {
				i--
				step--
				continue
			}
			return false
		}
		switch w {
		case "wa", "whatsapp", "whatsap", "watsap", "wasap", "whats", "wame", "me":
			return true
		}
		i = ws
	}
	return false
}

// extractLinks finds WhatsApp links, Telegram links and handles, and e-mail
// addresses. Values come from the original text (normalisation may have
// read a handle's digits as leetspeak). links says a link marker is
// present; without one only '@' matters, and bytes.IndexByte finds those
// fast.
func (e *Engine) extractLinks(nt *Normalized, links bool, out []Entity) []Entity {
	text := nt.Text
	n := len(text)
	for i := 0; i < n; i++ {
		if !links {
			k := bytes.IndexByte(text[i:], '@')
			if k < 0 {
				break
			}
			i += k
		}
		c := text[i]
		switch {
		case c == '@':
			if i > 0 && isWordByte(text[i-1]) {
				// e-mail: local@domain.tld
				ls := i
				for ls > 0 && (isWordByte(text[ls-1]) || text[ls-1] == '.' || text[ls-1] == '-' || text[ls-1] == '+') {
					ls--
				}
				de := i + 1
				dots := 0
				for de < n && (isWordByte(text[de]) || text[de] == '-' || text[de] == '.' && de+1 < n && isWordByte(text[de+1])) {
					if text[de] == '.' {
						dots++
					}
					de++
				}
				if dots > 0 && de > i+3 {
					v := strings.ToLower(nt.Original(ls, de))
					if isEmail(v) {
						out = append(out, Entity{Kind: "email", Value: v, Start: ls, End: de})
					}
				}
				i = de - 1
				continue
			}
			// @handle
			j := i + 1
			for j < n && isWordByte(text[j]) && text[j] < 0x80 {
				j++
			}
			if j-i-1 >= 4 && j-i-1 <= 32 {
				if h := handleFrom(nt.Original(i+1, j)); h != "" && !socialBefore(text, i) {
					out = append(out, Entity{Kind: "telegram", Value: h, Start: i, End: j})
				}
			}
			i = j - 1
		case c == 't' || c == 'w' || c == 'a':
			if i > 0 && isWordByte(text[i-1]) {
				continue
			}
			rest := text[i:]
			var prefix string
			for _, p := range linkPrefixes {
				if len(rest) >= len(p) && string(rest[:len(p)]) == p {
					prefix = p
					break
				}
			}
			if prefix == "" {
				continue
			}
			j := i + len(prefix)
			k := j
			for k < n && (isWordByte(text[k]) && text[k] < 0x80 || text[k] == '+') {
				k++
			}
			if k == j {
				continue
			}
			if strings.Contains(prefix, "whatsapp") || prefix == "wa.me/" {
				d := strings.Map(func(r rune) rune {
					if r >= '0' && r <= '9' {
						return r
					}
					return -1
				}, nt.Original(j, k))
				if len(d) >= 8 && len(d) <= 15 {
					if ent, ok := e.phoneEntity(d, strings.HasPrefix(string(text[j:k]), "+"), i, k); ok {
						ent.Kind = "whatsapp"
						out = append(out, ent)
					}
				}
			} else if h := handleFrom(nt.Original(j, k)); len(h) >= 4 {
				out = append(out, Entity{Kind: "telegram", Value: h, Start: i, End: k})
			}
			i = k - 1
		}
		if len(out) > 128 {
			return out
		}
	}
	return out
}

var linkPrefixes = []string{
	"wa.me/", "api.whatsapp.com/send?phone=", "whatsapp.com/send?phone=", "wa.link/",
	"t.me/joinchat/", "t.me/+", "t.me/s/", "t.me/", "telegram.me/", "telegram.dog/",
}

func socialBefore(text []byte, pos int) bool {
	wb, _ := prevWord(text, pos)
	switch string(wb) {
	case "ig", "instagram", "insta", "tiktok", "tt", "twitter", "fb", "facebook", "x", "threads":
		return true
	}
	return false
}

func handleFrom(s string) string {
	s = strings.ToLower(s)
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return ""
		}
	}
	if s == "" || s[0] == '_' || s[0] >= '0' && s[0] <= '9' {
		return ""
	}
	switch s {
	case "gmail", "yahoo", "mail", "joinchat", "share", "send":
		return ""
	}
	return s
}

func isEmail(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.Count(v, "@") != 1 {
		return false
	}
	for _, r := range v {
		if r > utf8.RuneSelf || unicode.IsSpace(r) {
			return false
		}
	}
	dom := v[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	return dot > 0 && len(dom)-dot-1 >= 2
}

var freeMail = []string{"gmail.", "yahoo.", "ymail.", "hotmail.", "outlook.", "live.", "icloud.", "aol.", "protonmail.", "proton.me", "mail.ru", "qq.com", "163.com", "yandex."}

func isFreeMail(v string) bool {
	at := strings.IndexByte(v, '@')
	dom := v[at+1:]
	for _, f := range freeMail {
		if strings.HasPrefix(dom, f) || dom == f {
			return true
		}
	}
	return false
}

// ageWords introduce an age or an age range.
var ageWords = map[string]bool{
	"usia": true, "umur": true, "age": true, "aged": true, "ages": true, "girls": true, "girl": true,
	"cewek": true, "cewe": true, "wanita": true, "female": true, "females": true, "women": true,
	"boys": true, "pria": true, "male": true, "laki": true, "anak": true, "remaja": true, "u": true,
	"min": true, "minimal": true, "minimum": true, "mulai": true, "from": true, "dari": true,
}

var maxWords = map[string]bool{"max": true, "maks": true, "maksimal": true, "maximum": true, "maksimum": true, "under": true, "bawah": true, "sampai": true}

// extractAges finds the lowest age bound an ad accepts ("usia 17–25",
// "umur 15 tahun ke atas", "girls 16+").
func extractAges(text []byte, out []Entity) []Entity {
	n := len(text)
	for i := 0; i < n; i++ {
		if !isDigitByte(text[i]) || i > 0 && (isWordByte(text[i-1]) || text[i-1] == '.' || text[i-1] == ',' || text[i-1] == '$') {
			continue
		}
		j := i
		for j < n && isDigitByte(text[j]) {
			j++
		}
		if j-i > 2 || j < n && (text[j] == '.' || text[j] == ',') && j+1 < n && isDigitByte(text[j+1]) {
			i = j
			continue
		}
		v := int(text[i] - '0')
		if j-i == 2 {
			v = v*10 + int(text[i+1]-'0')
		}
		if v < 10 || v > 70 {
			i = j
			continue
		}
		// context before: an age word within two words, and not "max"
		ctx := false
		k := i
		for step := 0; step < 3 && k > 0; step++ {
			wb, ws := prevWord(text, k)
			w := string(wb)
			if w == "" {
				break
			}
			if maxWords[w] {
				ctx = false
				break
			}
			if ageWords[w] && w != "min" && w != "minimal" && w != "minimum" && w != "from" && w != "dari" && w != "mulai" {
				ctx = true
				break
			}
			if (w == "min" || w == "minimal" || w == "minimum" || w == "mulai" || w == "from" || w == "dari") && ageAfter(text, j) {
				ctx = true
				break
			}
			k = ws
		}
		// context after: "16+", "17 and above", "15 tahun ke atas", "17th"
		after := text[j:min(n, j+24)]
		plus := bytes.HasPrefix(after, []byte("+")) || bytes.HasPrefix(after, []byte(" +"))
		if !ctx && plus && v < 30 {
			// "17+ ok": a plus after a teen number reads as an age
			ctx = v >= 12 && v <= 21
		}
		if !ctx && ageAfter(text, j) && (bytes.Contains(after, []byte("ke atas")) || bytes.Contains(after, []byte("keatas")) || bytes.Contains(after, []byte("and above")) || bytes.Contains(after, []byte("and over")) || bytes.Contains(after, []byte("or older"))) {
			ctx = true
		}
		if ctx {
			out = append(out, Entity{Kind: "age", Num: v, Start: i, End: j})
		}
		i = j
	}
	return out
}

func ageAfter(text []byte, j int) bool {
	wb, _, _ := nextWord(text, j)
	switch string(wb) {
	case "th", "thn", "tahun", "years", "year", "yo", "y", "tahunan", "and", "ke", "keatas", "+", "":
		return true
	}
	return false
}

// extractAgencies finds company names written "PT Xxx Yyy" in the original
// text, and licence numbers ("SIP3MI No. 09 Tahun 2022", "No. 562/311/LPK/2023").
func extractAgencies(nt *Normalized, out []Entity) []Entity {
	orig := nt.orig
	for i := 0; i+3 < len(orig); i++ {
		if orig[i] != 'P' || orig[i+1] != 'T' || i > 0 && isAlnum(orig[i-1]) {
			continue
		}
		j := i + 2
		if j < len(orig) && orig[j] == '.' {
			j++
		}
		if j >= len(orig) || orig[j] != ' ' {
			continue
		}
		var words []string
		k := j
		end := j
		for len(words) < 6 {
			for k < len(orig) && orig[k] == ' ' {
				k++
			}
			s := k
			for k < len(orig) && (isAlnum(orig[k]) || orig[k] == '-' || orig[k] == '&') {
				k++
			}
			if k == s || !(orig[s] >= 'A' && orig[s] <= 'Z') {
				break
			}
			words = append(words, orig[s:k])
			end = k
		}
		if len(words) == 0 || len(words) == 1 && len(words[0]) < 3 {
			continue
		}
		s, _ := normSpanOf(nt, i, end)
		out = append(out, Entity{Kind: "agency", Value: "PT " + strings.Join(words, " "), Start: s, End: s + 1})
		i = end
	}
	return out
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// normSpanOf finds the normalised range covering the original [s, e).
func normSpanOf(nt *Normalized, s, e int) (int, int) {
	lo, hi := -1, -1
	for i := range nt.Text {
		if lo < 0 && int(nt.ends[i]) > s {
			lo = i
		}
		if int(nt.starts[i]) < e {
			hi = i + 1
		}
	}
	if lo < 0 {
		lo = 0
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// licenceHeadWords start a licence number ("SIP3MI No. 09 Tahun 2022").
var licenceHeadWords = []string{"sip3mi", "sip2mi", "siuppak", "nib", "izin", "ijin", "licence", "license", "lisensi", "sk"}

var licenceIntro = map[string]bool{
	"disnaker": true, "provinsi": true, "kemnaker": true,
	"sip3mi": true, "sip2mi": true, "siuppak": true, "sippak": true, "siup": true, "nib": true,
	"izin": true, "ijin": true, "licence": true, "license": true, "licensed": true, "lisensi": true,
	"sk": true, "no": true, "nomor": true, "nomer": true, "number": true, "reg": true, "registration": true,
	"lpk": true, "sk.": true, "permit": true,
}

// extractLicences reads licence numbers that follow a licence word; heads
// are the word-bounded occurrences of licenceHeadWords, in text order.
func extractLicences(text []byte, heads []span, out []Entity) []Entity {
	n := len(text)
	next := 0
	for _, h := range heads {
		i, j := h.s, h.e
		if i < next {
			continue // inside the previous licence number
		}
		next = j
		// look ahead a few words for a number
		k := j
		words := 0
		for k < n && words < 5 {
			for k < n && !isWordByte(text[k]) && text[k] != '\n' && text[k] != ',' && text[k] != ';' && text[k] != ')' {
				k++
			}
			if k >= n || !isWordByte(text[k]) {
				break
			}
			if isDigitByte(text[k]) {
				break
			}
			s := k
			for k < n && isWordByte(text[k]) {
				k++
			}
			if !licenceIntro[string(text[s:k])] {
				words = 99
				break
			}
			words++
		}
		if words == 99 || k >= n || !isDigitByte(text[k]) {
			continue
		}
		var nums []string
		for k < n && len(nums) < 6 {
			e := k
			for e < n && isDigitByte(text[e]) {
				e++
			}
			if e > k {
				nums = append(nums, strings.TrimLeft(string(text[k:e]), "0"))
				k = e
			}
			// separators inside a licence number: "/", ".", "-", " tahun ", letters like "lpk"
			if k < n && (text[k] == '/' || text[k] == '-' || text[k] == '.') && k+1 < n && isWordByte(text[k+1]) {
				k++
				for k < n && isASCIILetter(text[k]) {
					k++
				}
				if k < n && text[k] == '/' {
					k++
				}
				continue
			}
			if bytes.HasPrefix(text[k:], []byte(" tahun ")) && k+7 < n && isDigitByte(text[k+7]) {
				k += 7
				continue
			}
			break
		}
		if len(nums) > 0 {
			out = append(out, Entity{Kind: "licence", Value: strings.Join(nums, "/"), Start: i, End: k})
		}
		next = k
	}
	return out
}

// licenceKey reduces any written licence number to its digit groups.
func licenceKey(s string) string {
	var nums []string
	cur := ""
	for _, r := range s {
		if r >= '0' && r <= '9' {
			cur += string(r)
			continue
		}
		if cur != "" {
			nums = append(nums, strings.TrimLeft(cur, "0"))
			cur = ""
		}
	}
	if cur != "" {
		nums = append(nums, strings.TrimLeft(cur, "0"))
	}
	// "SIP3MI": the 3 of the word is not part of the number
	if len(nums) > 0 && strings.Contains(strings.ToLower(s), "p3mi") && strings.HasPrefix(strings.ToLower(strings.TrimSpace(s)), "sip") {
		nums = nums[1:]
	}
	return strings.Join(nums, "/")
}
