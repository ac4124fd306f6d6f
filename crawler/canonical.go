package crawler

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/net/idna"
)

// sessionParams are query keys that carry a session and never select content.
// Stripping them keeps one page from turning into one URL per visitor.
var sessionParams = map[string]bool{
	"jsessionid": true, "phpsessid": true, "sid": true, "sessionid": true,
	"session_id": true, "sessid": true, "cfid": true, "cftoken": true,
	"aspsessionid": true, "s_id": true,
}

// trackingParams are query keys added by ad and analytics tools.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true,
	"msclkid": true, "yclid": true, "igshid": true, "mc_cid": true, "mc_eid": true,
	"_ga": true, "_gl": true, "ref_src": true, "twclid": true, "ttclid": true,
}

// pathSession matches session ids put in a path parameter
// (/job/1;jsessionid=ABC), which Java and PHP servers add when cookies are off.
var pathSession = regexp.MustCompile(`(?i);(jsessionid|phpsessid|sessionid|sid)=[^/?#]*`)

var errNotHTTP = errors.New("not an http(s) URL")

// Canonical returns the canonical form of an absolute http(s) URL, used as
// the frontier and seen-set key and for ad IDs: scheme and host lower case
// (IDNs in punycode), default port, user info and fragment dropped, dot
// segments resolved, query sorted, tracking (utm_*, fbclid, gclid, …) and
// session parameters (jsessionid, phpsessid, sid, …) removed.
func Canonical(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("canonical %q: %w", raw, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("canonical %q: %w", raw, errNotHTTP)
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("canonical %q: opaque URL: %w", raw, errNotHTTP)
	}
	host, err := canonicalHost(u)
	if err != nil {
		return "", fmt.Errorf("canonical %q: %w", raw, err)
	}
	u.Host = host
	u.User = nil
	u.Fragment, u.RawFragment = "", ""

	p := u.EscapedPath()
	p = pathSession.ReplaceAllString(p, "")
	p = upperEscapes(p)
	p = removeDotSegments(p)
	if p == "" {
		p = "/"
	}
	q := canonicalQuery(u.RawQuery)

	var b strings.Builder
	b.WriteString(u.Scheme)
	b.WriteString("://")
	b.WriteString(u.Host)
	b.WriteString(p)
	if q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String(), nil
}

func canonicalHost(u *url.URL) (string, error) {
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return "", errors.New("no host")
	}
	// Empty labels ("a..b", ".a", "a..") are no host; one trailing dot is
	// the root and dropped.
	host = strings.ToLower(host)
	if strings.HasPrefix(host, ".") || strings.Contains(host, "..") {
		return "", fmt.Errorf("bad host %q", u.Hostname())
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return "", fmt.Errorf("bad host %q", u.Hostname())
	}
	if ip := net.ParseIP(host); ip == nil {
		if !isASCII(host) {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", fmt.Errorf("bad host %q: %w", host, err)
			}
			host = a
		}
	} else if v4 := ip.To4(); v4 != nil {
		host = v4.String() // [::ffff:1.2.3.4] is 1.2.3.4
	} else {
		host = "[" + ip.String() + "]"
	}
	port = strings.TrimLeft(port, "0")
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return host + ":" + port, nil
	}
	return host, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// canonicalQuery drops empty, tracking and session parameters, re-escapes
// keys and values the same way and sorts them, keeping duplicates.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(part, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if dk == "" {
			continue
		}
		lk := strings.ToLower(dk)
		if strings.HasPrefix(lk, "utm_") || trackingParams[lk] || sessionParams[lk] || strings.HasPrefix(lk, "aspsessionid") {
			continue
		}
		dv, err := url.QueryUnescape(v)
		if err != nil {
			dv = v
		}
		pairs = append(pairs, kv{url.QueryEscape(dk), url.QueryEscape(dv)})
	}
	sort.SliceStable(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// upperEscapes writes percent escapes in upper case and decodes escaped
// unreserved characters (%7E -> ~), which RFC 3986 says are equivalent.
func upperEscapes(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			c := unhex(p[i+1])<<4 | unhex(p[i+2])
			if isUnreserved(c) {
				b.WriteByte(c)
			} else {
				b.WriteByte('%')
				b.WriteString(strings.ToUpper(p[i+1 : i+3]))
			}
			i += 2
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments resolves "." and ".." as RFC 3986 section 5.2.4 does,
// keeping a trailing slash (path.Clean would drop it and merge "//").
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}
