package classifiers

import (
	"fmt"
	"sort"
	"strings"

	"github.com/expr-lang/expr/vm"

	"github.com/lokerwatch/lokerwatch"
)

// MaxBody bounds the bytes of title + text that are analysed; a hostile
// page cannot make classification slow. Signals only point into this prefix.
const MaxBody = 256 << 10

// state is the per-call scratch, pooled.
type state struct {
	e     *Engine
	nt    Normalized
	hits  []Hit
	ms    matchScratch
	ents  []Entity
	money []Money
	env   map[string]any
	vm    vm.VM
	// cue index -> first hit index (+1); 0 = no hit
	cueHits  []int32
	cueCount []int32
	spans    map[string][]span
}

func (e *Engine) newState() *state {
	st := &state{e: e, env: make(map[string]any, len(e.factKinds)), spans: map[string][]span{}}
	st.cueHits = make([]int32, len(e.lex.cues))
	st.cueCount = make([]int32, len(e.lex.cues))
	return st
}

func (st *state) reset() {
	st.hits = st.hits[:0]
	st.ents = st.ents[:0]
	st.money = st.money[:0]
	for i := range st.cueHits {
		st.cueHits[i] = 0
		st.cueCount[i] = 0
	}
	for k, v := range st.spans {
		st.spans[k] = v[:0]
	}
	for k, v := range st.e.factKinds {
		st.env[k] = v
	}
}

func (st *state) addSpan(kind string, s, e int) {
	st.spans[kind] = append(st.spans[kind], span{s: s, e: e, bounded: true})
}

func (st *state) run(ad *lokerwatch.Ad) {
	e := st.e
	st.reset()
	body := ad.Body()
	if len(body) > MaxBody {
		body = body[:MaxBody]
	}
	normalizeInto(&st.nt, body, e.lex.protect)
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
	st.ents = e.extractPhones(text, st.ents)
	st.ents = e.extractLinks(&st.nt, st.ents)
	st.ents = extractAges(text, st.ents)
	st.ents = extractLicences(text, st.ents)
	if strings.Contains(body, "PT") {
		st.ents = extractAgencies(&st.nt, st.ents)
	}
	st.money = e.cur.extractMoney(text, st.money)

	ents := &ad.Entities
	*ents = lokerwatch.Entities{}
	env := st.env
	phoneSet := map[string]bool{}
	minAge := 0
	for _, en := range st.ents {
		switch en.Kind {
		case "phone", "whatsapp":
			wa := en.Kind == "whatsapp" || whatsappBefore(text, en.Start)
			if !phoneSet[en.Value] {
				phoneSet[en.Value] = true
				ents.Phones = append(ents.Phones, en.Value)
			}
			if wa && !contains(ents.WhatsApp, en.Value) {
				ents.WhatsApp = append(ents.WhatsApp, en.Value)
			}
			st.addSpan("phone", en.Start, en.End)
			if wa {
				st.addSpan("whatsapp", en.Start, en.End)
			}
			if en.Country != "" && en.Country != "ID" {
				st.addSpan("foreign_phone", en.Start, en.End)
				if c := e.byRegion[en.Country]; c != nil && !c.placement {
					st.addSpan("phone_no_placement", en.Start, en.End)
				}
			}
			if e.registry != nil {
				if _, ok := e.registry.phones[en.Value]; ok {
					st.addSpan("registry_phone", en.Start, en.End)
				}
			}
		case "telegram":
			if !contains(ents.Telegram, en.Value) {
				ents.Telegram = append(ents.Telegram, en.Value)
			}
			st.addSpan("telegram", en.Start, en.End)
		case "email":
			if !contains(ents.Emails, en.Value) {
				ents.Emails = append(ents.Emails, en.Value)
			}
			st.addSpan("email", en.Start, en.End)
			if isFreeMail(en.Value) {
				st.addSpan("free_email", en.Start, en.End)
			}
		case "age":
			if minAge == 0 || en.Num < minAge {
				minAge = en.Num
			}
			st.addSpan("age", en.Start, en.End)
		case "agency":
			if !contains(ents.Agencies, en.Value) {
				ents.Agencies = append(ents.Agencies, en.Value)
			}
			st.addSpan("agency", en.Start, en.End)
		case "licence":
			os, oe := st.nt.Span(en.Start, en.End)
			lic := strings.TrimSpace(body[os:oe])
			if !contains(ents.Licences, lic) {
				ents.Licences = append(ents.Licences, lic)
			}
			st.addSpan("licence", en.Start, en.End)
		}
	}

	// Places.
	overseas := false
	var countries []string
	maxWage := 0.0
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
		st.addSpan("place", hs.Start, hs.End)
		if !c.placement {
			st.addSpan("no_placement", hs.Start, hs.End)
		}
		if c.moratorium {
			st.addSpan("moratorium", hs.Start, hs.End)
		}
		if hot {
			hh := st.hits[st.cueHits[c.hotspotCue]-1]
			st.addSpan("hotspot", hh.Start, hh.End)
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
				st.spans["salary"] = append(st.spans["salary"][:0], span{m.Start, m.End, true})
			}
		case "fee":
			if m.IDR > fee {
				fee = m.IDR
				st.spans["fee"] = append(st.spans["fee"][:0], span{m.Start, m.End, true})
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
		env["registry"] = true
		var named []*Agency
		for _, a := range ents.Agencies {
			if ag, ok := reg.byName[agencyKey(a)]; ok && ag.Status == "active" {
				named = append(named, ag)
				env["agency_registered"] = true
			} else {
				env["agency_unregistered"] = true
			}
		}
		for _, l := range ents.Licences {
			if ag, ok := reg.byLicence[licenceKey(l)]; ok && ag.Status == "active" {
				env["licence_registered"] = true
				named = append(named, ag)
			} else {
				env["licence_unregistered"] = true
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
			env["registry_phone_match"] = match
			env["registry_phone_mismatch"] = !match
		}
	}

	// Language.
	lang := ad.Lang
	if lang == "" {
		lang = st.detectLang()
		ad.Lang = lang
	}

	// Facts.
	for i, ok := range e.cueFact {
		if ok && st.cueHits[i] > 0 {
			c := &e.lex.cues[i]
			env[c.name] = true
			if c.count {
				env[c.name+"_n"] = st.distinctTerms(i)
			}
		}
	}
	env["lang"] = lang
	env["source"] = ad.Source
	stype := string(ad.SourceType)
	if stype == "" {
		stype = ad.Source
	}
	env["source_type"] = stype
	switch strings.ToLower(stype) {
	case "telegram", "facebook", "forum", "html", "social", "instagram", "tiktok", "whatsapp", "classified":
		env["social_source"] = true
	}
	env["text_len"] = len(body)
	env["phones"] = len(ents.Phones)
	env["has_phone"] = len(ents.Phones) > 0
	env["has_whatsapp"] = len(ents.WhatsApp) > 0
	env["has_telegram"] = len(ents.Telegram) > 0
	env["has_email"] = len(ents.Emails) > 0
	env["free_email"] = len(st.spans["free_email"]) > 0
	env["foreign_phone"] = len(st.spans["foreign_phone"]) > 0
	env["phone_no_placement"] = len(st.spans["phone_no_placement"]) > 0
	if countries == nil {
		countries = []string{}
	}
	env["countries"] = countries
	env["overseas"] = overseas
	env["dest_no_placement"] = len(st.spans["no_placement"]) > 0
	env["dest_moratorium"] = len(st.spans["moratorium"]) > 0
	env["hotspot"] = len(st.spans["hotspot"]) > 0
	env["salary_idr"] = int(salary)
	env["salary_ratio"] = ratio
	env["salary_high"] = ratio >= e.settings.SalaryHighRatio
	env["fee_idr"] = int(fee)
	env["min_age"] = minAge
	env["under_age"] = minAge > 0 && minAge < 18
	env["agency"] = len(ents.Agencies) > 0
	env["licence"] = len(ents.Licences) > 0

	// Rules.
	a := &lokerwatch.Assessment{Categories: map[lokerwatch.Category]int{}, Version: e.version}
	risk := map[string]int{}
	notOffer := 0
	for ri := range e.rules {
		r := &e.rules[ri]
		out, err := st.vm.Run(r.program, env)
		if err != nil {
			a.Signals = append(a.Signals, lokerwatch.Signal{Rule: r.id, Description: "rule failed: " + err.Error()})
			continue
		}
		if b, _ := out.(bool); !b {
			continue
		}
		switch r.category {
		case CategoryNotOffer:
			notOffer += r.weight
		case CategoryAny:
			for _, c := range lokerwatch.Categories {
				risk[string(c)] += r.weight
			}
		default:
			risk[r.category] += r.weight
		}
		a.Signals = st.evidence(a.Signals, r, body)
	}
	best, bestScore := lokerwatch.CategoryNone, 0
	for _, c := range lokerwatch.Categories {
		s := clamp(risk[string(c)])
		a.Categories[c] = s
		if s > bestScore {
			best, bestScore = c, s
		}
	}
	if notOffer >= e.settings.NotOfferThreshold {
		a.NotAnOffer = true
		bestScore = 0
		best = lokerwatch.CategoryNone
		for _, c := range lokerwatch.Categories {
			s := int(float64(a.Categories[c]) * e.settings.NotOfferFactor)
			a.Categories[c] = s
			if s > bestScore {
				best, bestScore = c, s
			}
		}
		a.Signals = append(a.Signals, lokerwatch.Signal{
			Rule:        "post.not_an_offer",
			Description: fmt.Sprintf("reads as a warning, news report or victim story rather than a job offer (not-offer score %d): risk scores scaled by %.1f, never flagged", notOffer, e.settings.NotOfferFactor),
		})
	}
	a.Score = bestScore
	a.Flagged = !a.NotAnOffer && bestScore >= e.threshold
	if a.Flagged {
		a.Category = best
	}
	if a.Signals == nil {
		a.Signals = []lokerwatch.Signal{}
	}
	ad.Assessment = a
	ad.Fingerprint = SimHash(text)
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
	first := true
	for _, ref := range r.refs {
		sp, ok := st.factSpan(ref)
		if !ok {
			continue
		}
		os, oe := st.nt.Span(sp.s, sp.e)
		sig := lokerwatch.Signal{Rule: r.id, Category: cat, Evidence: body[os:oe], Start: os, End: oe}
		if first {
			sig.Weight = r.weight
			sig.Description = r.description
			first = false
		} else {
			sig.Description = "supporting evidence (" + ref + ")"
		}
		sigs = append(sigs, sig)
	}
	if first {
		sigs = append(sigs, lokerwatch.Signal{Rule: r.id, Category: cat, Weight: r.weight, Description: r.description})
	}
	return sigs
}

// factSpan is the first text span that makes a fact true.
func (st *state) factSpan(name string) (span, bool) {
	v := st.env[name]
	switch x := v.(type) {
	case bool:
		if !x {
			return span{}, false
		}
	case int:
		if x == 0 {
			return span{}, false
		}
	case float64:
		if x == 0 {
			return span{}, false
		}
	case []string:
		if len(x) == 0 {
			return span{}, false
		}
	default:
		return span{}, false
	}
	if i, ok := st.e.lex.cueIdx[name]; ok && st.e.cueFact[i] {
		if h := st.cueHits[i]; h > 0 {
			hit := st.hits[h-1]
			return span{hit.Start, hit.End, true}, true
		}
		return span{}, false
	}
	for _, k := range factSpanKinds[name] {
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
