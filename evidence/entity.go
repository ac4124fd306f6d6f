package evidence

import (
	"strings"

	"github.com/lokerwatch/lokerwatch"
	"github.com/nyaruka/phonenumbers"
)

// entityMatcher selects ads that mention one contact point, given the way
// an investigator types it: a phone in any format ("0812-3456-7890",
// "+62 812 3456 7890", "wa.me/6281234567890"), a Telegram handle with or
// without "@" or t.me/, an e-mail, or an agency name.
type entityMatcher struct {
	raw    string
	digits string // phone as E.164 digits without "+", "" when not a phone
	text   string // lower case, no "@" prefix, no t.me/ or wa.me/ prefix
}

func newEntityMatcher(v string) *entityMatcher {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil
	}
	m := &entityMatcher{raw: v, text: strings.ToLower(v)}
	for _, p := range []string{"https://", "http://", "www.", "t.me/", "telegram.me/", "wa.me/", "api.whatsapp.com/send?phone="} {
		m.text = strings.TrimPrefix(m.text, p)
	}
	m.text = strings.TrimPrefix(m.text, "@")
	m.digits = phoneDigits(m.text)
	return m
}

// phoneDigits normalises a phone number to E.164 digits (Indonesia as the
// default region), or returns "" when s does not look like a phone number.
func phoneDigits(s string) string {
	n := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			n++
		case strings.ContainsRune("+-(). /", r):
		default:
			return ""
		}
	}
	if n < 7 || n > 15 {
		return ""
	}
	if pn, err := phonenumbers.Parse(s, "ID"); err == nil {
		return strings.TrimPrefix(phonenumbers.Format(pn, phonenumbers.E164), "+")
	}
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "0") {
		d = "62" + d[1:]
	}
	return d
}

func (m *entityMatcher) match(ad *lokerwatch.Ad) bool {
	for kind, vs := range ad.Entities.Linkable() {
		for _, v := range vs {
			switch kind {
			case lokerwatch.EntityPhone, lokerwatch.EntityWhatsApp:
				if m.digits != "" && phoneDigits(strings.TrimPrefix(strings.ToLower(v), "wa.me/")) == m.digits {
					return true
				}
			default:
				if strings.EqualFold(strings.TrimPrefix(v, "@"), m.text) || strings.EqualFold(v, m.raw) {
					return true
				}
			}
		}
	}
	return false
}
