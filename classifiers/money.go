package classifiers

import (
	"bytes"
	"math"
	"strings"
)

// Money is an amount found in an ad, normalised to rupiah per month when it
// is a wage.
type Money struct {
	Start, End int     // normalised-text span
	Amount     float64 // highest amount of a range, in the written currency
	Currency   string  // ISO code; "IDR" when none is written and the amount is in juta/ribu
	Period     string  // month, day, week, hour, year
	IDR        float64 // amount in rupiah (per month for wages)
	Kind       string  // salary, fee or other
}

// currencyIndex maps words and symbols (normalised) to ISO codes.
type currencyIndex struct {
	one      map[string]string // "usd", "$", "baht"
	two      map[string]string // "dolar brunei"
	twoFirst map[string]bool   // first words of two-word names
	rates    map[string]float64
}

var periodWords = map[string]string{
	"bulan": "month", "bln": "month", "bl": "month", "month": "month", "mo": "month", "mth": "month", "monthly": "month", "bulanan": "month", "sebulan": "month",
	"hari": "day", "hr": "day", "day": "day", "daily": "day", "harian": "day", "sehari": "day",
	"minggu": "week", "mg": "week", "week": "week", "weekly": "week", "mingguan": "week", "seminggu": "week", "wk": "week",
	"jam": "hour", "hour": "hour", "hourly": "hour", "sejam": "hour",
	"tahun": "year", "thn": "year", "year": "year", "yearly": "year", "annual": "year", "setahun": "year",
}

var rangeWords = map[string]bool{"sampai": true, "hingga": true, "to": true, "sd": true}

var periodFactor = map[string]float64{"month": 1, "day": 26, "week": 4.33, "hour": 208, "year": 1.0 / 12}

var multipliers = map[string]float64{
	"jt": 1e6, "juta": 1e6, "jutaan": 1e6, "million": 1e6, "mio": 1e6, "mil": 1e6, "mln": 1e6,
	"rb": 1e3, "ribu": 1e3, "k": 1e3, "rebu": 1e3, "thousand": 1e3, "ribuan": 1e3,
	"miliar": 1e9, "milyar": 1e9,
}

var salaryWords = map[string]bool{
	"gaji": true, "gapok": true, "salary": true, "salaries": true, "upah": true, "income": true, "penghasilan": true,
	"bayaran": true, "earn": true, "earning": true, "earnings": true, "wage": true, "wages": true,
	"basic": true, "base": true, "pokok": true, "start": true, "mulai": true, "thp": true, "pay": true,
	"paid": true, "digaji": true, "pendapatan": true, "honor": true, "salery": true, "sallary": true,
}

var feeWords = map[string]bool{
	"biaya": true, "fee": true, "fees": true, "dp": true, "bayar": true, "membayar": true, "denda": true,
	"penalti": true, "penalty": true, "jaminan": true, "deposit": true, "tebusan": true, "ransom": true,
	"cost": true, "costs": true, "ongkos": true, "uang": true, "modal": true, "paket": true, "package": true,
	"harga": true, "cicil": true, "transfer": true, "owe": true, "owed": true, "debt": true, "utang": true,
	"hutang": true, "loan": true, "bonus": true, "komisi": true, "commission": true, "levy": true,
	"ganti": true, "tiket": true, "ticket": true, "pungutan": true, "potongan": true, "potong": true,
	"kasbon": true, "price": true, "tabungan": true, "lunas": true, "pelicin": true, "tembus": true,
}

// feeContext marks words that make an amount an up-front payment.
var feeContext = map[string]bool{
	"biaya": true, "fee": true, "fees": true, "dp": true, "bayar": true, "membayar": true, "jaminan": true,
	"deposit": true, "ongkos": true, "modal": true, "paket": true, "package": true, "harga": true,
	"transfer": true, "pungutan": true, "pelicin": true, "cicil": true,
}

// parseNumber reads digits with "." and "," separators at text[i:],
// Indonesian or English style: a separator followed by exactly three digits
// groups thousands ("15.000.000", "1,200"); a last group of one or two
// digits is a decimal ("1,5 juta", "2.5"). It returns the value, the end,
// and ok (false for dates, phone numbers and other digit runs).
func parseNumber(text []byte, i int) (float64, int, bool) {
	j := i
	for j < len(text) && isDigitByte(text[j]) {
		j++
	}
	if j-i > 12 {
		return 0, j, false
	}
	val := 0.0
	for k := i; k < j; k++ {
		val = val*10 + float64(text[k]-'0')
	}
	for groups := 0; j+1 < len(text) && (text[j] == '.' || text[j] == ',') && isDigitByte(text[j+1]); groups++ {
		k := j + 1
		for k < len(text) && isDigitByte(text[k]) {
			k++
		}
		g := text[j+1 : k]
		last := k >= len(text) || !((text[k] == '.' || text[k] == ',') && k+1 < len(text) && isDigitByte(text[k+1]))
		switch {
		case len(g) == 3 && groups < 6:
			for _, c := range g {
				val = val*10 + float64(c-'0')
			}
		case last && len(g) <= 2:
			frac := 0.0
			for x := len(g) - 1; x >= 0; x-- {
				frac = (frac + float64(g[x]-'0')) / 10
			}
			val += frac
		default:
			return 0, k, false // not a number format we understand
		}
		j = k
	}
	return val, j, true
}

// nextWord returns the word (letters, digits, $) starting at i after skipping
// up to one run of spaces and light punctuation; "" when none.
func nextWord(text []byte, i int) ([]byte, int, int) {
	for i < len(text) && (text[i] == ' ' || text[i] == '/' || text[i] == '+' || text[i] == '(') {
		i++
	}
	s := i
	for i < len(text) && (isWordByte(text[i]) || text[i] == '$') {
		i++
	}
	return text[s:i], s, i
}

func prevWord(text []byte, i int) ([]byte, int) {
	for i > 0 && (text[i-1] == ' ' || text[i-1] == ':' || text[i-1] == '(' || text[i-1] == '±' || text[i-1] == '~') {
		i--
	}
	e := i
	for i > 0 && (isWordByte(text[i-1]) || text[i-1] == '$') {
		i--
	}
	return text[i:e], i
}

// extractMoney finds amounts of money in normalised text.
func (ci *currencyIndex) extractMoney(text []byte, out []Money) []Money {
	n := len(text)
	for i := 0; i < n; i++ {
		if !isDigitByte(text[i]) {
			continue
		}
		if i > 0 {
			c := text[i-1]
			if isDigitByte(c) || c == '.' || c == ',' || c == '_' {
				continue
			}
			if isLetterByte(c) {
				// "rp15", "rm1.800", "usd1000": a currency glued to the number
				if wb, _ := prevWord(text, i); ci.one[string(wb)] == "" {
					continue
				}
			}
		}
		v, j, ok := parseNumber(text, i)
		if !ok {
			i = j
			continue
		}
		m := Money{Start: i, End: j, Amount: v}
		// currency before: "rp 15", "usd1.000", "$800", "nt$27.000"
		k := i
		for k > 0 && text[k-1] == ' ' {
			k--
		}
		if k > 0 && text[k-1] == '$' {
			wb, ws := prevWord(text, k)
			w := string(wb)
			if code, ok := ci.one[w]; ok && strings.HasSuffix(w, "$") {
				m.Currency, m.Start = code, ws
			} else {
				m.Currency, m.Start = "USD", k-1
			}
		} else if wb, ws := prevWord(text, i); len(wb) > 0 {
			if code, ok := ci.one[string(wb)]; ok {
				m.Currency, m.Start = code, ws
			}
		}
		// range: "15-25", "1.000–3.000", "15 s/d 25", "8 sampai 12"
		hi := v
		end := j
		p := j
		for p < n && text[p] == ' ' {
			p++
		}
		rangeStart := -1
		if p < n && (text[p] == '-' || text[p] == '~') {
			rangeStart = p + 1
		} else if wb, _, we := nextWord(text, p); rangeWords[string(wb)] || string(wb) == "s" && we+2 < n && text[we] == '/' {
			rangeStart = we
			if string(wb) == "s" {
				rangeStart = we + 2
			}
		}
		if rangeStart >= 0 {
			q := rangeStart
			for q < n && (text[q] == ' ' || text[q] == '$') {
				q++
			}
			// a currency may repeat: "$800–$1.500", "rp 5 - rp 7"
			if wb, _, we := nextWord(text, q); len(wb) > 0 && ci.one[string(wb)] != "" && !isDigitByte(wb[0]) {
				q = we
				for q < n && text[q] == ' ' {
					q++
				}
			}
			if q < n && isDigitByte(text[q]) {
				if v2, j2, ok := parseNumber(text, q); ok && v2 >= v {
					hi, end = v2, j2
				}
			}
		}
		m.Amount, m.End = hi, end
		// multiplier, currency and period after the number
		mult := 1.0
		q := end
		for step := 0; step < 4 && q < n; step++ {
			wb, ws, we := nextWord(text, q)
			w := string(wb)
			if w == "" {
				// "15jt++" or "$1k++": skip plus signs
				if q < n && text[q] == '+' {
					q++
					continue
				}
				break
			}
			if ws > q+2 && step > 0 {
				break
			}
			if f, ok := multipliers[w]; ok && mult == 1 {
				mult = f
				m.End = we
				q = we
				continue
			}
			// "1.2k$", "15k$": multiplier and dollar glued together
			if k, ok := strings.CutSuffix(w, "$"); ok && mult == 1 {
				if f, ok := multipliers[k]; ok {
					mult = f
					if m.Currency == "" {
						m.Currency = "USD"
					}
					m.End, q = we, we
					continue
				}
			}
			if m.Currency == "" {
				if ci.twoFirst[w] {
					if code, ok := ci.two[w+" "+string(peekWord(text, we))]; ok {
						_, _, we2 := nextWord(text, we)
						m.Currency, m.End, q = code, we2, we2
						continue
					}
				}
				if code, ok := ci.one[w]; ok {
					m.Currency, m.End, q = code, we, we
					continue
				}
			}
			if per, ok := periodWords[w]; ok && m.Period == "" {
				m.Period, m.End, q = per, we, we
				continue
			}
			if w == "per" || w == "a" || w == "an" || w == "dalam" || w == "tiap" || w == "setiap" {
				w2b, _, we2 := nextWord(text, we)
				if per, ok := periodWords[string(w2b)]; ok && m.Period == "" {
					m.Period, m.End, q = per, we2, we2
					continue
				}
			}
			if w == "usd" || w == "nett" || w == "net" || w == "bersih" || w == "gross" || w == "brutto" || w == "bruto" || w == "basic" {
				q = we
				continue
			}
			break
		}
		m.Amount *= mult
		if m.Currency == "" {
			// Without a currency or a multiplier only a rupiah-style amount
			// ("15.000.000") counts; a bare long number is a phone or an id.
			bare := mult == 1 && (text[i] == '0' || bytes.Count(text[i:j], []byte("."))+bytes.Count(text[i:j], []byte(",")) < 2)
			if !bare && (mult >= 1e6 || m.Amount >= 500000) {
				m.Currency = "IDR"
			} else {
				i = j - 1
				continue // a bare small number: a count, an age, a date
			}
		}
		if m.Period == "" {
			m.Period = "month"
		}
		rate := ci.rates[m.Currency]
		if rate == 0 {
			rate = 1
		}
		m.IDR = m.Amount * rate * periodFactor[m.Period]
		if math.IsInf(m.IDR, 0) || math.IsNaN(m.IDR) || m.IDR > 1e13 {
			i = j - 1
			continue
		}
		m.Kind = moneyKind(text, m.Start)
		out = append(out, m)
		if len(out) >= 32 {
			return out
		}
		i = m.End - 1
		if i < j-1 {
			i = j - 1
		}
	}
	return out
}

func peekWord(text []byte, i int) []byte {
	w, _, _ := nextWord(text, i)
	return w
}

// moneyKind looks back up to six words, inside the sentence, for what the
// amount is: a wage or a payment.
func moneyKind(text []byte, pos int) string {
	i := pos
	for step := 0; step < 6 && i > 0; step++ {
		j := i
		for j > 0 && !isWordByte(text[j-1]) {
			c := text[j-1]
			if c == '.' && (j < 2 || !isDigitByte(text[j-2])) || c == '\n' || c == ';' || c == '!' || c == '?' {
				return "salary"
			}
			j--
		}
		k := j
		for k > 0 && isWordByte(text[k-1]) {
			k--
		}
		if k == j {
			break
		}
		w := text[k:j]
		if salaryWords[string(w)] {
			return "salary"
		}
		if feeContext[string(w)] {
			return "fee"
		}
		if feeWords[string(w)] {
			return "other"
		}
		i = k
	}
	return "salary"
}

// Amounts written in words ("dua puluh juta", "satu setengah juta",
// "lima belas jt", "twenty million"): recruiters spell numbers out to slip
// past digit filters. wordNumbers are the number words; a run of them is
// read only when a multiplier (juta, ribu, million…) follows, so "dua
// orang" or "satu bulan" is no money.
var wordNumbers = map[string]float64{
	"nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9,
	"sepuluh": 10, "sebelas": 11, "seratus": 100, "seribu": 1000,
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
	"eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
	"eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
	"seventy": 70, "eighty": 80, "ninety": 90, "a": 1,
}

// wordScales combine with the number before them.
var wordScales = map[string]float64{"belas": -10, "puluh": 10, "ratus": 100, "hundred": 100}

// extractWordMoney appends the amounts written in words; rupiah unless a
// currency follows.
func (ci *currencyIndex) extractWordMoney(text []byte, out []Money) []Money {
	n := len(text)
	for i := 0; i < n && len(out) < 32; {
		for i < n && !isLetterByte(text[i]) {
			i++
		}
		s := i
		w, _, we := nextWord(text, i)
		if len(w) == 0 {
			i++
			continue
		}
		if _, ok := wordNumbers[string(w)]; !ok || (i > 0 && isWordByte(text[i-1])) {
			i = we
			continue
		}
		// a run of number words
		total, cur := 0.0, 0.0
		q, end, words := s, s, 0
		for q < n {
			w, _, we := nextWord(text, q)
			ws := string(w)
			if v, ok := wordNumbers[ws]; ok && (ws != "a" || words == 0) {
				cur += v
			} else if sc, ok := wordScales[ws]; ok && words > 0 {
				if sc < 0 { // belas: teen
					cur += 10
				} else {
					cur = math.Max(cur, 1) * sc
				}
			} else if ws == "setengah" || ws == "half" {
				cur += 0.5
			} else {
				break
			}
			words++
			q, end = we, we
			total = cur
		}
		if words == 0 {
			i = we
			continue
		}
		mw, _, me := nextWord(text, end)
		mult, ok := multipliers[string(mw)]
		if !ok || mult < 1e3 || total <= 0 {
			i = end
			continue
		}
		m := Money{Start: s, End: me, Amount: total * mult, Currency: "IDR", Period: "month"}
		q = me
		for step := 0; step < 3 && q < n; step++ {
			w, _, we := nextWord(text, q)
			ws := string(w)
			if code, ok := ci.one[ws]; ok && ws != "" {
				m.Currency, m.End, q = code, we, we
				continue
			}
			if per, ok := periodWords[ws]; ok {
				m.Period, m.End, q = per, we, we
				continue
			}
			if ws == "per" || ws == "sebulan" || ws == "a" {
				q = we
				continue
			}
			break
		}
		rate := ci.rates[m.Currency]
		if rate == 0 {
			rate = 1
		}
		m.IDR = m.Amount * rate * periodFactor[m.Period]
		if m.IDR > 0 && m.IDR <= 1e13 {
			m.Kind = moneyKind(text, m.Start)
			out = append(out, m)
		}
		i = m.End
	}
	return out
}
