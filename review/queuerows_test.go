package review

import (
	"bytes"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// TestRowCacheEscapesAndReuses: rows from the cache are exactly what
// html/template renders for them (hostile titles escaped), in the page's
// language, a changed row is rendered anew, and the cache stays bounded.
func TestRowCacheEscapesAndReuses(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := newRowCache(pages)
	hostile := queueRow{ID: "x1", AdID: "x1", Title: `<script>alert(1)</script><img src=x onerror=alert(2)>`,
		Source: `"><svg onload=alert(3)>`, AdHref: "javascript:alert(4)", ClaimHref: "/item/x1/claim", Badge: "waiting"}
	plain := queueRow{ID: "p1", AdID: "p1", Title: "Lowongan kerja", AdHref: "/ad/p1", ClaimHref: "/item/p1/claim", Badge: "waiting"}
	direct := func(r queueRow) string {
		var b bytes.Buffer
		if err := pages.get(i18n.English, "queue").ExecuteTemplate(&b, "queue-row", &r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for round := range 2 { // the second round comes from the cache
		got, err := c.html(i18n.English, []queueRow{hostile, plain})
		if err != nil {
			t.Fatal(err)
		}
		if want := direct(hostile) + direct(plain); string(got) != want {
			t.Fatalf("round %d: cached rows differ from html/template's:\n%s\nwant\n%s", round, got, want)
		}
		for _, bad := range []string{"<script", "<img", "<svg", "javascript:"} {
			if strings.Contains(string(got), bad) {
				t.Fatalf("round %d: %q not escaped in %s", round, bad, got)
			}
		}
	}
	// One row, two languages: each is rendered with its language's
	// template and kept apart.
	cluster := plain
	cluster.Size, cluster.ClusterHref = 3, "/cluster/abc"
	for _, c2 := range []struct {
		lang      i18n.Lang
		want, not string
	}{{i18n.English, "cluster of 3", "klaster"}, {i18n.Indonesian, "klaster 3 iklan", "cluster of"}, {i18n.English, "cluster of 3", "klaster"}} {
		got, err := c.html(c2.lang, []queueRow{cluster})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), c2.want) || strings.Contains(string(got), c2.not) {
			t.Errorf("%s row: %s", c2.lang, got)
		}
	}
	changed := plain
	changed.Badge, changed.State = "alice", "held"
	got, err := c.html(i18n.English, []queueRow{changed})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), ">alice<") {
		t.Fatalf("changed row rendered from the old entry: %s", got)
	}
	for i := range rowCacheMax + 10 {
		r := plain
		r.Score = i
		if _, err := c.html(i18n.English, []queueRow{r}); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.n.Load(); n > rowCacheMax {
		t.Fatalf("cache holds %d rows, want at most %d", n, rowCacheMax)
	}
}
