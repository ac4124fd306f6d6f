package classifiers

import "strings"

// Single indicators. Every cue of the lexicon, and every built-in fact
// that is an indicator on its own, is also a rule of its own ("cue.<name>",
// "fact.<name>") with no weight in YAML: the model learns what each weighs
// per head, so no indicator needs a hand-made conjunction (or a named
// country) to count. The YAML rules stay as what they are good at:
// combinations worth more (or less) than their parts, with a prior.

// autoFacts are built-in facts that are indicators by themselves.
var autoFacts = []struct{ id, when, desc string }{
	{"fact.whatsapp", "has_whatsapp", "Contact is a WhatsApp number or link."},
	{"fact.telegram", "has_telegram", "Contact is a Telegram handle or link."},
	{"fact.free_email", "free_email", "Contact e-mail is a free mailbox (gmail, yahoo…), not a company domain."},
	{"fact.foreign_phone", "foreign_phone", "A contact number is foreign."},
	{"fact.phone_no_placement", "phone_no_placement", "A contact number is from a country that is not an official placement destination."},
	{"fact.abroad_implied", "abroad_implied", "The work is abroad, or abroad is implied (foreign currency or number, passport, visa, flight, border, transit, a vague or withheld destination)."},
	{"fact.no_abroad_sign", "!abroad_implied", "Nothing says the work is abroad: no foreign place, currency, number, passport, visa, flight or crossing."},
	{"fact.foreign_currency", "foreign_currency", "Pay is in a foreign currency or USDT."},
	{"fact.quoted_block", "quoted_block", "Quotes a long passage (often the ad a warning is about)."},
	{"fact.overseas", "overseas", "The work is abroad (a foreign place, currency, passport, visa, flight, border crossing or 'luar negeri')."},
	{"fact.dest_no_placement", "dest_no_placement", "Destination is not an official placement country for Indonesian workers (Cambodia, Myanmar, Laos…)."},
	{"fact.dest_moratorium", "dest_moratorium", "Destination is under the Middle-East domestic-work moratorium."},
	{"fact.hotspot", "hotspot", "Names a scam-compound hotspot."},
	{"fact.salary_high", "salary_high", "Salary far above the destination's usual wage for unskilled work."},
	{"fact.salary", "salary_idr > 0", "A salary is stated."},
	{"fact.fee", "fee_idr > 0", "The applicant is asked to pay an amount."},
	{"fact.fee_large", "fee_idr >= 10000000", "The applicant is asked to pay 10 million rupiah or more."},
	{"fact.under_age", "under_age", "Accepts applicants under 18."},
	{"fact.agency", "agency", "Names a company (PT …)."},
	{"fact.licence", "licence", "Quotes a licence number."},
	{"fact.social", "social_source", "Posted on social media, a chat channel or a forum."},
	{"fact.agency_unregistered", "agency_unregistered", "Names a company that is not in the registry of licensed agencies."},
	{"fact.registry_phone_match", "registry_phone_match", "A contact number belongs to a registered agency."},
}

// noIndicator lists cues that are not indicators (language detection).
var noIndicator = map[string]bool{"lang_id_words": true, "lang_en_words": true}

// autoRules generates the single-indicator rules; a YAML rule of the same
// id replaces the generated one.
func autoRules(lex *Lexicon, have map[string]int) []ruleDoc {
	var out []ruleDoc
	for _, c := range lex.cues {
		if strings.Contains(c.name, ":") || noIndicator[c.name] {
			continue
		}
		id := "cue." + c.name
		if _, ok := have[id]; ok {
			continue
		}
		desc := c.description
		if desc == "" {
			desc = "phrase of cue " + c.name
		}
		out = append(out, ruleDoc{ID: id, Description: desc, When: c.name, auto: true, file: c.file, line: c.line})
	}
	for _, f := range autoFacts {
		if _, ok := have[f.id]; ok {
			continue
		}
		out = append(out, ruleDoc{ID: f.id, Description: f.desc, When: f.when, auto: true, file: "classifiers/indicators.go"})
	}
	return out
}
