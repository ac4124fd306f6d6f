// Package classifiers scores overseas job ads for online-scam compound
// recruitment, non-procedural placement and trafficking risk, and explains
// every score. The pipeline: normalise the text (with a map back to the
// original bytes), match every lexicon phrase with one Aho-Corasick
// automaton, extract entities (phones, WhatsApp, Telegram, e-mail, money,
// places, agencies, licences, ages), turn all of it into named facts, and
// evaluate YAML rules (conditions in expr-lang) over the facts. Lexicons,
// places, currencies and rules are plain YAML: embedded defaults plus a
// directory given in the config.
package classifiers

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
)

//go:embed defaults/*.yaml
var embeddedRules embed.FS

// Options configure an Engine.
type Options struct {
	Threshold int                // flag at or above; default 50
	RulesDir  string             // extra rule/lexicon YAML files (config classify.rules), "" = embedded only
	Registry  string             // licensed agencies file (YAML or CSV), "" = none
	Rates     map[string]float64 // currency -> IDR overrides
	// Registerer receives the engine's metrics (deploy/METRICS.md); nil
	// means no metrics and no cost.
	Registerer prometheus.Registerer
	// ModelFile is a model written by `lokerwatch train` (config
	// classify.model); "" = the embedded default model.
	ModelFile string
	// Model, when set, is used instead of ModelFile (cross-validation).
	Model *Model
	// RulesOnly scores with the rules' YAML weights and no model (the
	// rule-sum scoring of earlier releases; training reads rules this way).
	RulesOnly bool
}

// CategoryNotOffer and CategoryAny are rule categories beside the three risk
// categories: not_offer rules add to the "this post is not a job offer"
// score (warnings, news, victim stories); any rules (legitimacy signals,
// usually negative) apply to every risk category.
const (
	CategoryNotOffer = "not_offer"
	CategoryAny      = "any"
)

// DefaultThreshold is the score at or above which an ad is flagged.
const DefaultThreshold = 50

// Rule categories as indexes: 0 … numRiskCats-1 follow
// lokerwatch.Categories; any and not_offer are negative.
const (
	numRiskCats = 3
	catAny      = -1
	catNotOffer = -2
	catAuto     = -3 // a generated single-indicator rule: weighs only through a model
)

type rule struct {
	id          string
	category    string
	cat         int // index of category (see numRiskCats)
	weight      int
	description string
	descID      string // description in Indonesian ("" when the file gives none)
	when        string
	program     *vm.Program
	refs        []factRef // facts the condition names, in order (evidence)
	gate        []int     // fact ids: the rule cannot fire unless one is set; nil = always run
	where       string    // file:line
	// native is the condition compiled for evaluation without the VM
	// (cond.go), when it has that shape.
	native    cond
	hasNative bool
}

// factRef says where the evidence for a fact is: a cue's first hit or an
// entity span kind.
type factRef struct {
	id      int
	cue     int // -1 when not a cue
	spans   []int
	support string // description of a supporting-evidence signal
}

type country struct {
	code       string
	placement  bool
	moratorium bool
	wageIDR    float64
	phone      string
	cue        int // index of the country: cue
	hotspotCue int // index of the hotspot: cue, -1 when none
}

// Engine classifies ads. It is safe for concurrent use.
type Engine struct {
	threshold  int
	lex        *Lexicon
	rules      []rule
	countries  []country
	byRegion   map[string]*country
	cur        currencyIndex
	registry   *Registry
	factNames  []string       // every fact a rule may name, sorted; index = fact id
	factKinds  map[string]any // fact -> zero value (type)
	factZero   []any          // fact id -> zero value
	factID     map[string]int
	factUsed   []bool // fact id -> some condition run on the VM names it (only those go into the expr env)
	cueFactID  []int  // cue index -> fact id, -1 for internal cues
	cueCountID []int  // cue index -> fact id of <cue>_n, -1 when none
	bid        [numBuiltins]int
	trig       [3]int // cue indexes of trigSpelled, trigLink, trigLicence
	langID     int    // cue index of Indonesian function words, -1 when none
	langEN     int
	abroadCue  int
	abroadCues []int // cues that imply work abroad (abroad_implied)
	version    string
	// fullVersion is version+"+"+model version (what assessments record).
	fullVersion string
	settings    settingsDoc

	foreignCodes []string
	phoneMu      sync.RWMutex
	phoneCache   map[string]phoneResult

	pool    sync.Pool
	metrics *metrics // nil without Options.Registerer
	model   *boundModel
}

// Version names the classifier: the rule set (a digest of every rule and
// lexicon file) and, after a "+", the model version.
func (e *Engine) Version() string { return e.fullVersion }

// withoutTranslations drops the description_id fields (and their
// continuation lines) from a rule file before it is hashed into the rules
// version: a translation changes no score, so it must not make the rule
// set, and the model trained on it, look new.
func withoutTranslations(data []byte) []byte {
	if !bytes.Contains(data, []byte("description_id:")) {
		return data
	}
	var out []byte
	skip := -1 // indentation of the description_id being dropped
	for line := range bytes.Lines(data) {
		body := bytes.TrimLeft(line, " \t")
		indent := len(line) - len(body)
		if len(bytes.TrimSpace(line)) == 0 {
			out = append(out, line...)
			continue
		}
		if skip >= 0 && indent > skip {
			continue
		}
		skip = -1
		if bytes.HasPrefix(body, []byte("description_id:")) {
			skip = indent
			continue
		}
		out = append(out, line...)
	}
	return out
}

// RuleDescription is a rule's description for an analyst reading lang:
// "id" gives the Indonesian one when the rule file has it (description_id),
// anything else the English one; "" for a rule the engine does not have.
func (e *Engine) RuleDescription(id, lang string) string {
	for i := range e.rules {
		if r := &e.rules[i]; r.id == id {
			if lang == "id" && r.descID != "" {
				return r.descID
			}
			return r.description
		}
	}
	return ""
}

// RulesVersion names the rule set alone.
func (e *Engine) RulesVersion() string { return e.version }

// Threshold is the flagging threshold in force.
func (e *Engine) Threshold() int { return e.threshold }

// New loads the embedded rule files, then those of opt.RulesDir, compiles
// every rule condition (an unknown fact is a load error naming the file and
// line) and reads the registry.
func New(opt Options) (*Engine, error) {
	files, err := readRuleFiles(embeddedRules, opt.RulesDir)
	if err != nil {
		return nil, err
	}
	return newFromFiles(opt, files)
}

func newFromFiles(opt Options, files []namedFile) (*Engine, error) {
	e := &Engine{
		threshold:  opt.Threshold,
		byRegion:   map[string]*country{},
		phoneCache: map[string]phoneResult{},
		settings:   settingsDoc{NotOfferThreshold: 50, NotOfferFactor: 0.4, SalaryHighRatio: 2.5, DefaultWageIDR: 7e6, ScoreSaturation: 80},
	}
	if e.threshold <= 0 {
		e.threshold = DefaultThreshold
	}
	h := sha256.New()
	var (
		cues     []cue
		cueIdx   = map[string]int{}
		negators []string
		protect  []string
		rules    []ruleDoc
		ruleAt   = map[string]int{}
		ctrys    []countryDoc
		currs    []currencyDoc
	)
	addTerms := func(name, file string, line int, desc, descID string, terms map[string][]string) int {
		i, ok := cueIdx[name]
		if !ok {
			i = len(cues)
			cueIdx[name] = i
			cues = append(cues, cue{name: name, description: desc, descID: descID, where: fmt.Sprintf("%s:%d", file, line), file: file, line: line})
		}
		if cues[i].descID == "" {
			cues[i].descID = descID
		}
		langs := make([]string, 0, len(terms))
		for l := range terms {
			langs = append(langs, l)
		}
		sort.Strings(langs)
		for _, l := range langs {
			for _, t := range terms[l] {
				cues[i].terms = append(cues[i].terms, l+"\x00"+t)
			}
		}
		if cues[i].description == "" {
			cues[i].description = desc
		}
		return i
	}
	for _, f := range files {
		h.Write([]byte(f.name))
		h.Write(withoutTranslations(f.data))
		doc, err := parseFile(f.name, f.data)
		if err != nil {
			return nil, err
		}
		negators = append(negators, doc.Negators...)
		protect = append(protect, doc.Protect...)
		if s := doc.Settings; s != nil {
			if s.NotOfferThreshold > 0 {
				e.settings.NotOfferThreshold = s.NotOfferThreshold
			}
			if s.NotOfferFactor > 0 {
				e.settings.NotOfferFactor = s.NotOfferFactor
			}
			if s.SalaryHighRatio > 0 {
				e.settings.SalaryHighRatio = s.SalaryHighRatio
			}
			if s.DefaultWageIDR > 0 {
				e.settings.DefaultWageIDR = s.DefaultWageIDR
			}
			if s.ScoreSaturation > 0 {
				e.settings.ScoreSaturation = s.ScoreSaturation
			}
		}
		for _, c := range doc.Cues {
			if !validName(c.Cue) {
				return nil, &LoadError{f.name, c.line, fmt.Sprintf("cue name %q must be lower_snake_case", c.Cue)}
			}
			if len(c.Terms) == 0 {
				return nil, &LoadError{f.name, c.line, fmt.Sprintf("cue %s has no terms", c.Cue)}
			}
			for l := range c.Terms {
				if l != "id" && l != "en" && l != "any" {
					return nil, &LoadError{f.name, c.line, fmt.Sprintf("cue %s: terms language %q must be id, en or any", c.Cue, l)}
				}
			}
			i := addTerms(c.Cue, f.name, c.line, c.Description, c.DescriptionID, c.Terms)
			if c.Negated != "" {
				cues[i].negated = c.Negated
			}
			if c.Strong {
				cues[i].strong = true
			}
			if c.Count {
				cues[i].count = true
			}
		}
		ctrys = append(ctrys, doc.Countries...)
		currs = append(currs, doc.Currencies...)
		seenHere := map[string]bool{}
		for _, r := range doc.Rules {
			if r.ID == "" {
				return nil, &LoadError{f.name, r.line, "rule has no id"}
			}
			if seenHere[r.ID] {
				return nil, &LoadError{f.name, r.line, fmt.Sprintf("rule %s is defined twice in this file", r.ID)}
			}
			seenHere[r.ID] = true
			if k, ok := ruleAt[r.ID]; ok {
				rules[k] = r // a later file overrides
				continue
			}
			ruleAt[r.ID] = len(rules)
			rules = append(rules, r)
		}
	}
	e.version = hex.EncodeToString(h.Sum(nil))[:12]

	// Countries become internal cues (names with a colon cannot be named
	// by rules): country:KH for names and places, hotspot:KH for hotspots.
	for _, c := range ctrys {
		code := strings.ToUpper(strings.TrimSpace(c.Code))
		if len(code) != 2 {
			return nil, &LoadError{c.file, c.line, fmt.Sprintf("country code %q must be ISO 3166-1 alpha-2", c.Code)}
		}
		terms := map[string][]string{"any": append(append([]string{"flag_" + strings.ToLower(code)}, c.Names...), c.Places...)}
		ci := addTerms("country:"+code, c.file, c.line, "mentions "+code, "", terms)
		hi := -1
		if len(c.Hotspots) > 0 {
			hi = addTerms("hotspot:"+code, c.file, c.line, "scam-compound hotspot in "+code, "", map[string][]string{"any": c.Hotspots})
		}
		if k, ok := e.byRegion[code]; ok {
			k.cue, k.hotspotCue = ci, hi
			continue
		}
		ct := country{code: code, placement: c.Placement == nil || *c.Placement, moratorium: c.Moratorium, cue: ci, hotspotCue: hi, phone: c.Phone}
		ct.wageIDR = c.Wage
		if c.Currency != "" {
			ct.wageIDR = c.Wage * rateOf(currs, opt.Rates, c.Currency)
		}
		e.countries = append(e.countries, ct)
		e.byRegion[code] = &e.countries[len(e.countries)-1]
	}
	for i := range e.countries {
		e.byRegion[e.countries[i].code] = &e.countries[i]
		if p := e.countries[i].phone; p != "" && p != "62" {
			e.foreignCodes = append(e.foreignCodes, p)
		}
	}
	// Longer calling codes first so "856" wins over "85".
	sort.Slice(e.foreignCodes, func(i, j int) bool { return len(e.foreignCodes[i]) > len(e.foreignCodes[j]) })

	e.cur = currencyIndex{one: map[string]string{}, two: map[string]string{}, twoFirst: map[string]bool{}, rates: map[string]float64{"IDR": 1}}
	for _, c := range currs {
		code := strings.ToUpper(c.Code)
		e.cur.rates[code] = c.Rate
		for _, n := range c.Names {
			nn := strings.TrimSpace(string(Normalize(n).Text))
			if nn == "" {
				continue
			}
			if first, _, ok := strings.Cut(nn, " "); ok {
				e.cur.two[nn] = code
				e.cur.twoFirst[first] = true
			} else {
				e.cur.one[nn] = code
			}
		}
	}
	for k, v := range opt.Rates {
		if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("classify.rates: rate for %s must be a positive number", k)
		}
		e.cur.rates[strings.ToUpper(k)] = v
	}

	// Entity triggers ride on the same automaton (internal cues, not
	// nameable by rules), so the extractors skip texts without them
	// instead of scanning each text once per marker.
	addTerms(trigSpelled, "classifiers/entities.go", 0, "a number spelled in words", "", map[string][]string{"any": spelledMarkers})
	addTerms(trigLink, "classifiers/entities.go", 0, "a WhatsApp or Telegram link", "", map[string][]string{"any": linkMarkers})
	addTerms(trigLicence, "classifiers/entities.go", 0, "a licence word", "", map[string][]string{"any": licenceHeadWords})

	lex, err := buildLexicon(cues, negators, protect)
	if err != nil {
		return nil, err
	}
	e.lex = lex
	e.trig = [3]int{lex.cueIdx[trigSpelled], lex.cueIdx[trigLink], lex.cueIdx[trigLicence]}
	e.langID, e.langEN = -1, -1
	if i, ok := lex.cueIdx["lang_id_words"]; ok {
		e.langID = i
	}
	if i, ok := lex.cueIdx["lang_en_words"]; ok {
		e.langEN = i
	}

	// The fact table: built-in facts plus one boolean per cue.
	e.factKinds = builtinFacts()
	for _, c := range lex.cues {
		if strings.Contains(c.name, ":") {
			continue
		}
		if _, clash := e.factKinds[c.name]; clash {
			return nil, &LoadError{c.file, c.line, fmt.Sprintf("cue name %q is a built-in fact", c.name)}
		}
		e.factKinds[c.name] = false
		if c.count {
			if _, clash := e.factKinds[c.name+"_n"]; clash {
				return nil, &LoadError{c.file, c.line, fmt.Sprintf("cue count fact %q clashes with another fact", c.name+"_n")}
			}
			e.factKinds[c.name+"_n"] = 0
		}
	}
	e.abroadCue = -1
	if i, ok := lex.cueIdx["abroad"]; ok {
		e.abroadCue = i
	}
	for _, n := range abroadCueNames {
		if i, ok := lex.cueIdx[n]; ok {
			e.abroadCues = append(e.abroadCues, i)
		}
	}
	for k := range e.factKinds {
		e.factNames = append(e.factNames, k)
	}
	sort.Strings(e.factNames)
	e.factID = make(map[string]int, len(e.factNames))
	e.factZero = make([]any, len(e.factNames))
	for i, n := range e.factNames {
		e.factID[n] = i
		e.factZero[i] = e.factKinds[n]
	}
	for i, n := range builtinOrder {
		id, ok := e.factID[n]
		if !ok {
			return nil, fmt.Errorf("internal: built-in fact %s has no type", n)
		}
		e.bid[i] = id
	}
	e.cueFactID = make([]int, len(lex.cues))
	e.cueCountID = make([]int, len(lex.cues))
	for i, c := range lex.cues {
		e.cueFactID[i], e.cueCountID[i] = -1, -1
		if id, ok := e.factID[c.name]; ok && !strings.Contains(c.name, ":") {
			e.cueFactID[i] = id
			if c.count {
				e.cueCountID[i] = e.factID[c.name+"_n"]
			}
		}
	}

	rules = append(rules, autoRules(lex, ruleAt)...)
	for _, rd := range rules {
		r, err := e.compileRule(rd)
		if err != nil {
			return nil, err
		}
		e.rules = append(e.rules, r)
	}
	// Facts no condition on the VM names are never read from the env: not
	// writing them saves a map write (and often a boxed value) per fact
	// per ad. Conditions evaluated natively read truthy and nums instead.
	e.factUsed = make([]bool, len(e.factNames))
	for i := range e.rules {
		if e.rules[i].hasNative {
			continue
		}
		node := e.rules[i].program.Node()
		ast.Walk(&node, identVisitor(func(n string) {
			if id, ok := e.factID[n]; ok {
				e.factUsed[id] = true
			}
		}))
	}
	if opt.Registry != "" {
		reg, err := e.loadRegistry(opt.Registry)
		if err != nil {
			return nil, err
		}
		e.registry = reg
	}
	if !opt.RulesOnly {
		m := opt.Model
		if m == nil && opt.ModelFile != "" {
			if m, err = LoadModel(opt.ModelFile); err != nil {
				return nil, err
			}
		}
		if m == nil {
			if m, err = ParseModel(embeddedModel); err != nil {
				return nil, fmt.Errorf("embedded model: %w", err)
			}
		}
		e.model = e.bind(m)
	}
	e.fullVersion = e.version
	if e.model != nil {
		e.fullVersion = e.version + "+" + e.model.m.Version
	}
	if opt.Registerer != nil {
		m, err := newMetrics(opt.Registerer, e.rules)
		if err != nil {
			return nil, err
		}
		e.metrics = m
	}
	e.pool.New = func() any { return e.newState() }
	return e, nil
}

func rateOf(currs []currencyDoc, over map[string]float64, code string) float64 {
	code = strings.ToUpper(code)
	for k, v := range over {
		if strings.ToUpper(k) == code && v > 0 {
			return v
		}
	}
	if code == "IDR" {
		return 1
	}
	for _, c := range currs {
		if strings.ToUpper(c.Code) == code {
			return c.Rate
		}
	}
	return 0
}

func validName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// abroadCueNames are cues that imply the work is abroad without naming a
// country: no rule needs a named country to know a job is overseas.
var abroadCueNames = []string{"abroad", "abroad_travel", "dest_vague", "location_hidden", "visa_nonwork", "convert_visa",
	"transit_route", "one_way_ticket", "no_passport", "passport_only", "passport_held", "passport_with_worker",
	"border_area", "crypto_pay", "umroh_work", "lie_immigration", "bypass_official", "compound_life"}

// builtinFacts are the facts computed from entities and the ad itself,
// with their types (the zero value).
func builtinFacts() map[string]any {
	return map[string]any{
		"lang":                    "",    // id, en, mixed
		"source":                  "",    // source name
		"source_type":             "",    // jobboard, telegram, rss, html, or the source as given
		"social_source":           false, // telegram, facebook, forum-like source
		"text_len":                0,     // bytes of title + text
		"phones":                  0,     // distinct phone numbers
		"has_phone":               false,
		"has_whatsapp":            false, // wa.me link or a number next to "WA"
		"has_telegram":            false, // t.me link or @handle
		"has_email":               false,
		"free_email":              false, // gmail, yahoo, …
		"foreign_phone":           false, // a non-Indonesian number
		"phone_no_placement":      false, // a number from a country that is not a placement destination
		"countries":               []string{},
		"overseas":                false, // a foreign country, place or flag is named
		"dest_no_placement":       false, // a destination that is not an official placement country (KH, MM, LA, VN)
		"dest_moratorium":         false, // a destination under the domestic-work moratorium (Middle East)
		"hotspot":                 false, // a scam-compound hotspot (Sihanoukville, Bavet, KK Park, …)
		"salary_idr":              0,     // highest wage, IDR per month
		"salary_ratio":            0.0,   // salary_idr / typical low-skill wage of the destination
		"salary_high":             false, // salary_ratio at or above the configured ratio
		"fee_idr":                 0,     // highest up-front payment asked, IDR
		"min_age":                 0,     // lowest age accepted, 0 when none
		"under_age":               false, // min_age below 18
		"quoted_block":            false, // a passage of 60+ bytes in quotation marks
		"foreign_currency":        false, // an amount in a foreign currency (or USDT)
		"abroad_implied":          false, // overseas, or abroad implied: foreign currency or number, passport, visa, flight, border, transit, vague or withheld destination
		"agency":                  false, // a company "PT …" is named
		"licence":                 false, // a licence number is quoted
		"registry":                false, // a registry of licensed agencies is loaded
		"agency_registered":       false, // a named company is in the registry (active)
		"agency_unregistered":     false, // registry loaded, a named company is not in it
		"licence_registered":      false, // a quoted licence number is in the registry
		"licence_unregistered":    false, // registry loaded, a quoted licence number is not in it
		"registry_phone_match":    false, // a contact number belongs to a registered agency
		"registry_phone_mismatch": false, // a registered agency is named but the contact number is not its own
	}
}

// factSpanKinds says which entity spans are evidence for a built-in fact.
var factSpanKinds = map[string][]int{
	"has_phone": {spPhone}, "phones": {spPhone}, "has_whatsapp": {spWhatsApp}, "has_telegram": {spTelegram},
	"has_email": {spEmail}, "free_email": {spFreeEmail}, "foreign_phone": {spForeignPhone},
	"phone_no_placement": {spPhoneNoPlacement}, "countries": {spPlace}, "overseas": {spPlace},
	"dest_no_placement": {spNoPlacement}, "dest_moratorium": {spMoratorium}, "hotspot": {spHotspot},
	"salary_idr": {spSalary}, "salary_ratio": {spSalary}, "salary_high": {spSalary}, "fee_idr": {spFee},
	"min_age": {spAge}, "under_age": {spAge}, "quoted_block": {spQuote}, "foreign_currency": {spForeignMoney},
	"abroad_implied": {spPlace, spForeignMoney, spForeignPhone}, "agency": {spAgency}, "licence": {spLicence},
	"agency_registered": {spAgency}, "agency_unregistered": {spAgency}, "licence_registered": {spLicence},
	"licence_unregistered": {spLicence}, "registry_phone_match": {spRegistryPhone},
	"registry_phone_mismatch": {spPhone, spWhatsApp},
}

// factRefOf resolves where a fact's evidence comes from.
func (e *Engine) factRefOf(name string) factRef {
	ref := factRef{id: e.factID[name], cue: -1, spans: factSpanKinds[name], support: "supporting evidence (" + name + ")"}
	base := name
	if b, ok := strings.CutSuffix(name, "_n"); ok {
		if _, isCue := e.lex.cueIdx[b]; isCue {
			base = b
		}
	}
	if i, ok := e.lex.cueIdx[base]; ok && e.cueFactID[i] >= 0 {
		ref.cue = i
	}
	return ref
}

// gateOf finds facts of which at least one must be set (non-zero) for the
// condition to be true; ok is false when no such set is known.
func (e *Engine) gateOf(n ast.Node) ([]int, bool) {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		id, ok := e.factID[x.Value]
		if !ok {
			return nil, false
		}
		return []int{id}, true
	case *ast.BinaryNode:
		switch x.Operator {
		case "&&", "and":
			l, okl := e.gateOf(x.Left)
			r, okr := e.gateOf(x.Right)
			switch {
			case okl && okr && len(r) < len(l):
				return r, true
			case okl:
				return l, true
			case okr:
				return r, true
			}
			return nil, false
		case "||", "or":
			l, okl := e.gateOf(x.Left)
			r, okr := e.gateOf(x.Right)
			if okl && okr {
				return append(append([]int{}, l...), r...), true
			}
			return nil, false
		case ">", ">=", "==":
			id, ok := x.Left.(*ast.IdentifierNode)
			if !ok {
				return nil, false
			}
			fid, known := e.factID[id.Value]
			if !known {
				return nil, false
			}
			var c float64
			switch v := x.Right.(type) {
			case *ast.IntegerNode:
				c = float64(v.Value)
			case *ast.FloatNode:
				c = v.Value
			case *ast.StringNode:
				if x.Operator == "==" && v.Value != "" {
					return []int{fid}, true
				}
				return nil, false
			default:
				return nil, false
			}
			// a zero fact fails "> c" for c >= 0, ">= c" and "== c" for c > 0
			if x.Operator == ">" && c >= 0 || c > 0 {
				return []int{fid}, true
			}
		}
	}
	return nil, false
}

func (e *Engine) compileRule(rd ruleDoc) (rule, error) {
	where := fmt.Sprintf("%s:%d", rd.file, rd.line)
	fail := func(format string, a ...any) (rule, error) {
		return rule{}, &LoadError{rd.file, rd.line, fmt.Sprintf("rule %s: ", rd.ID) + fmt.Sprintf(format, a...)}
	}
	switch rd.Category {
	case string(lokerwatch.CategoryScam), string(lokerwatch.CategoryNonprocedural), string(lokerwatch.CategoryTrafficking), CategoryAny, CategoryNotOffer:
	case "":
		if !rd.auto {
			return fail("category %q must be scam, nonprocedural, trafficking, any or not_offer", rd.Category)
		}
	default:
		return fail("category %q must be scam, nonprocedural, trafficking, any or not_offer", rd.Category)
	}
	if !rd.auto && (rd.Weight == 0 || rd.Weight > 100 || rd.Weight < -100) {
		return fail("weight %d must be between -100 and 100 and not 0", rd.Weight)
	}
	if strings.TrimSpace(rd.Description) == "" {
		return fail("needs a description an analyst can read")
	}
	if strings.TrimSpace(rd.When) == "" {
		return fail("needs a condition (when)")
	}
	prog, err := expr.Compile(rd.When, expr.Env(e.factKinds), expr.AsBool())
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n") // drop expr's caret drawing
		return fail("condition %q: %s", strings.TrimSpace(rd.When), msg)
	}
	cat := catAny
	switch rd.Category {
	case "":
		cat = catAuto
	case CategoryNotOffer:
		cat = catNotOffer
	case CategoryAny:
	default:
		cat = slices.Index(lokerwatch.Categories, lokerwatch.Category(rd.Category))
	}
	r := rule{id: rd.ID, category: rd.Category, cat: cat, weight: rd.Weight, description: strings.TrimSpace(rd.Description), descID: strings.TrimSpace(rd.DescriptionID), when: rd.When, program: prog, where: where}
	seen := map[string]bool{}
	add := func(n string) {
		if _, ok := e.factKinds[n]; ok && !seen[n] {
			seen[n] = true
			r.refs = append(r.refs, e.factRefOf(n))
		}
	}
	if len(rd.Evidence) > 0 {
		for _, n := range rd.Evidence {
			if _, ok := e.factKinds[n]; !ok {
				return fail("evidence names unknown fact %q", n)
			}
			add(n)
		}
	} else {
		node := prog.Node()
		ast.Walk(&node, identVisitor(add))
	}
	if g, ok := e.gateOf(prog.Node()); ok {
		r.gate = g
	}
	r.native, r.hasNative = e.compileCond(prog.Node())
	return r, nil
}

type identVisitor func(string)

func (v identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v(id.Value)
	}
}

// Facts lists every fact a rule condition may name, with its type.
func (e *Engine) Facts() map[string]string {
	out := map[string]string{}
	for k, v := range e.factKinds {
		out[k] = fmt.Sprintf("%T", v)
	}
	return out
}

// Classify fills ad.Entities, ad.Fingerprint, ad.Lang (when empty) and
// ad.Assessment. Signal spans are byte offsets into ad.Body(). It never
// panics: an internal failure becomes an assessment with an engine.error
// signal and is logged.
func (e *Engine) Classify(ad *lokerwatch.Ad) {
	if ad == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			slog.Error("classify: internal error", "ad", ad.ID, "panic", fmt.Sprint(r))
			ad.Assessment = &lokerwatch.Assessment{
				Categories: map[lokerwatch.Category]int{},
				Signals:    []lokerwatch.Signal{{Rule: "engine.error", Description: fmt.Sprint("classifier failed on this ad: ", r)}},
				Version:    e.fullVersion,
			}
		}
	}()
	st := e.pool.Get().(*state)
	defer e.pool.Put(st)
	if e.metrics == nil {
		st.run(ad)
		return
	}
	t0 := time.Now()
	st.run(ad)
	a := ad.Assessment
	e.metrics.observe(st, a.NotAnOffer, a.Flagged, time.Since(t0).Seconds())
}
