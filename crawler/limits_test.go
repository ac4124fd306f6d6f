package crawler

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

func testLimits(pagesPerHost int) *limits {
	l := newLimits(pagesPerHost)
	l.now = func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	return l
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLimitsOneURL(t *testing.T) {
	for _, tt := range []struct {
		url, reason string
	}{
		{"https://board.example/job/123", ""},
		{"https://board.example/job/1950", ""}, // an ID, not a year
		{"https://board.example/lowongan/2150/operator", ""},
		{"https://board.example/jobs?page=2", ""},
		{"https://news.example/2026/11/27/lowongan-kerja-jepang", ""},
		{"https://news.example/2026/11/11/", ""}, // numbers repeat legitimately
		{"https://board.example/page/1/item/1/1", ""},
		{"https://board.example/a/b/a/b", skipRepeat},
		{"https://board.example/jobs/jobs/x", skipRepeat},
		{"https://board.example/x/css/y/css/z/css", skipRepeat},
		{"https://board.example/" + strings.Repeat("s/", 20), skipRepeat},
		{"https://board.example/" + strings.Repeat("a/b/c/d/e/f/g/h/i/j/k/", 3) + "x", skipSegments},
		{"https://cal.example/calendar/2099/01", skipCalendarFar},
		{"https://cal.example/calendar?month=1&year=1901", skipCalendarFar},
		{"https://cal.example/events/2026-12-01", ""},
		{"https://cal.example/events/3026-12-01", ""}, // not a year we read as one
		{"https://cal.example/events/2100-12-01", skipCalendarFar},
	} {
		if got := testLimits(0).admit(mustURL(t, tt.url)); got != tt.reason {
			t.Errorf("%s: %q, want %q", tt.url, got, tt.reason)
		}
	}
}

// TestLimitsEndless walks the endless sequences a trap serves: each is cut
// after its allowance, while a finite one of the same size passes.
func TestLimitsEndless(t *testing.T) {
	months := func(i int) string {
		y, m := 2026+i/12, i%12+1
		return fmt.Sprintf("https://cal.example/calendar?month=%d&year=%d", m, y-2) // stays in range for 36 months
	}
	days := func(i int) string {
		d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
		return d.Format("https://cal.example/day/2006/01/02")
	}
	for _, tt := range []struct {
		name   string
		url    func(i int) string
		n      int
		allow  int
		reason string
	}{
		{"query calendar", months, 36, maxCalendarVariants, skipCalendar},
		{"path calendar", days, 60, maxCalendarVariants, skipCalendar},
		// Deep pagination is not a trap by itself: listings are judged by
		// their yield (TestListingYield), not by how many pages they have.
		{"deep pagination", func(i int) string { return fmt.Sprintf("https://x.example/jobs?page=%d", i) }, 1500, 1500, ""},
		{"dated articles", func(i int) string { return fmt.Sprintf("https://n.example/2026/11/27/article-%d", i) }, 100, 100, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := testLimits(0)
			ok := 0
			for i := 0; i < tt.n; i++ {
				why := l.admit(mustURL(t, tt.url(i)))
				if why == "" {
					ok++
				} else if why != tt.reason {
					t.Fatalf("%s: %q, want %q", tt.url(i), why, tt.reason)
				}
			}
			if ok != tt.allow {
				t.Errorf("%d of %d admitted, want %d", ok, tt.n, tt.allow)
			}
			// The same URL again is not a new variant.
			if why := l.admit(mustURL(t, tt.url(0))); why != "" {
				t.Errorf("the first URL again: %q", why)
			}
		})
	}
}

func TestLimitsPagesPerHost(t *testing.T) {
	l := testLimits(3)
	for i := 0; i < 3; i++ {
		if !l.fetch("a.example") {
			t.Fatalf("page %d of a.example refused", i+1)
		}
	}
	if l.fetch("a.example") || !l.fetch("b.example") {
		t.Error("the 4th page of a.example fetched, or b.example refused")
	}
	if why := l.admit(mustURL(t, "https://a.example/more")); why != skipPagesPerHost {
		t.Errorf("link to a full host: %q", why)
	}
	if why := l.admit(mustURL(t, "https://b.example/more")); why != "" {
		t.Errorf("link to b.example: %q", why)
	}
}

// TestListingYield: a listing is cut after barrenListings pages in a row
// without new links, and a productive page starts the count again.
func TestListingYield(t *testing.T) {
	l := testLimits(0)
	for i := 1; i < barrenListings; i++ {
		if n := l.listingYield("s\x00a.example", false); n != i {
			t.Fatalf("barren page %d: count %d", i, n)
		}
	}
	if n := l.listingYield("s\x00b.example", false); n != 1 {
		t.Errorf("another host shares the count: %d", n)
	}
	if n := l.listingYield("s\x00a.example", true); n != 0 {
		t.Errorf("a productive page: count %d, want 0", n)
	}
	if n := l.listingYield("s\x00a.example", false); n != 1 {
		t.Errorf("after a productive page: count %d, want 1", n)
	}
}
