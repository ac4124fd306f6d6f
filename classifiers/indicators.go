package classifiers

import "strings"

// Single indicators. Every cue of the lexicon, and every built-in fact
// that is an indicator on its own, is also a rule of its own ("cue.<name>",
// "fact.<name>") with no weight in YAML: the model learns what each weighs
// per head, so no indicator needs a hand-made conjunction (or a named
// country) to count. The YAML rules stay as what they are good at:
// combinations worth more (or less) than their parts, with a prior.

// autoFacts are built-in facts that are indicators by themselves.
var autoFacts = []struct{ id, when, desc, descID string }{
	{"fact.whatsapp", "has_whatsapp", "Contact is a WhatsApp number or link.", "Kontaknya nomor atau tautan WhatsApp."},
	{"fact.telegram", "has_telegram", "Contact is a Telegram handle or link.", "Kontaknya akun atau tautan Telegram."},
	{"fact.free_email", "free_email", "Contact e-mail is a free mailbox (gmail, yahoo…), not a company domain.", "Email kontaknya memakai layanan gratis (gmail, yahoo…), bukan domain perusahaan."},
	{"fact.foreign_phone", "foreign_phone", "A contact number is foreign.", "Ada nomor kontak luar negeri."},
	{"fact.phone_no_placement", "phone_no_placement", "A contact number is from a country that is not an official placement destination.", "Ada nomor kontak dari negara yang bukan tujuan penempatan resmi."},
	{"fact.abroad_implied", "abroad_implied", "The work is abroad, or abroad is implied (foreign currency or number, passport, visa, flight, border, transit, a vague or withheld destination).", "Pekerjaannya di luar negeri, tersurat atau tersirat (mata uang atau nomor asing, paspor, visa, penerbangan, perbatasan, transit, tujuan yang kabur atau dirahasiakan)."},
	{"fact.no_abroad_sign", "!abroad_implied", "Nothing says the work is abroad: no foreign place, currency, number, passport, visa, flight or crossing.", "Tidak ada tanda pekerjaan di luar negeri: tidak ada tempat, mata uang, nomor asing, paspor, visa, penerbangan, atau penyeberangan."},
	{"fact.foreign_currency", "foreign_currency", "Pay is in a foreign currency or USDT.", "Gaji dibayar dalam mata uang asing atau USDT."},
	{"fact.quoted_block", "quoted_block", "Quotes a long passage (often the ad a warning is about).", "Mengutip teks panjang (sering kali iklan yang sedang diperingatkan)."},
	{"fact.overseas", "overseas", "The work is abroad (a foreign place, currency, passport, visa, flight, border crossing or 'luar negeri').", "Pekerjaannya di luar negeri (tempat, mata uang, paspor, visa, penerbangan, penyeberangan perbatasan asing, atau kata 'luar negeri')."},
	{"fact.dest_no_placement", "dest_no_placement", "Destination is not an official placement country for Indonesian workers (Cambodia, Myanmar, Laos…).", "Negara tujuan bukan negara penempatan resmi PMI (Kamboja, Myanmar, Laos…)."},
	{"fact.dest_moratorium", "dest_moratorium", "Destination is under the Middle-East domestic-work moratorium.", "Negara tujuan termasuk moratorium penempatan PMI sektor domestik di Timur Tengah."},
	{"fact.hotspot", "hotspot", "Names a scam-compound hotspot.", "Menyebut lokasi rawan sindikat online scam."},
	{"fact.salary_high", "salary_high", "Salary far above the destination's usual wage for unskilled work.", "Gaji jauh di atas upah umum pekerja tanpa keahlian di negara tujuan."},
	{"fact.salary", "salary_idr > 0", "A salary is stated.", "Menyebutkan besaran gaji."},
	{"fact.fee", "fee_idr > 0", "The applicant is asked to pay an amount.", "Pelamar diminta membayar sejumlah uang."},
	{"fact.fee_large", "fee_idr >= 10000000", "The applicant is asked to pay 10 million rupiah or more.", "Pelamar diminta membayar 10 juta rupiah atau lebih."},
	{"fact.under_age", "under_age", "Accepts applicants under 18.", "Menerima pelamar di bawah 18 tahun."},
	{"fact.agency", "agency", "Names a company (PT …).", "Menyebut nama perusahaan (PT …)."},
	{"fact.licence", "licence", "Quotes a licence number.", "Mencantumkan nomor izin."},
	{"fact.social", "social_source", "Posted on social media, a chat channel or a forum.", "Diunggah di media sosial, kanal obrolan, atau forum."},
	{"fact.agency_unregistered", "agency_unregistered", "Names a company that is not in the registry of licensed agencies.", "Menyebut perusahaan yang tidak terdaftar sebagai P3MI berizin."},
	{"fact.registry_phone_match", "registry_phone_match", "A contact number belongs to a registered agency.", "Ada nomor kontak milik perusahaan penempatan yang terdaftar."},
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
		desc, descID := c.description, c.descID
		if desc == "" {
			desc, descID = "phrase of cue "+c.name, "frasa dari cue "+c.name
		}
		out = append(out, ruleDoc{ID: id, Description: desc, DescriptionID: descID, When: c.name, auto: true, file: c.file, line: c.line})
	}
	for _, f := range autoFacts {
		if _, ok := have[f.id]; ok {
			continue
		}
		out = append(out, ruleDoc{ID: f.id, Description: f.desc, DescriptionID: f.descID, When: f.when, auto: true, file: "classifiers/indicators.go"})
	}
	return out
}
