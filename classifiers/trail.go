package classifiers

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/lokerwatch/lokerwatch"
)

// The money trail: bank accounts, e-wallets, crypto addresses, social
// profiles and web domains. Unlike the contact extractors, which read the
// normalised text, these read the ad body as written (an account number or
// an address must not go through leetspeak folding), so their spans are
// byte offsets into ad.Body() — the same offsets signals use.
//
// Values are normalised so that one account written three ways is one
// entity:
//
//	bank     "bca:1234567890"           bank code, digits only
//	ewallet  "dana:+6281234567890"      wallet, number in E.164
//	crypto   "tron:T…", "btc:1…", "btc:bc1…", "eth:0x…" (lower case)
//	profile  "instagram:handle", "tiktok:handle", "facebook:name",
//	         "facebook:id/123", "facebook:groups/name"
//	domain   "example.com"              lower case, without "www."

// bankAlias maps a bank name as written (lower case, words separated by
// one space) to the bank's code.
var bankAlias = map[string]string{
	"bca": "bca", "bank bca": "bca", "bank central asia": "bca", "klikbca": "bca",
	"bri": "bri", "bank bri": "bri", "bank rakyat indonesia": "bri", "britama": "bri",
	"bni": "bni", "bank bni": "bni", "bank negara indonesia": "bni",
	"mandiri": "mandiri", "bank mandiri": "mandiri", "livin": "mandiri",
	"bsi": "bsi", "bank bsi": "bsi", "bank syariah indonesia": "bsi",
	"cimb": "cimb", "cimb niaga": "cimb", "bank cimb": "cimb", "bank cimb niaga": "cimb",
	"btn": "btn", "bank btn": "btn", "permata": "permata", "bank permata": "permata",
	"danamon": "danamon", "bank danamon": "danamon", "panin": "panin", "bank panin": "panin",
	"muamalat": "muamalat", "bank muamalat": "muamalat", "jago": "jago", "bank jago": "jago",
	"seabank": "seabank", "sea bank": "seabank", "blu": "blu", "bca digital": "blu",
	"ocbc": "ocbc", "ocbc nisp": "ocbc", "maybank": "maybank", "bank maybank": "maybank",
	"uob": "uob", "dbs": "dbs", "hsbc": "hsbc", "citibank": "citibank",
	"bank jateng": "bpd-jateng", "bank jatim": "bpd-jatim", "bank bjb": "bjb", "bjb": "bjb", "bank dki": "bank-dki",
	// Abroad: where scam compounds and their brokers bank.
	"public bank": "publicbank", "rhb": "rhb", "hong leong": "hongleong", "ambank": "ambank", "bank islam": "bankislam",
	"bangkok bank": "bangkokbank", "kasikorn": "kbank", "kasikornbank": "kbank", "kbank": "kbank", "scb": "scb",
	"siam commercial": "scb", "krungthai": "krungthai", "krungsri": "krungsri",
	"aba": "aba", "aba bank": "aba", "acleda": "acleda", "acleda bank": "acleda", "canadia": "canadia", "canadia bank": "canadia",
	"wing bank": "wing", "prince bank": "princebank", "huione": "huione", "huione pay": "huione",
	"kbz": "kbz", "kbz bank": "kbz", "aya bank": "aya", "cb bank": "cbbank",
	"vietcombank": "vietcombank", "techcombank": "techcombank", "bidv": "bidv", "vietinbank": "vietinbank",
	"bdo": "bdo", "bpi": "bpi", "metrobank": "metrobank", "bank of china": "boc", "icbc": "icbc",
}

// bankLengths are the account number lengths a bank issues; a number of
// another length after its name is not its account. Banks not listed
// take 8 to 18 digits.
var bankLengths = map[string][]int{
	"bca": {10}, "bni": {10}, "bsi": {10}, "bri": {15}, "mandiri": {13},
	"cimb": {13, 14}, "btn": {16}, "permata": {10}, "danamon": {10}, "jago": {12},
}

// walletAlias maps an e-wallet name as written to its code and the region
// its numbers belong to.
var walletAlias = map[string][2]string{
	"dana": {"dana", "ID"}, "ovo": {"ovo", "ID"}, "gopay": {"gopay", "ID"}, "go-pay": {"gopay", "ID"}, "go pay": {"gopay", "ID"},
	"shopeepay": {"shopeepay", "ID"}, "shopee pay": {"shopeepay", "ID"}, "spay": {"shopeepay", "ID"},
	"linkaja": {"linkaja", "ID"}, "link aja": {"linkaja", "ID"},
	"gcash": {"gcash", "PH"}, "truemoney": {"truemoney", "TH"}, "true money": {"truemoney", "TH"},
}

// holderIntro are the words that introduce an account holder's name.
var holderIntro = []string{"a.n.", "a.n", "a/n", "an.", "an:", "atas nama", "account name", "acc name", "nama rekening", "pemilik"}

// holderStop ends a holder's name.
var holderStop = map[string]bool{
	"no": true, "norek": true, "rek": true, "rekening": true, "bank": true, "wa": true, "telp": true, "hp": true, "hub": true,
	"dan": true, "untuk": true, "ke": true, "via": true, "transfer": true, "tf": true, "atau": true, "or": true, "and": true,
	"biaya": true, "dp": true, "konfirmasi": true, "kirim": true, "bukti": true, "lalu": true, "setelah": true, "sebelum": true,
	"the": true, "to": true, "for": true, "then": true, "send": true, "contact": true, "hubungi": true,
}

var socialHosts = []string{"facebook.com", "fb.com", "fb.me", "instagram.com", "instagr.am", "tiktok.com"}

// notDomains are hosts that are contacts or platforms, not a recruiter's
// own site: they are extracted as profiles, WhatsApp or Telegram links,
// or say nothing about who placed the ad.
var notDomains = map[string]bool{
	"facebook.com": true, "fb.com": true, "fb.me": true, "instagram.com": true, "instagr.am": true, "tiktok.com": true,
	"t.me": true, "telegram.me": true, "telegram.dog": true, "telegram.org": true, "wa.me": true, "wa.link": true,
	"whatsapp.com": true, "api.whatsapp.com": true, "chat.whatsapp.com": true, "youtube.com": true, "youtu.be": true,
	"google.com": true, "goo.gl": true, "forms.gle": true, "bit.ly": true, "x.com": true, "twitter.com": true,
}

var domainTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "id": true, "info": true, "biz": true, "xyz": true, "site": true, "online": true,
	"top": true, "io": true, "cc": true, "asia": true, "work": true, "jobs": true, "careers": true, "store": true, "shop": true,
	"my": true, "sg": true, "kh": true, "th": true, "vn": true, "ph": true, "la": true, "mm": true, "hk": true, "tw": true,
	"jp": true, "kr": true, "cn": true, "ae": true, "sa": true, "qa": true, "tk": true, "ml": true, "vip": true, "club": true,
	"live": true, "app": true, "link": true, "today": true, "space": true, "website": true, "pro": true,
}

var reservedFacebook = map[string]bool{
	"share": true, "sharer": true, "sharer.php": true, "watch": true, "events": true, "login": true, "help": true,
	"policies": true, "photo.php": true, "story.php": true, "permalink.php": true, "hashtag": true, "marketplace": true,
	"reel": true, "reels": true, "photo": true, "photos": true, "home.php": true, "search": true, "l.php": true, "dialog": true,
}

var reservedInstagram = map[string]bool{"p": true, "reel": true, "reels": true, "explore": true, "stories": true, "accounts": true, "tv": true, "direct": true}

// ExtractTrail finds the money-trail and account entities of an ad body
// (title + "\n" + text). Spans are byte offsets into body. It never
// panics on any input; invalid look-alikes (bad checksums, wrong lengths)
// are not returned.
func ExtractTrail(body string) []Entity {
	if len(body) > MaxBody {
		body = body[:MaxBody]
	}
	lower := asciiLower(body)
	hits := aliasHits(lower)
	var out []Entity
	out = extractBanks(body, lower, hits, out)
	out = extractWallets(lower, hits, out)
	out = extractCrypto(body, out)
	out = extractProfiles(lower, hits, out)
	out = extractDomains(lower, out)
	return out
}

// FillTrail extracts the money trail of ad into ad.Entities (accounts,
// holders, e-wallets, crypto, profiles, domains), replacing what was
// there. Classify fills the other entities; call FillTrail after it.
func FillTrail(ad *lokerwatch.Ad) {
	if ad == nil {
		return
	}
	e := &ad.Entities
	e.Accounts, e.Holders, e.EWallets, e.Crypto, e.Profiles, e.Domains = nil, nil, nil, nil, nil, nil
	for _, en := range ExtractTrail(ad.Body()) {
		switch en.Kind {
		case "bank":
			e.Accounts = appendNew(e.Accounts, en.Value)
			if en.Holder != "" {
				if e.Holders == nil {
					e.Holders = map[string]string{}
				}
				if _, ok := e.Holders[en.Value]; !ok {
					e.Holders[en.Value] = en.Holder
				}
			}
		case "ewallet":
			e.EWallets = appendNew(e.EWallets, en.Value)
		case "crypto":
			e.Crypto = appendNew(e.Crypto, en.Value)
		case "profile":
			e.Profiles = appendNew(e.Profiles, en.Value)
		case "domain":
			e.Domains = appendNew(e.Domains, en.Value)
		}
	}
	// The phone extractor reads an account number as a phone when it
	// looks like one ("BCA 4471 209 385" becomes +44 71209385): a number
	// the ad gives as an account is not also its phone.
	if len(e.Accounts) > 0 {
		e.Phones = dropAccounts(e.Phones, e.Accounts)
		e.WhatsApp = dropAccounts(e.WhatsApp, e.Accounts)
	}
}

func dropAccounts(phones, accounts []string) []string {
	out := phones[:0:0]
	for _, p := range phones {
		d := strings.TrimPrefix(p, "+")
		account := false
		for _, a := range accounts {
			_, num, _ := strings.Cut(a, ":")
			if d == num || strings.HasPrefix(num, "0") && d == "62"+num[1:] || strings.HasSuffix(d, num) && len(num) >= 8 {
				account = true
				break
			}
		}
		if !account {
			out = append(out, p)
		}
	}
	return out
}

// WithTrail is the engine as the crawler runs it on every ad: Classify,
// then FillTrail. (Classify resets ad.Entities, so the trail comes after.)
type WithTrail struct{ *Engine }

// Classify classifies ad and extracts its money trail.
func (w WithTrail) Classify(ad *lokerwatch.Ad) {
	w.Engine.Classify(ad)
	FillTrail(ad)
}

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// asciiLower lower-cases ASCII letters only, so byte offsets stay the same.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func isAlnumByte(c byte) bool { return isAlnum(c) }

// wordAt reports whether lower[i:] starts with word at word boundaries
// (words of several parts may be separated by runs of spaces).
func phraseAt(lower string, i int, phrase string) (end int, ok bool) {
	if i > 0 && isAlnumByte(lower[i-1]) {
		return 0, false
	}
	j := i
	for k := 0; k < len(phrase); k++ {
		if phrase[k] == ' ' {
			if j >= len(lower) || lower[j] != ' ' && lower[j] != '-' && lower[j] != '\t' {
				return 0, false
			}
			for j < len(lower) && (lower[j] == ' ' || lower[j] == '\t') {
				j++
			}
			continue
		}
		if j >= len(lower) || lower[j] != phrase[k] {
			return 0, false
		}
		j++
	}
	if j < len(lower) && isAlnumByte(lower[j]) {
		return 0, false
	}
	return j, true
}

// aliasIndex maps the first word of each alias to the aliases starting
// with it, so that a word of the text costs one map lookup.
type aliasIndex map[string][]string

func indexAliases[V any](m map[string]V) aliasIndex {
	idx := aliasIndex{}
	for a := range m {
		w, _, _ := strings.Cut(a, " ")
		idx[w] = append(idx[w], a)
	}
	return idx
}

var (
	bankIndex    = indexAliases(bankAlias)
	walletIndex  = indexAliases(walletAlias)
	profileIndex = indexAliases(profileWords)
)

// Kinds of alias words, found in one pass over the text (aliasHits) so
// that each extractor looks only where one of its words starts.
const (
	hitBank uint8 = 1 << iota
	hitWallet
	hitProfile
)

type aliasHit struct {
	pos   int
	kinds uint8
}

var wordKinds = func() map[string]uint8 {
	m := map[string]uint8{}
	for w := range bankIndex {
		m[w] |= hitBank
	}
	for w := range walletIndex {
		m[w] |= hitWallet
	}
	for w := range profileIndex {
		m[w] |= hitProfile
	}
	for _, h := range socialHosts { // "facebook" of facebook.com/…
		w, _, _ := strings.Cut(h, ".")
		m[w] |= hitProfile
	}
	return m
}()

// aliasHits lists the word starts of lower that begin an alias.
func aliasHits(lower string) []aliasHit {
	var out []aliasHit
	n := len(lower)
	for i := 0; i < n; i++ {
		if !isAliasByte(lower[i]) || i > 0 && isAlnumByte(lower[i-1]) {
			continue
		}
		j := i
		for j < n && isAliasByte(lower[j]) {
			j++
		}
		k := wordKinds[lower[i:j]]
		if d := strings.IndexByte(lower[i:j], '-'); d > 0 {
			k |= wordKinds[lower[i:i+d]]
		}
		if k != 0 {
			out = append(out, aliasHit{i, k})
		}
		i = j - 1
	}
	return out
}

// nextHit moves *hi to the first hit at or after i with kind and returns
// its position, or -1 when there is none.
func nextHit(hits []aliasHit, hi *int, i int, kind uint8) int {
	for *hi < len(hits) && (hits[*hi].pos < i || hits[*hi].kinds&kind == 0) {
		*hi++
	}
	if *hi == len(hits) {
		return -1
	}
	return hits[*hi].pos
}

func isAliasByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' }

// longestAlias finds the longest alias of idx starting at the word at i.
func longestAlias(lower string, i int, idx aliasIndex) (string, int) {
	j := i
	for j < len(lower) && isAliasByte(lower[j]) {
		j++
	}
	cands := idx[lower[i:j]]
	if len(cands) == 0 && j > i {
		// "go-pay" is one word of the index; "go" of "go pay" another.
		if k := strings.IndexByte(lower[i:j], '-'); k > 0 {
			cands = idx[lower[i:i+k]]
		}
	}
	best, bestEnd := "", 0
	for _, alias := range cands {
		if e, ok := phraseAt(lower, i, alias); ok && e > bestEnd {
			best, bestEnd = alias, e
		}
	}
	return best, bestEnd
}

// digitRun reads a number written with single spaces, dashes or dots
// between digit groups, starting at i; it returns the digits and the end.
func digitRun(s string, i int) (string, int) {
	var b strings.Builder
	j := i
	end := i
	for j < len(s) {
		c := s[j]
		if c >= '0' && c <= '9' {
			b.WriteByte(c)
			j++
			end = j
			continue
		}
		if (c == ' ' || c == '-' || c == '.') && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9' && b.Len() > 0 {
			j++
			continue
		}
		break
	}
	return b.String(), end
}

// moneyAround reports whether the number at [s, e) is an amount of money
// ("Rp 50.000.000", "5.000.000,-", "25 juta").
func moneyAround(lower string, s, e int) bool {
	pre := lower[max(0, s-5):s]
	for _, p := range []string{"rp", "idr", "$", "usd", "rm", "myr", "thb", "฿"} {
		if strings.Contains(pre, p) {
			return true
		}
	}
	post := strings.TrimLeft(lower[e:min(len(lower), e+8)], " ")
	for _, p := range []string{",-", ",00", "juta", "jt", "ribu", "rb", "k ", "usd", "ringgit", "baht", "dollar"} {
		if strings.HasPrefix(post, p) {
			return true
		}
	}
	return false
}

// phoneLike reports whether digits read as an Indonesian mobile number,
// which follows a bank name as a contact ("BCA / WA 0812…"), not as an
// account.
func phoneLike(d string) bool {
	return strings.HasPrefix(d, "08") || strings.HasPrefix(d, "628")
}

func extractBanks(body, lower string, hits []aliasHit, out []Entity) []Entity {
	n := len(lower)
	hi := 0
	for i := 0; i < n; i++ {
		if i = nextHit(hits, &hi, i, hitBank); i < 0 {
			break
		}
		c := lower[i]
		if c < 'a' || c > 'z' || i > 0 && isAlnumByte(lower[i-1]) {
			continue
		}
		alias, ae := longestAlias(lower, i, bankIndex)
		if alias == "" {
			continue
		}
		code := bankAlias[alias]
		// The account number: the first valid number within a short window
		// after the name, else one just before it ("1234567890 (BCA)").
		num, ns, ne := "", 0, 0
		limit := min(n, ae+64)
		for j := ae; j < limit; j++ {
			if lower[j] == '\n' && j > ae+1 && lower[j-1] == '\n' {
				break // a blank line ends the account's paragraph
			}
			if lower[j] < '0' || lower[j] > '9' || j > 0 && isAlnumByte(lower[j-1]) {
				continue
			}
			d, e := digitRun(lower, j)
			if e < n && isAlnumByte(lower[e]) {
				j = e
				continue
			}
			if validAccount(code, d) && !moneyAround(lower, j, e) && !phoneLike(d) {
				num, ns, ne = d, j, e
				break
			}
			j = e
		}
		if num == "" {
			k := i - 1
			for k >= 0 && (lower[k] == ' ' || lower[k] == '(' || lower[k] == '-' || lower[k] == '/') && i-k < 4 {
				k--
			}
			if k >= 0 && lower[k] >= '0' && lower[k] <= '9' {
				s := k
				for s > 0 && (lower[s-1] >= '0' && lower[s-1] <= '9' || (lower[s-1] == ' ' || lower[s-1] == '-' || lower[s-1] == '.') && s > 1 && lower[s-2] >= '0' && lower[s-2] <= '9') {
					s--
				}
				if s == 0 || !isAlnumByte(lower[s-1]) {
					d, e := digitRun(lower, s)
					if validAccount(code, d) && !moneyAround(lower, s, e) && !phoneLike(d) {
						num, ns, ne = d, s, e
					}
				}
			}
		}
		if num == "" {
			i = ae - 1
			continue
		}
		start, end := min(i, ns), max(ae, ne)
		holder, he := findHolder(body, lower, start, min(n, end+48))
		if he > end {
			end = he
		}
		out = append(out, Entity{Kind: "bank", Value: code + ":" + num, Holder: holder, Start: start, End: end})
		i = end - 1
	}
	return out
}

func validAccount(code, d string) bool {
	if len(d) < 8 || len(d) > 18 {
		return false
	}
	if ls, ok := bankLengths[code]; ok {
		for _, l := range ls {
			if len(d) == l {
				return true
			}
		}
		return false
	}
	return true
}

// findHolder reads the holder's name after "a.n."/"atas nama" within
// [from, to): up to four words of letters, title-cased.
func findHolder(body, lower string, from, to int) (string, int) {
	for _, intro := range holderIntro {
		k := strings.Index(lower[from:to], intro)
		if k < 0 {
			continue
		}
		at := from + k
		if at > 0 && isAlnumByte(lower[at-1]) {
			continue
		}
		j := at + len(intro)
		var words []string
		end := j
		for len(words) < 4 {
			for j < len(lower) && (lower[j] == ' ' || lower[j] == ':' || lower[j] == '.' && len(words) == 0) {
				j++
			}
			s := j
			for j < len(lower) && (lower[j] >= 'a' && lower[j] <= 'z' || lower[j] == '\'') {
				j++
			}
			if j == s || j < len(lower) && isAlnumByte(lower[j]) {
				break
			}
			w := lower[s:j]
			if holderStop[w] || bankAlias[w] != "" {
				break
			}
			words = append(words, strings.ToUpper(w[:1])+w[1:])
			end = j
			if j < len(lower) && lower[j] != ' ' {
				break // punctuation ends the name
			}
		}
		if len(words) > 0 && len(strings.Join(words, "")) >= 3 {
			return strings.Join(words, " "), end
		}
	}
	return "", 0
}

func extractWallets(lower string, hits []aliasHit, out []Entity) []Entity {
	n := len(lower)
	hi := 0
	for i := 0; i < n; i++ {
		if i = nextHit(hits, &hi, i, hitWallet); i < 0 {
			break
		}
		c := lower[i]
		if c < 'a' || c > 'z' || i > 0 && isAlnumByte(lower[i-1]) {
			continue
		}
		alias, ae := longestAlias(lower, i, walletIndex)
		if alias == "" {
			continue
		}
		w := walletAlias[alias]
		// The number follows within a few words ("DANA: 0812…", "OVO
		// (a.n. Rina) 0813…"); "dana" alone is also the word for funds,
		// so without a number nothing is taken.
		found := false
		for j := ae; j < min(n, ae+40); j++ {
			if lower[j] == '\n' {
				break
			}
			plus := lower[j] == '+'
			if !plus && (lower[j] < '0' || lower[j] > '9') || j > 0 && isAlnumByte(lower[j-1]) {
				continue
			}
			s := j
			if plus {
				j++
			}
			d, e := digitRun(lower, j)
			if e < n && isAlnumByte(lower[e]) || len(d) < 9 || len(d) > 15 || moneyAround(lower, s, e) {
				j = e
				continue
			}
			cand := d
			if plus || strings.HasPrefix(d, "62") || strings.HasPrefix(d, "63") || strings.HasPrefix(d, "66") {
				cand = "+" + d
			}
			num, err := phonenumbers.Parse(cand, w[1])
			if err != nil || !phonenumbers.IsValidNumber(num) {
				j = e
				continue
			}
			out = append(out, Entity{Kind: "ewallet", Value: w[0] + ":" + phonenumbers.Format(num, phonenumbers.E164), Start: i, End: e})
			i, found = e-1, true
			break
		}
		if !found {
			i = ae - 1
		}
	}
	return out
}

func extractCrypto(body string, out []Entity) []Entity {
	n := len(body)
	for i := 0; i < n; i++ {
		if !isAlnumByte(body[i]) || i > 0 && isAlnumByte(body[i-1]) {
			continue
		}
		j := i
		for j < n && isAlnumByte(body[j]) {
			j++
		}
		tok := body[i:j]
		var v string
		switch {
		case len(tok) == 42 && (tok[:2] == "0x" || tok[:2] == "0X"):
			if validEthereum(tok) {
				v = "eth:0x" + strings.ToLower(tok[2:])
			}
		case len(tok) == 34 && tok[0] == 'T':
			if validTron(tok) {
				v = "tron:" + tok
			}
		case (tok[0] == '1' || tok[0] == '3') && len(tok) >= 26 && len(tok) <= 35:
			if validBTCLegacy(tok) {
				v = "btc:" + tok
			}
		case len(tok) >= 14 && strings.EqualFold(tok[:3], "bc1"):
			if validBech32BTC(tok) {
				v = "btc:" + strings.ToLower(tok)
			}
		}
		if v != "" {
			out = append(out, Entity{Kind: "crypto", Value: v, Start: i, End: j})
		}
		i = j - 1
	}
	return out
}

// profileWords introduce a handle written without a link ("IG: @kerja.id").
var profileWords = map[string]string{
	"ig": "instagram", "instagram": "instagram", "insta": "instagram",
	"tiktok": "tiktok", "tik tok": "tiktok", "tt": "tiktok",
	"fb": "facebook", "facebook": "facebook",
}

func isHandleByte(c byte) bool { return isAlnumByte(c) || c == '.' || c == '_' }

// readHandle reads a handle at i and trims the dots a sentence may end
// with; it returns "" for handles under three characters.
func readHandle(lower string, i int) (string, int) {
	j := i
	for j < len(lower) && j-i < 50 && isHandleByte(lower[j]) {
		j++
	}
	for j > i && lower[j-1] == '.' {
		j--
	}
	h := lower[i:j]
	if len(h) < 3 || len(h) > 30 || h[0] == '.' || strings.Contains(h, "..") {
		return "", j
	}
	return h, j
}

func extractProfiles(lower string, hits []aliasHit, out []Entity) []Entity {
	n := len(lower)
	hi := 0
	for i := 0; i < n; i++ {
		if i = nextHit(hits, &hi, i, hitProfile); i < 0 {
			break
		}
		c := lower[i]
		if c < 'a' || c > 'z' || i > 0 && (isAlnumByte(lower[i-1]) || lower[i-1] == '.' && !(i >= 4 && lower[i-4:i] == "www.") && !(i >= 2 && lower[i-2:i] == "m.") && !(i >= 4 && lower[i-4:i] == "web.")) {
			continue
		}
		// A link: [www.|m.|web.]facebook.com/…, instagram.com/…, tiktok.com/@…
		matched := false
		for _, h := range socialHosts {
			if lower[i] != h[0] || !strings.HasPrefix(lower[i:], h) || i+len(h) >= n || lower[i+len(h)] != '/' {
				continue
			}
			matched = true
			p := i + len(h) + 1
			var v string
			var e int
			switch h {
			case "facebook.com", "fb.com", "fb.me":
				v, e = facebookPath(lower, p)
			case "instagram.com", "instagr.am":
				if hd, he := readHandle(lower, p); hd != "" && !reservedInstagram[hd] {
					v, e = "instagram:"+hd, he
				}
			case "tiktok.com":
				if p < n && lower[p] == '@' {
					if hd, he := readHandle(lower, p+1); hd != "" {
						v, e = "tiktok:"+hd, he
					}
				}
			}
			s := i
			for _, pre := range []string{"https://www.", "http://www.", "https://m.", "https://web.", "https://", "http://", "www.", "m.", "web."} {
				if s >= len(pre) && lower[s-len(pre):s] == pre {
					s -= len(pre)
					break
				}
			}
			if v != "" {
				out = append(out, Entity{Kind: "profile", Value: v, Start: s, End: e})
				i = e - 1
			}
			break
		}
		if matched {
			continue
		}
		// A handle after a platform word: "IG: @kerja.luar", "tiktok @lokerjp".
		word, we := longestAlias(lower, i, profileIndex)
		if word == "" {
			continue
		}
		j := we
		for j < n && (lower[j] == ' ' || lower[j] == '-') {
			j++
		}
		colon := j < n && lower[j] == ':'
		if colon {
			j++
			for j < n && lower[j] == ' ' {
				j++
			}
		}
		at := j < n && lower[j] == '@'
		if at {
			j++
		}
		if !colon && !at {
			i = we - 1
			continue
		}
		hd, he := readHandle(lower, j)
		if hd == "" || he < n && (lower[he] == '@' || lower[he] == '/') {
			i = we - 1
			continue
		}
		if strings.Contains(hd, ".") && !at {
			// "fb: lowongan.com" is a domain; a dotted handle needs its "@".
			i = we - 1
			continue
		}
		out = append(out, Entity{Kind: "profile", Value: profileWords[word] + ":" + hd, Start: i, End: he})
		i = he - 1
	}
	return out
}

// facebookPath reads what follows "facebook.com/": a profile or page name,
// profile.php?id=N, groups/NAME, or people/NAME/N.
func facebookPath(lower string, p int) (string, int) {
	seg, e := readHandle(lower, p)
	if seg == "" {
		if strings.HasPrefix(lower[p:], "profile.php?id=") {
			d, de := digitRun(lower, p+len("profile.php?id="))
			if len(d) >= 5 && !strings.ContainsAny(lower[p+len("profile.php?id="):de], " -.") {
				return "facebook:id/" + d, de
			}
		}
		return "", 0
	}
	switch {
	case seg == "profile.php":
		if strings.HasPrefix(lower[e:], "?id=") {
			d, de := digitRun(lower, e+4)
			if len(d) >= 5 && !strings.ContainsAny(lower[e+4:de], " -.") {
				return "facebook:id/" + d, de
			}
		}
		return "", 0
	case seg == "groups" && e < len(lower) && lower[e] == '/':
		if g, ge := readHandle(lower, e+1); g != "" {
			return "facebook:groups/" + g, ge
		}
		return "", 0
	case seg == "people" && e < len(lower) && lower[e] == '/':
		_, ne := readHandle(lower, e+1)
		if ne < len(lower) && lower[ne] == '/' {
			if d, de := digitRun(lower, ne+1); len(d) >= 5 {
				return "facebook:id/" + d, de
			}
		}
		return "", 0
	case reservedFacebook[seg]:
		return "", 0
	}
	return "facebook:" + seg, e
}

func extractDomains(lower string, out []Entity) []Entity {
	n := len(lower)
	for i := 0; i < n; i++ {
		c := lower[i]
		if !isAlnumByte(c) || i > 0 && (isAlnumByte(lower[i-1]) || lower[i-1] == '.' || lower[i-1] == '-' || lower[i-1] == '@' || lower[i-1] == '_') {
			continue
		}
		if i > 0 && lower[i-1] == '/' && !(i >= 3 && lower[i-3:i] == "://") {
			continue // a path, not a host
		}
		j := i
		for j < n && (isAlnumByte(lower[j]) || lower[j] == '-' || lower[j] == '.' && j+1 < n && isAlnumByte(lower[j+1])) {
			j++
		}
		host := lower[i:j]
		if j < n && (lower[j] == '@' || lower[j] == '_') || !strings.Contains(host, ".") {
			i = j - 1
			continue
		}
		host = strings.TrimPrefix(host, "www.")
		labels := strings.Split(host, ".")
		tld := labels[len(labels)-1]
		ok := domainTLDs[tld] && len(labels) >= 2
		letters := false
		for _, l := range labels {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				ok = false
			}
			if strings.ContainsAny(l, "abcdefghijklmnopqrstuvwxyz") {
				letters = true
			}
		}
		if len(labels) == 2 && len(labels[0]) < 2 {
			ok = false // "a.id", "t.me"-like short names
		}
		if ok && letters && !notDomains[host] && !strings.HasSuffix(host, ".facebook.com") && !strings.HasSuffix(host, ".tiktok.com") && !strings.HasSuffix(host, ".whatsapp.com") {
			s := i
			for _, pre := range []string{"https://", "http://"} {
				if s >= len(pre) && lower[s-len(pre):s] == pre {
					s -= len(pre)
				}
			}
			out = append(out, Entity{Kind: "domain", Value: host, Start: s, End: j})
		}
		i = j - 1
	}
	return out
}

// LicensedContact reports whether k is a phone or WhatsApp number of an
// active agency in the registry: a hotline that many unrelated ads quote
// (genuinely or to look legitimate), so it must not link them into one
// persona.
func (e *Engine) LicensedContact(k lokerwatch.IndexKey) bool {
	if e == nil || e.registry == nil {
		return false
	}
	if k.Kind != lokerwatch.EntityPhone && k.Kind != lokerwatch.EntityWhatsApp {
		return false
	}
	a, ok := e.registry.phones[k.Value]
	return ok && a.Status == "active"
}
