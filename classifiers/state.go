package classifiers

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/lokerwatch/lokerwatch"
)

// MaxBody bounds the bytes of title + text that are analysed; a hostile
// page cannot make classification slow. Signals only point into this prefix.
const MaxBody = 256 << 10

// Span kinds: entity evidence that built-in facts point at.
const (
	spPhone = iota
	spWhatsApp
	spTelegram
	spEmail
	spFreeEmail
	spForeignPhone
	spPhoneNoPlacement
	spRegistryPhone
	spAge
	spAgency
	spLicence
	spPlace
	spNoPlacement
	spMoratorium
	spHotspot
	spSalary
	spFee
	spQuote
	spForeignMoney
	numSpanKinds
)

// Built-in facts set on every run, by index into Engine.bid.
const (
	bAgency = iota
	bAgencyRegistered
	bAgencyUnregistered
	bCountries
	bDestMoratorium
	bDestNoPlacement
	bFeeIdr
	bForeignPhone
	bFreeEmail
	bHasEmail
	bHasPhone
	bHasTelegram
	bHasWhatsapp
	bHotspot
	bLang
	bLicence
	bLicenceRegistered
	bLicenceUnregistered
	bMinAge
	bOverseas
	bPhoneNoPlacement
	bPhones
	bRegistry
	bRegistryPhoneMatch
	bRegistryPhoneMismatch
	bSalaryHigh
	bSalaryIdr
	bSalaryRatio
	bSocialSource
	bSource
	bSourceType
	bTextLen
	bUnderAge
	bQuotedBlock
	bAbroadImplied
	bForeignCurrency
	numBuiltins
)

var builtinOrder = [numBuiltins]string{"agency", "agency_registered", "agency_unregistered", "countries", "dest_moratorium", "dest_no_placement", "fee_idr", "foreign_phone", "free_email", "has_email", "has_phone", "has_telegram", "has_whatsapp", "hotspot", "lang", "licence", "licence_registered", "licence_unregistered", "min_age", "overseas", "phone_no_placement", "phones", "registry", "registry_phone_match", "registry_phone_mismatch", "salary_high", "salary_idr", "salary_ratio", "social_source", "source", "source_type", "text_len", "under_age", "quoted_block", "abroad_implied", "foreign_currency"}

// state is the per-call scratch, pooled.
type state struct {
	e     *Engine
	nt    Normalized
	hits  []Hit
	ms    matchScratch
	ents  []Entity
	heads []span // licence words
	money []Money
	env   map[string]any
	vm    vm.VM
	// cue index -> first hit index (+1); 0 = no hit
	cueHits  []int32
	cueCount []int32
	spans    [numSpanKinds][]span
	truthy   []bool              // fact id -> set to a non-zero value in this run
	nums     []int               // fact id -> its value, for int facts set in this run (cond)
	envTrue  []bool              // fact id -> the env holds true for it now (skip rewriting it)
	order    []int32             // rule outcomes in rule order: rule index (fired) or -(k+1) for failed[k]
	failed   []lokerwatch.Signal // "rule failed" signals of this run
	fired    []int32             // rule indexes that fired in this run
	strBox   map[string]any      // boxed string facts seen before (setString)
	dirty    []int               // fact ids set in this run
	stale    []int               // fact ids set in the previous run: zeroed unless set again

	tf       []textFeat          // hashed n-grams of the text (text model)
	seen     featSet             // scratch for textFeatures and textScore
	words    wordCache           // letter-group weights by word (textScore)
	sigs     []lokerwatch.Signal // scratch: an ad's signals before ordering
	sigKeys  []uint64            // scratch: their sort keys
	wantText bool                // compute tf even without a model (training)
}

func (e *Engine) newState() *state {
	st := &state{e: e, env: make(map[string]any, len(e.factKinds))}
	for k, v := range e.factKinds {
		st.env[k] = v
	}
	st.cueHits = make([]int32, len(e.lex.cues))
	st.cueCount = make([]int32, len(e.lex.cues))
	st.truthy = make([]bool, len(e.factNames))
	st.nums = make([]int, len(e.factNames))
	st.envTrue = make([]bool, len(e.factNames))
	return st
}

func (st *state) reset() {
	st.hits = st.hits[:0]
	st.ents = st.ents[:0]
	st.money = st.money[:0]
	st.order = st.order[:0]
	clear(st.failed)
	st.failed = st.failed[:0]
	st.fired = st.fired[:0]
	clear(st.cueHits)
	clear(st.cueCount)
	for k := range st.spans {
		st.spans[k] = st.spans[k][:0]
	}
	// The facts of the previous run stay in the env until the facts of this
	// run are known (clearStale): most are set again, and a map write is
	// the cost here.
	for _, id := range st.dirty {
		st.truthy[id] = false
	}
	st.stale, st.dirty = st.dirty, st.stale[:0]
}

// clearStale puts the facts of the previous run that this run did not set
// back to their zero value.
func (st *state) clearStale() {
	for _, id := range st.stale {
		if !st.truthy[id] && st.e.factUsed[id] {
			st.env[st.e.factNames[id]] = st.e.factZero[id]
			st.envTrue[id] = false
		}
	}
	st.stale = st.stale[:0]
}

// set records a fact; zero values are the default and are not written.
func (st *state) set(id int, v any) {
	switch x := v.(type) {
	case bool:
		if !x {
			return
		}
	case int:
		if x == 0 {
			return
		}
		st.nums[id] = x // read only while truthy[id]
	case float64:
		if x == 0 {
			return
		}
	case string:
		if x == "" {
			return
		}
	case []string:
		if len(x) == 0 {
			return
		}
	}
	if st.e.factUsed[id] {
		// Boolean facts are only ever set to true: when the previous ad
		// left true in the env, the map write can be skipped.
		if _, isBool := v.(bool); !isBool || !st.envTrue[id] {
			st.env[st.e.factNames[id]] = v
			st.envTrue[id] = isBool
		}
	}
	if !st.truthy[id] {
		st.truthy[id] = true
		st.dirty = append(st.dirty, id)
	}
}

// maxStrBox bounds the boxed strings a state keeps: source names and
// languages repeat, but a hostile feed could send endless distinct ones.
const maxStrBox = 256

// setString is set for strings, reusing the boxed value of an earlier ad
// when the string is the same (lang, source and source type repeat), so it
// does not allocate.
func (st *state) setString(id int, v string) {
	if v == "" {
		return
	}
	if !st.e.factUsed[id] {
		st.set(id, true) // only truthiness matters; nothing reads the value
		return
	}
	b, ok := st.strBox[v]
	if !ok {
		b = v
		if len(st.strBox) < maxStrBox {
			if st.strBox == nil {
				st.strBox = make(map[string]any)
			}
			st.strBox[v] = b
		}
	}
	st.set(id, b)
}

func (st *state) addSpan(kind int, s, e int) {
	st.spans[kind] = append(st.spans[kind], span{s: s, e: e, bounded: true})
}

func (st *state) run(ad *lokerwatch.Ad) {
	e := st.e
	st.reset()
	body := ad.Body()
	if len(body) > MaxBody {
		body = body[:MaxBody]
	}
	normalizeInto(&st.nt, body, e.lex.protect, e.lex.vocab)
	text := st.nt.Text

	// Keywords.
	st.hits = e.lex.Match(text, st.hits, &st.ms)
	for i, h := range st.hits {
		c := h.Cue
		if h.Negated {
			c = e.lex.cues[h.Cue].negatedIdx
			if c < 0 {
				st.hits[i].Cue = -1 // dropped
				continue
			}
			st.hits[i].Cue = c
		}
		if st.cueHits[c] == 0 || int(st.hits[st.cueHits[c]-1].Start) > h.Start {
			st.cueHits[c] = int32(i + 1)
		}
		st.cueCount[c]++
	}

	// Entities.
	st.ents = e.extractPhones(text, st.cueHits[e.trig[0]] > 0, st.ents)
	st.ents = e.extractLinks(&st.nt, st.cueHits[e.trig[1]] > 0, st.ents)
	st.ents = extractAges(text, st.ents)
	if st.cueHits[e.trig[2]] > 0 {
		st.heads = st.heads[:0]
		for _, h := range st.hits {
			if h.Cue == e.trig[2] {
				st.heads = append(st.heads, span{s: h.Start, e: h.End})
			}
		}
		st.ents = extractLicences(text, st.heads, st.ents)
	}
	if strings.Contains(body, "PT") {
		st.ents = extractAgencies(&st.nt, st.ents)
	}
	st.money = e.cur.extractMoney(text, st.money)
	if hasWordMultiplier(text) {
		st.money = e.cur.extractWordMoney(text, st.money)
	}

	ents := &ad.Entities
	*ents = lokerwatch.Entities{}
	minAge := 0
	for _, en := range st.ents {
		switch en.Kind {
		case "phone", "whatsapp":
			wa := en.Kind == "whatsapp" || whatsappBefore(text, en.Start)
			if !contains(ents.Phones, en.Value) {
				ents.Phones = append(ents.Phones, en.Value)
			}
			if wa && !contains(ents.WhatsApp, en.Value) {
				ents.WhatsApp = append(ents.WhatsApp, en.Value)
			}
			st.addSpan(spPhone, en.Start, en.End)
			if wa {
				st.addSpan(spWhatsApp, en.Start, en.End)
			}
			if en.Country != "" && en.Country != "ID" {
				st.addSpan(spForeignPhone, en.Start, en.End)
				if c := e.byRegion[en.Country]; c != nil && !c.placement {
					st.addSpan(spPhoneNoPlacement, en.Start, en.End)
				}
			}
			if e.registry != nil {
				if _, ok := e.registry.phones[en.Value]; ok {
					st.addSpan(spRegistryPhone, en.Start, en.End)
				}
			}
		case "telegram":
			if !contains(ents.Telegram, en.Value) {
				ents.Telegram = append(ents.Telegram, en.Value)
			}
			st.addSpan(spTelegram, en.Start, en.End)
		case "email":
			if !contains(ents.Emails, en.Value) {
				ents.Emails = append(ents.Emails, en.Value)
			}
			st.addSpan(spEmail, en.Start, en.End)
			if isFreeMail(en.Value) {
				st.addSpan(spFreeEmail, en.Start, en.End)
			}
		case "age":
			if minAge == 0 || en.Num < minAge {
				minAge = en.Num
			}
			st.addSpan(spAge, en.Start, en.End)
		case "agency":
			if !contains(ents.Agencies, en.Value) {
				ents.Agencies = append(ents.Agencies, en.Value)
			}
			st.addSpan(spAgency, en.Start, en.End)
		case "licence":
			os, oe := st.nt.Span(en.Start, en.End)
			lic := strings.TrimSpace(body[os:oe])
			if !contains(ents.Licences, lic) {
				ents.Licences = append(ents.Licences, lic)
			}
			st.addSpan(spLicence, en.Start, en.End)
		}
	}

	// Places.
	overseas := false
	var countries []string
	maxWage := 0.0
	nc := 0 // countries named, to allocate the list once
	for i := range e.countries {
		c := &e.countries[i]
		if c.code != "ID" && (st.cueHits[c.cue] > 0 || c.hotspotCue >= 0 && st.cueHits[c.hotspotCue] > 0) {
			nc++
		}
	}
	if nc > 0 {
		countries = make([]string, 0, nc)
	}
	for i := range e.countries {
		c := &e.countries[i]
		h := st.cueHits[c.cue]
		hot := c.hotspotCue >= 0 && st.cueHits[c.hotspotCue] > 0
		if h == 0 && !hot {
			continue
		}
		if c.code == "ID" {
			continue
		}
		overseas = true
		countries = append(countries, c.code)
		if c.wageIDR > maxWage {
			maxWage = c.wageIDR
		}
		first := h
		if first == 0 {
			first = st.cueHits[c.hotspotCue]
		}
		hs := st.hits[first-1]
		st.addSpan(spPlace, hs.Start, hs.End)
		if !c.placement {
			st.addSpan(spNoPlacement, hs.Start, hs.End)
		}
		if c.moratorium {
			st.addSpan(spMoratorium, hs.Start, hs.End)
		}
		if hot {
			hh := st.hits[st.cueHits[c.hotspotCue]-1]
			st.addSpan(spHotspot, hh.Start, hh.End)
		}
	}
	sort.Strings(countries)
	ents.Countries = countries
	if e.abroadCue >= 0 && st.cueHits[e.abroadCue] > 0 {
		overseas = true
	}
	for i := range e.countries {
		c := &e.countries[i]
		if c.hotspotCue >= 0 && st.cueHits[c.hotspotCue] > 0 {
			hh := st.hits[st.cueHits[c.hotspotCue]-1]
			ents.Places = appendUnique(ents.Places, st.nt.Original(hh.Start, hh.End))
		}
	}

	// Money: the highest wage, the highest up-front fee.
	var salary, fee float64
	for _, m := range st.money {
		switch m.Kind {
		case "salary":
			if m.IDR > salary {
				salary = m.IDR
				st.spans[spSalary] = append(st.spans[spSalary][:0], span{m.Start, m.End, true})
			}
		case "fee":
			if m.IDR > fee {
				fee = m.IDR
				st.spans[spFee] = append(st.spans[spFee][:0], span{m.Start, m.End, true})
			}
		}
	}
	ents.SalaryIDR = int64(salary)
	ratio := 0.0
	if salary > 0 {
		w := maxWage
		if w == 0 {
			w = e.settings.DefaultWageIDR
		}
		ratio = salary / w
	}

	// Registry.
	if reg := e.registry; reg != nil {
		st.set(e.bid[bRegistry], true)
		var named []*Agency
		for _, a := range ents.Agencies {
			if ag, ok := reg.byName[agencyKey(a)]; ok && ag.Status == "active" {
				named = append(named, ag)
				st.set(e.bid[bAgencyRegistered], true)
			} else {
				st.set(e.bid[bAgencyUnregistered], true)
			}
		}
		for _, l := range ents.Licences {
			if ag, ok := reg.byLicence[licenceKey(l)]; ok && ag.Status == "active" {
				st.set(e.bid[bLicenceRegistered], true)
				named = append(named, ag)
			} else {
				st.set(e.bid[bLicenceUnregistered], true)
			}
		}
		if len(named) > 0 && len(ents.Phones) > 0 {
			match := false
			for _, p := range ents.Phones {
				if ag, ok := reg.phones[p]; ok {
					for _, n := range named {
						if n == ag {
							match = true
						}
					}
				}
			}
			st.set(e.bid[bRegistryPhoneMatch], match)
			st.set(e.bid[bRegistryPhoneMismatch], !match)
		}
	}

	// Language.
	lang := ad.Lang
	if lang == "" {
		lang = st.detectLang()
		ad.Lang = lang
	}

	// Facts.
	for i, id := range e.cueFactID {
		if id >= 0 && st.cueHits[i] > 0 {
			st.set(id, true)
			if n := e.cueCountID[i]; n >= 0 {
				st.set(n, st.distinctTerms(i))
			}
		}
	}
	st.setString(e.bid[bLang], lang)
	st.setString(e.bid[bSource], ad.Source)
	stype := string(ad.SourceType)
	if stype == "" {
		stype = ad.Source
	}
	st.setString(e.bid[bSourceType], stype)
	switch strings.ToLower(stype) {
	case "telegram", "facebook", "forum", "html", "social", "instagram", "tiktok", "whatsapp", "classified":
		st.set(e.bid[bSocialSource], true)
	}
	st.set(e.bid[bTextLen], len(body))
	st.set(e.bid[bPhones], len(ents.Phones))
	st.set(e.bid[bHasPhone], len(ents.Phones) > 0)
	st.set(e.bid[bHasWhatsapp], len(ents.WhatsApp) > 0)
	st.set(e.bid[bHasTelegram], len(ents.Telegram) > 0)
	st.set(e.bid[bHasEmail], len(ents.Emails) > 0)
	st.set(e.bid[bFreeEmail], len(st.spans[spFreeEmail]) > 0)
	st.set(e.bid[bForeignPhone], len(st.spans[spForeignPhone]) > 0)
	st.set(e.bid[bPhoneNoPlacement], len(st.spans[spPhoneNoPlacement]) > 0)
	st.set(e.bid[bCountries], countries)
	st.set(e.bid[bOverseas], overseas)
	st.set(e.bid[bDestNoPlacement], len(st.spans[spNoPlacement]) > 0)
	st.set(e.bid[bDestMoratorium], len(st.spans[spMoratorium]) > 0)
	st.set(e.bid[bHotspot], len(st.spans[spHotspot]) > 0)
	st.set(e.bid[bSalaryIdr], int(salary))
	st.set(e.bid[bSalaryRatio], ratio)
	st.set(e.bid[bSalaryHigh], ratio >= e.settings.SalaryHighRatio)
	st.set(e.bid[bFeeIdr], int(fee))
	st.set(e.bid[bMinAge], minAge)
	st.set(e.bid[bUnderAge], minAge > 0 && minAge < 18)
	st.set(e.bid[bAgency], len(ents.Agencies) > 0)
	st.set(e.bid[bLicence], len(ents.Licences) > 0)
	foreignCur := false
	for _, m := range st.money {
		if m.Currency != "" && m.Currency != "IDR" {
			foreignCur = true
			st.addSpan(spForeignMoney, m.Start, m.End)
			break
		}
	}
	st.set(e.bid[bForeignCurrency], foreignCur)
	abroadImplied := overseas || foreignCur || len(st.spans[spForeignPhone]) > 0
	for _, c := range e.abroadCues {
		if st.cueHits[c] > 0 {
			abroadImplied = true
			break
		}
	}
	st.set(e.bid[bAbroadImplied], abroadImplied)
	if s, en, ok := quotedBlock(text); ok {
		st.addSpan(spQuote, s, en)
		st.set(e.bid[bQuotedBlock], true)
	}

	st.clearStale()

	// Rules: each risk category adds up the weights of its rules (legitimacy
	// rules of category any subtract from all three), then the sum is put on
	// the 0–100 score scale (scoreOf).
	a := &lokerwatch.Assessment{Categories: make(map[lokerwatch.Category]int, len(lokerwatch.Categories)), Version: e.fullVersion}
	var risk [numRiskCats]int
	notOffer := 0
	for ri := range e.rules {
		r := &e.rules[ri]
		if r.hasNative {
			if !r.native.eval(st) {
				continue
			}
		} else if !st.gateOpen(r) {
			continue
		} else if out, err := st.vm.Run(r.program, st.env); err != nil {
			st.order = append(st.order, -int32(len(st.failed)+1))
			st.failed = append(st.failed, lokerwatch.Signal{Rule: r.id, Description: "rule failed: " + err.Error()})
			continue
		} else if b, _ := out.(bool); !b {
			continue
		}
		st.fired = append(st.fired, int32(ri))
		st.order = append(st.order, int32(ri))
		switch r.cat {
		case catAuto:
			// single indicators weigh only through a model
		case catNotOffer:
			notOffer += r.weight
		case catAny:
			for c := range risk {
				risk[c] += r.weight
			}
		default:
			risk[r.cat] += r.weight
		}
	}
	if st.wantText {
		st.tf = textFeatures(text, st.tf[:0], &st.seen)
	}
	if e.model != nil {
		st.assess(ad, a, body)
		return
	}
	notAnOffer := notOffer >= e.settings.NotOfferThreshold
	best, bestScore, bestRaw := lokerwatch.CategoryNone, 0, 0
	for i, c := range lokerwatch.Categories[:numRiskCats] {
		s := e.scoreOf(risk[i])
		if notAnOffer {
			s = int(float64(s) * e.settings.NotOfferFactor)
		}
		a.Categories[c] = s
		// ties on the score go to the larger sum, then to the first category
		if s > bestScore || s == bestScore && s > 0 && risk[i] > bestRaw {
			best, bestScore, bestRaw = c, s, risk[i]
		}
	}
	// The signals go straight into an exact-size slice: counted first, then
	// written (copying them out of a pooled buffer cost a pointer-laden
	// copy and a clear per ad).
	n := 0
	for _, o := range st.order {
		if o < 0 {
			n++
		} else {
			n += st.evidenceCount(&e.rules[o])
		}
	}
	if notAnOffer {
		n++
	}
	sigs := make([]lokerwatch.Signal, 0, n)
	for _, o := range st.order {
		if o < 0 {
			sigs = append(sigs, st.failed[-o-1])
		} else {
			sigs = st.evidence(sigs, &e.rules[o], body)
		}
	}
	if notAnOffer {
		a.NotAnOffer = true
		sigs = append(sigs, lokerwatch.Signal{
			Rule:        "post.not_an_offer",
			Description: fmt.Sprintf("reads as a warning, news report or victim story rather than a job offer (not-offer score %d): risk scores scaled by %.1f, never flagged", notOffer, e.settings.NotOfferFactor),
		})
	}
	a.Score = bestScore
	a.Flagged = !a.NotAnOffer && bestScore >= e.threshold
	if a.Flagged {
		a.Category = best
	}
	a.Signals = sigs
	ad.Assessment = a
	ad.Fingerprint = SimHash(text)
}

// scoreOf puts a category's sum of rule weights on the 0–100 score scale.
// Up to 50 the score is the sum itself, so the flagging threshold (50 by
// default) means what it always meant and flags exactly the same ads; above
// 50 the score saturates, 100 − 50·e^(−(sum−50)/s) with s the
// score_saturation setting (default 80), so a single strong combination
// lands at 60–80 and only many independent signals come near 100 (the
// score is rounded down and never reaches it). With s = 80: sum 60 → 56,
// 80 → 65, 100 → 73, 150 → 85, 200 → 92, 300 → 97.
func (e *Engine) scoreOf(sum int) int {
	if sum <= 50 {
		return clamp(sum)
	}
	return int(100 - 50*math.Exp(-float64(sum-50)/e.settings.ScoreSaturation))
}

func clamp(v int) int {
	if v < 0 {
		return 0
	}
	if v > 100 {
		return 100
	}
	return v
}

// evidence appends the signals of a fired rule: the first fact with a text
// span carries the weight, further facts are supporting evidence (weight 0).
func (st *state) evidence(sigs []lokerwatch.Signal, r *rule, body string) []lokerwatch.Signal {
	cat := lokerwatch.Category(r.category)
	if r.category == CategoryAny || r.category == CategoryNotOffer {
		cat = lokerwatch.CategoryNone
	}
	return st.evidenceWith(sigs, r, body, cat, r.weight, true)
}

// evidenceWith is evidence with the category and weight given (a model's
// contribution); support adds the further facts as weight-0 signals.
func (st *state) evidenceWith(sigs []lokerwatch.Signal, r *rule, body string, cat lokerwatch.Category, weight int, support bool) []lokerwatch.Signal {
	first := true
	for _, ref := range r.refs {
		sp, ok := st.factSpan(ref)
		if !ok {
			continue
		}
		os, oe := st.nt.Span(sp.s, sp.e)
		sig := lokerwatch.Signal{Rule: r.id, Category: cat, Evidence: body[os:oe], Start: os, End: oe}
		if first {
			sig.Weight = weight
			sig.Description = r.description
			first = false
		} else if !support {
			break
		} else {
			sig.Description = ref.support
		}
		sigs = append(sigs, sig)
	}
	if first {
		sigs = append(sigs, lokerwatch.Signal{Rule: r.id, Category: cat, Weight: weight, Description: r.description})
	}
	return sigs
}

// evidenceCount is the number of signals evidence appends for r.
func (st *state) evidenceCount(r *rule) int {
	n := 0
	for _, ref := range r.refs {
		if _, ok := st.factSpan(ref); ok {
			n++
		}
	}
	return max(n, 1)
}

// gateOpen reports whether any fact the rule needs is set (rules whose
// gate facts are all zero cannot fire and are not run).
func (st *state) gateOpen(r *rule) bool {
	if r.gate == nil {
		return true
	}
	for _, id := range r.gate {
		if st.truthy[id] {
			return true
		}
	}
	return false
}

// factSpan is the first text span that makes a fact true.
func (st *state) factSpan(ref factRef) (span, bool) {
	if !st.truthy[ref.id] {
		return span{}, false
	}
	if ref.cue >= 0 {
		if h := st.cueHits[ref.cue]; h > 0 {
			hit := st.hits[h-1]
			return span{hit.Start, hit.End, true}, true
		}
		return span{}, false
	}
	for _, k := range ref.spans {
		if s := st.spans[k]; len(s) > 0 {
			return s[0], true
		}
	}
	return span{}, false
}

// distinctTerms counts the different terms (as written) that hit a cue.
func (st *state) distinctTerms(cue int) int {
	var seen []string
	for _, h := range st.hits {
		if h.Cue != cue {
			continue
		}
		t := st.e.lex.phrases[h.Phrase].term
		if !contains(seen, t) {
			seen = append(seen, t)
		}
	}
	return len(seen)
}

// detectLang counts Indonesian and English function words.
func (st *state) detectLang() string {
	id, en := 0, 0
	if st.e.langID >= 0 {
		id = int(st.cueCount[st.e.langID])
	}
	if st.e.langEN >= 0 {
		en = int(st.cueCount[st.e.langEN])
	}
	switch {
	case id == 0 && en == 0:
		return ""
	case en == 0 || id >= 4*en && en <= 1:
		return "id"
	case id == 0 || en >= 4*id && id <= 1:
		return "en"
	default:
		return "mixed"
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func appendUnique(list []string, v string) []string {
	if contains(list, v) {
		return list
	}
	return append(list, v)
}

// minQuote is the shortest quoted passage that counts as a quoted ad.
const minQuote = 60

// quotedBlock finds the first passage of at least minQuote bytes between
// quotation marks: warnings and news often quote the ad they warn about in
// full. The normaliser folds curly quotes and guillemets to '"'.
func quotedBlock(text []byte) (int, int, bool) {
	for off := 0; ; {
		i := bytes.IndexByte(text[off:], '"')
		if i < 0 {
			return 0, 0, false
		}
		open := off + i
		j := bytes.IndexByte(text[open+1:], '"')
		if j < 0 {
			return 0, 0, false
		}
		end := open + 1 + j
		if end-open-1 >= minQuote {
			return open, end + 1, true
		}
		off = end + 1
	}
}

// hasWordMultiplier is a cheap test for text that may hold an amount in
// words (they all end in a multiplier).
func hasWordMultiplier(text []byte) bool {
	return bytes.Contains(text, []byte("juta")) || bytes.Contains(text, []byte("jt")) || bytes.Contains(text, []byte("ribu")) ||
		bytes.Contains(text, []byte("million")) || bytes.Contains(text, []byte("thousand"))
}
