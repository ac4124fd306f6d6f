package crawler

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

const scamPosting = `<script type="application/ld+json">{"@type":"JobPosting","title":"Admin Online Kamboja",
"description":"Gaji $1500, tiket ditanggung, paspor ditahan agen. &lt;img src=x onerror=alert(1)&gt;"}</script>`

func nested(open, close string, n int, inner string) string {
	return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
}

// TestExtractDeepNesting: a page nested past the parser's 512-element
// limit still yields its ads (a scam page cannot hide behind 5,000 tables).
// The extractors that build a tree mark the page flattened; JSON-LD is
// read from the token stream, which has no depth limit.
func TestExtractDeepNesting(t *testing.T) {
	tables := nested("<table><tr><td>", "</td></tr></table>", 5000, "dalam")
	for _, tt := range []struct {
		name  string
		src   config.Source
		body  string
		title string
		tree  bool // the extractor builds a tree: the page is flattened
	}{
		{"jobboard JSON-LD after 5,000 tables", config.Source{Type: lokerwatch.SourceJobBoard},
			"<html><body>" + tables + scamPosting + "</body></html>", "Admin Online Kamboja", false},
		{"jobboard JSON-LD inside 5,000 tables", config.Source{Type: lokerwatch.SourceJobBoard},
			"<html><body>" + nested("<table><tr><td>", "</td></tr></table>", 5000, scamPosting) + "</body></html>", "Admin Online Kamboja", false},
		{"profile post inside 700 divs", config.Source{Type: lokerwatch.SourceHTML,
			Profile: &config.Profile{Item: "div.post", Title: ".t", Text: ".b"}},
			nested("<div>", "</div>", 700, `<div class="post"><h2 class="t">Kerja Myanmar</h2><p class="b">Gaji 20 juta</p></div>`), "Kerja Myanmar", true},
		{"telegram message under 600 unclosed <b>", config.Source{Type: lokerwatch.SourceTelegram},
			strings.Repeat("<b>", 600) + `<div class="tgme_widget_message" data-post="c/1"><div class="tgme_widget_message_text">Loker Laos gaji besar</div></div>`,
			"Loker Laos gaji besar", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.src.Name = "s"
			src, err := newSource(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse("https://hostile.example/p")
			p := &page{URL: u, ContentType: "text/html", Body: []byte(tt.body)}
			ex, err := src.ext.extract(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.Ads) != 1 || ex.Ads[0].Title != tt.title {
				t.Fatalf("ads %+v, want one titled %q", ex.Ads, tt.title)
			}
			if p.flattened != tt.tree {
				t.Errorf("page marked flattened: %v, want %v", p.flattened, tt.tree)
			}
		})
	}
}

// TestExtractKeepsPayloadAsText: markup in an ad's text is text, never
// markup, and NULs and invalid bytes are gone.
func TestExtractKeepsPayloadAsText(t *testing.T) {
	body := "<html><body>" + scamPosting + "\x00<p>\xff\xfe</p></body></html>"
	u, _ := url.Parse("https://hostile.example/p")
	ex, err := jobBoard{}.extract(&page{URL: u, ContentType: "text/html", Body: htmlUTF8("text/html; charset=utf-8", []byte(body))})
	if err != nil || len(ex.Ads) != 1 {
		t.Fatalf("%v %+v", err, ex.Ads)
	}
	text := ex.Ads[0].Text
	if !strings.HasSuffix(text, "<img src=x onerror=alert(1)>") || !utf8.ValidString(text) || strings.ContainsRune(text, 0) {
		t.Errorf("text %q: want the payload kept as text, valid UTF-8, no NUL", text)
	}
}

// TestFlatten: flattening keeps text and shallow structure and always
// gives the parser a document it accepts.
func TestFlatten(t *testing.T) {
	for _, in := range []string{
		nested("<div>", "</div>", 5000, "x"),
		nested("<table><tr><td>", "</td></tr></table>", 5000, "x"),
		strings.Repeat("<b><i>", 3000) + "x",
		strings.Repeat("<p><span>", 3000) + "x",
		strings.Repeat("<table><td>", 3000) + "x",
		strings.Repeat("<ul><li>", 3000) + "x",
		strings.Repeat("<select><option>", 3000) + "x",
		strings.Repeat("<div><script>var a='<div>';</script>", 3000) + "x",
	} {
		doc, flat, err := parseHTML([]byte(in))
		if err != nil || (!flat && strings.HasPrefix(in, "<div>")) {
			t.Errorf("%.40q…: err %v, flattened %v", in, err, flat)
			continue
		}
		var tb textBuilder
		tb.node(doc, 0)
		if got := tb.String(); got != "x" && !strings.HasSuffix(got, "x") {
			t.Errorf("%.40q…: text %.60q, want the x kept", in, got)
		}
	}
	shallow := "<div><p>a</p><div>b</div></div>"
	if got := string(flatten([]byte(shallow), 4)); got != shallow {
		t.Errorf("flatten changed a shallow page: %q", got)
	}
	// The outermost and innermost levels stay, the middle goes.
	if got := string(flatten([]byte(nested("<div>", "</div>", 10, `<p class="ad">x</p>`)), 4)); got != `<div><div><div><p class="ad">x</p></div></div></div>` {
		t.Errorf("flatten of 10 divs to 4 levels: %q", got)
	}
}

func BenchmarkParseDeep(b *testing.B) {
	deep := []byte("<html><body>" + nested("<table><tr><td>", "</td></tr></table>", 5000, "x") + "</body></html>")
	// The baseline: as many elements, side by side instead of nested.
	flat := []byte("<html><body>" + strings.Repeat("<table><tr><td>x</td></tr></table>", 5000) + "</body></html>")
	for _, bb := range []struct {
		name string
		body []byte
	}{{"baseline-5000-tables-side-by-side", flat}, {"5000-tables-nested", deep}} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(bb.body)))
			for b.Loop() {
				u, _ := url.Parse("https://hostile.example/")
				if _, err := (jobBoard{}).extract(&page{URL: u, Body: bb.body}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
