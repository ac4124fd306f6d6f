package review

import (
	"bytes"
	"strings"
	"testing"
)

// TestRowCacheEscapesAndReuses: rows from the cache are exactly what
// html/template renders for them (hostile titles escaped), a changed row
// is rendered anew, and the cache stays bounded.
func TestRowCacheEscapesAndReuses(t *testing.T) {
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	c := newRowCache(pages.byName["queue"])
	hostile := queueRow{ID: "x1", AdID: "x1", Title: `<script>alert(1)</script><img src=x onerror=alert(2)>`,
		Source: `"><svg onload=alert(3)>`, AdHref: "javascript:alert(4)", ClaimHref: "/item/x1/claim", Badge: "waiting"}
	plain := queueRow{ID: "p1", AdID: "p1", Title: "Lowongan kerja", AdHref: "/ad/p1", ClaimHref: "/item/p1/claim", Badge: "waiting"}
	direct := func(r queueRow) string {
		var b bytes.Buffer
		if err := pages.byName["queue"].ExecuteTemplate(&b, "queue-row", &r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	for round := range 2 { // the second round comes from the cache
		got, err := c.html([]queueRow{hostile, plain})
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
	changed := plain
	changed.Badge, changed.State = "alice", "held"
	got, err := c.html([]queueRow{changed})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), ">alice<") {
		t.Fatalf("changed row rendered from the old entry: %s", got)
	}
	for i := range rowCacheMax + 10 {
		r := plain
		r.Score = i
		if _, err := c.html([]queueRow{r}); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.n.Load(); n > rowCacheMax {
		t.Fatalf("cache holds %d rows, want at most %d", n, rowCacheMax)
	}
}
