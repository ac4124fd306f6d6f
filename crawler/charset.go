package crawler

import (
	"unicode/utf8"

	"golang.org/x/net/html/charset"
)

// htmlUTF8 decodes an HTML page into UTF-8 the way browsers pick its
// encoding: byte order mark, then the Content-Type charset, then a
// <meta charset> in the first KiB. A page that declares nothing is UTF-8
// when it is valid UTF-8 (the prescan alone would call a page that is
// ASCII for its first KiB windows-1252), else windows-1252. Invalid bytes
// that remain are dropped later by the text extraction.
func htmlUTF8(contentType string, body []byte) []byte {
	enc, name, certain := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" || (!certain && utf8.Valid(body)) {
		return body
	}
	out, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return out
}
