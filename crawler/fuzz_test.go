package crawler

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

// Fuzz targets for everything that reads hostile input. Seeds: the
// extractor fixtures under testdata/extract and testdata/site, plus the
// hostile cases under testdata/fuzz/FuzzXxx. `make fuzz` runs each for a
// while; CI runs the seeds with every `go test`.

func addFiles(f *testing.F, patterns ...string) {
	for _, p := range patterns {
		files, _ := filepath.Glob(filepath.Join("testdata", p))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// checkExtraction holds for whatever a page was: bounded, valid text,
// absolute http(s) links.
func checkExtraction(t *testing.T, ex extraction) {
	t.Helper()
	if len(ex.Ads) > maxAdsPerPage || len(ex.Links) > maxLinksPage {
		t.Fatalf("%d ads, %d links: over the limits", len(ex.Ads), len(ex.Links))
	}
	for _, a := range ex.Ads {
		if !utf8.ValidString(a.Title) || !utf8.ValidString(a.Text) || strings.ContainsRune(a.Title+a.Text, 0) {
			t.Fatalf("ad text not clean: %q / %q", a.Title, a.Text)
		}
		if len(a.Text) > maxTextBytes+8 || len(a.Title) > maxTitleBytes+8 {
			t.Fatalf("ad text of %d bytes, title %d: over the limits", len(a.Text), len(a.Title))
		}
		if u, err := url.Parse(a.Permalink); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("permalink %q is not an absolute http(s) URL", a.Permalink)
		}
	}
	for _, l := range ex.Links {
		if u, err := url.Parse(l.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("link %q is not an absolute http(s) URL", l.URL)
		}
	}
}

func fuzzSource(f *testing.F, src config.Source, pageURL, ct string) {
	s, err := newSource(src)
	if err != nil {
		f.Fatal(err)
	}
	base, _ := url.Parse(pageURL)
	f.Fuzz(func(t *testing.T, body []byte) {
		if src.Type != lokerwatch.SourceRSS {
			body = htmlUTF8(ct, body)
		}
		p := &page{URL: base, ContentType: ct, Body: body}
		ex, err := s.ext.extract(p)
		if err != nil {
			if src.Type != lokerwatch.SourceRSS {
				t.Fatalf("an HTML page did not parse: %v", err) // the parser takes anything
			}
			return
		}
		s.followLinks(p, &ex)
		checkExtraction(t, ex)
	})
}

func FuzzJobBoard(f *testing.F) {
	addFiles(f, "extract/jobboard_*.html", "site/job*.html")
	fuzzSource(f, config.Source{Name: "board", Type: lokerwatch.SourceJobBoard, Follow: []string{`.`}},
		"https://board.example/job/1", "text/html")
}

func FuzzTelegram(f *testing.F) {
	addFiles(f, "extract/telegram.html", "site/tg*.html")
	fuzzSource(f, config.Source{Name: "tg", Type: lokerwatch.SourceTelegram}, "https://t.me/s/lokerln", "text/html; charset=utf-8")
}

func FuzzFeed(f *testing.F) {
	addFiles(f, "extract/feed_*", "site/*feed.xml")
	fuzzSource(f, config.Source{Name: "feed", Type: lokerwatch.SourceRSS}, "https://iklan.example/feed.xml", "application/rss+xml")
}

func FuzzProfile(f *testing.F) {
	addFiles(f, "extract/profile.html", "site/forum*.html")
	fuzzSource(f, config.Source{Name: "forum", Type: lokerwatch.SourceHTML, Follow: []string{`/t/`},
		Profile: &config.Profile{Item: "div.post", Title: ".post-title", Text: ".post-body", Link: "a.permalink", Next: "a.next"}},
		"https://forum.example/forum?page=1", "text/html")
}

// FuzzCanonical: a canonical URL is an absolute http(s) URL, parses, and
// is its own canonical form (one page, one frontier key).
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"https://Example.COM:443/a/./b/../c?b=2&a=1&utm_source=x#frag",
		"http://user:pw@xn--bcher-kva.example/%7euser/;jsessionid=ABC?PHPSESSID=1",
		"https://bücher.example/päth?q=ä ö",
		"http://[::FFFF:127.0.0.1]:080/..//x?&&=&a",
		"HTTP://example.com/a%2fb%41?x=%zz",
		"https://example.com/" + strings.Repeat("a/../", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := Canonical(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(c)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
			t.Fatalf("Canonical(%q) = %q: not an absolute http(s) URL without user or fragment (%v)", raw, c, err)
		}
		c2, err := Canonical(c)
		if err != nil || c2 != c {
			t.Fatalf("Canonical is not idempotent: %q -> %q -> %q (%v)", raw, c, c2, err)
		}
	})
}

// FuzzParseHTML: any bytes parse (deep nesting flattened), and the text
// pass over them gives clean, bounded text.
func FuzzParseHTML(f *testing.F) {
	addFiles(f, "extract/*.html", "site/*.html")
	f.Add([]byte(strings.Repeat("<table><tr><td>", 600)))
	f.Fuzz(func(t *testing.T, body []byte) {
		doc, _, err := parseHTML(htmlUTF8("text/html", body))
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		var tb textBuilder
		tb.node(doc, 0)
		if s := tb.String(); !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > maxTextBytes+8 {
			t.Fatalf("text not clean or over the limit: %d bytes", len(s))
		}
		if s := htmlText(string(body)); !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("htmlText not clean: %q", s)
		}
	})
}
