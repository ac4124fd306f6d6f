package crawler

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// TestTokensMatchTree: what the token pass finds — links, the base href,
// typed scripts and their text — is what the parsed tree holds, on the
// fixture pages and on markup that trips parsers.
func TestTokensMatchTree(t *testing.T) {
	cases := map[string]string{
		"unclosed and misnested": `<p><a href="/a">x<b><a href="/b">y</p></b><a href=/c>`,
		"raw text hides links":   `<script>var s = '<a href="/no">';</script><style>a{}</style><textarea><a href="/no2"></textarea><title><a href=/no3></title><noscript><a href="/no4"></noscript><a href="/yes">`,
		"comment and cdata":      `<!-- <a href="/no"> --><a href="/yes"><![CDATA[ <a href="/x"> ]]>`,
		"script forms":           `<script type="application/ld+json">{"a":"</p>"}</script><SCRIPT TYPE='application/ld+json;charset=utf-8'>[1]</SCRIPT><script type=x/></script><script>untyped</script><script type="application/ld+json">{"cut": `,
		"script escapes":         `<script type="t"><!--<script>x</script>y--></script><a href=/after>`,
		"entities and case":      `<A HREF="/q?a=1&amp;b=2">e</A><a href="/t&#x41;b">`,
		"duplicate attributes":   `<a href="/first" href="/second">`,
		"base":                   `<head><base target=_top><base href="https://b.example/x/"><base href="https://c.example/"></head><a href=rel>`,
		"template":               `<template><a href="/in-template"></template>`,
		"deep":                   strings.Repeat("<div>", 700) + `<a href="/deep">` + `<script type="application/ld+json">{}</script>`,
		"nul and crlf":           "<script type=\"t\">a\r\nb</script><a href=\"/n\x00ul\">",
	}
	for _, dir := range []string{"testdata/extract", "testdata/site"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.html"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cases[f] = string(b)
		}
	}
	if len(cases) < 15 {
		t.Fatalf("only %d cases: fixtures missing", len(cases))
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			u, _ := url.Parse("https://site.example/p/")
			p := &page{URL: u, ContentType: "text/html", Body: []byte(body)}
			toks := p.Tokens()
			doc, err := p.Doc()
			if err != nil {
				t.Fatal(err)
			}
			// The tree may hold one <a> twice (the adoption agency clones
			// misnested formatting elements), so links compare as sets.
			var tree []string
			doc.Find("a[href]").Each(func(_ int, s *goquery.Selection) {
				tree = append(tree, s.AttrOr("href", ""))
			})
			if got, want := set(toks.hrefs), set(tree); !slices.Equal(got, want) {
				t.Errorf("hrefs: tokens %q, tree %q", got, want)
			}
			if href, ok := doc.Find("base[href]").First().Attr("href"); ok != (toks.base != "") || href != toks.base {
				t.Errorf("base: tokens %q, tree %q", toks.base, href)
			}
			var scripts []script
			doc.Find("script[type]").Each(func(_ int, s *goquery.Selection) {
				scripts = append(scripts, script{typ: s.AttrOr("type", ""), text: s.Text()})
			})
			if !slices.Equal(toks.scripts, scripts) {
				t.Errorf("scripts: tokens %q, tree %q", toks.scripts, scripts)
			}
		})
	}
}

func set(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}
