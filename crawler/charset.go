package crawler

import (
	"bytes"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// htmlUTF8 decodes an HTML page into valid UTF-8 the way browsers pick its
// encoding: byte order mark, then the Content-Type charset, then a
// <meta charset> in the first KiB. A page that declares nothing is UTF-8
// when it reads as UTF-8 (the prescan alone would call a page that is
// ASCII for its first KiB windows-1252), else windows-1252. Bytes that are
// not UTF-8 in a page read as UTF-8 become U+FFFD, which the text pass
// drops.
func htmlUTF8(contentType string, body []byte) []byte {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" || (!certain && mostlyUTF8(body)) {
		return validUTF8(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return validUTF8(body)
	}
	return out
}

func validUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// mostlyUTF8 tells a UTF-8 page with a few stray bytes (a pasted snippet)
// from a legacy single-byte page: UTF-8 has multi-byte sequences and more
// of them than invalid bytes; windows-1252 text has invalid bytes and
// almost never a valid multi-byte sequence.
func mostlyUTF8(b []byte) bool {
	if utf8.Valid(b) {
		return true
	}
	multi, bad := 0, 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			bad++
		} else {
			multi++
		}
		i += n
	}
	return multi > bad
}

// cleanText makes a string safe to store and show: valid UTF-8, without
// NUL and other control characters (tabs and line breaks stay).
func cleanText(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToValidUTF8(s, "")
	if strings.IndexFunc(s, badControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if badControl(r) {
			return -1
		}
		return r
	}, s)
}

func badControl(r rune) bool {
	return r != '\n' && r != '\t' && unicode.IsControl(r)
}

// xmlSafe replaces what XML forbids (invalid UTF-8, control characters) so
// that a feed with a stray byte still parses. Only used after a feed failed
// to parse as received.
func xmlSafe(b []byte) []byte {
	b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	return bytes.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return -1
		}
		if r == 0xFFFE || r == 0xFFFF {
			return -1
		}
		return r
	}, b)
}
