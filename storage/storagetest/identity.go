package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// identityTests fix one ad per page (issue 19): sightings per source, the
// own page's content over a feed's copy, removed ads, dropped links.
var identityTests = []test{
	{"SourcesPerAd", testIdentitySources},
	{"OwnPageWins", testIdentityOwnPage},
	{"OneBatch", testIdentityOneBatch},
	{"MarkRemoved", testIdentityRemoved},
	{"DroppedLinks", testIdentityDropped},
}

// pageAd is an ad of url read from its own page by source at t.
func pageAd(source, url string, t time.Time, title string) *lokerwatch.Ad {
	return &lokerwatch.Ad{ID: lokerwatch.PageAdID(url), Source: source, SourceType: lokerwatch.SourceJobBoard,
		URL: url, PageURL: url, FetchedAt: t, Title: title, Text: "text of " + title}
}

// feedAd is the same ad as an item of a feed at feedURL.
func feedAd(source, url, feedURL string, t time.Time, title string) *lokerwatch.Ad {
	ad := pageAd(source, url, t, title)
	ad.SourceType, ad.PageURL = lokerwatch.SourceRSS, feedURL
	return ad
}

func sourcesOf(ad *lokerwatch.Ad) []string {
	var out []string
	for _, sg := range ad.Sources {
		out = append(out, sg.Source)
	}
	return out
}

func testIdentitySources(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "https://board.example/job/1"
	a := pageAd("board", u, t0, "Operator")
	res, err := s.PutAd(ctx, a)
	must(t, err, "put from board")
	if !res.New || !slices.Equal(sourcesOf(a), []string{"board"}) {
		t.Fatalf("first put: %+v, sources %v", res, sourcesOf(a))
	}
	b := pageAd("mirror", u, t0.Add(time.Hour), "Operator")
	res, err = s.PutAd(ctx, b)
	must(t, err, "put from mirror")
	if res.New || b.ID != a.ID {
		t.Fatalf("second source made a new ad: %+v, ID %s", res, b.ID)
	}
	c := pageAd("board", u, t0.Add(2*time.Hour), "Operator")
	_, err = s.PutAd(ctx, c)
	must(t, err, "put from board again")
	got := getAd(t, s, a.ID)
	if !slices.Equal(sourcesOf(got), []string{"board", "mirror"}) {
		t.Fatalf("stored sources %+v, want board then mirror", got.Sources)
	}
	for _, sg := range got.Sources {
		want := map[string][2]time.Time{"board": {t0, t0.Add(2 * time.Hour)}, "mirror": {t0.Add(time.Hour), t0.Add(time.Hour)}}[sg.Source]
		if !sg.FirstSeen.Equal(want[0]) || !sg.LastSeen.Equal(want[1]) {
			t.Errorf("%s seen %v–%v, want %v–%v", sg.Source, sg.FirstSeen, sg.LastSeen, want[0], want[1])
		}
	}
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("ad seen %v–%v", got.FirstSeen, got.LastSeen)
	}
	total, _, err := s.CountAds(ctx)
	must(t, err, "count")
	if total != 1 {
		t.Errorf("%d ads, want 1", total)
	}
}

func testIdentityOwnPage(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "https://board.example/job/2"
	feed := "https://board.example/feed.xml"
	// The feed first: its copy is stored until the page comes.
	_, err := s.PutAd(ctx, feedAd("rss", u, feed, t0, "from the feed"))
	must(t, err, "put feed copy")
	page := pageAd("board", u, t0.Add(time.Hour), "from the page")
	res, err := s.PutAd(ctx, page)
	must(t, err, "put page")
	if res.New || !res.Changed {
		t.Errorf("page after feed: %+v, want changed", res)
	}
	if got := getAd(t, s, page.ID); got.Title != "from the page" || got.Source != "board" {
		t.Fatalf("after the page: %q from %s", got.Title, got.Source)
	}
	// The feed again: only its sighting is recorded.
	again := feedAd("rss", u, feed, t0.Add(2*time.Hour), "from the feed")
	res, err = s.PutAd(ctx, again)
	must(t, err, "put feed copy again")
	if res.New || res.Changed {
		t.Errorf("feed after page: %+v, want neither new nor changed", res)
	}
	got := getAd(t, s, page.ID)
	if got.Title != "from the page" || got.Source != "board" || got.PageURL != u {
		t.Errorf("the feed's copy replaced the page's: %q from %s (%s)", got.Title, got.Source, got.PageURL)
	}
	if !slices.Equal(sourcesOf(got), []string{"rss", "board"}) || !got.LastSeen.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("sources %+v, last seen %v", got.Sources, got.LastSeen)
	}
}

func testIdentityRemoved(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	u := "https://board.example/job/3"
	ok, err := s.MarkRemoved(ctx, u, t0)
	must(t, err, "mark unknown removed")
	if ok {
		t.Error("MarkRemoved of a page without ad reported an ad")
	}
	ad := pageAd("board", u, t0, "Operator")
	_, err = s.PutAd(ctx, ad)
	must(t, err, "put")
	gone := t0.Add(24 * time.Hour)
	ok, err = s.MarkRemoved(ctx, u, gone)
	must(t, err, "mark removed")
	if !ok {
		t.Fatal("MarkRemoved found no ad")
	}
	_, err = s.MarkRemoved(ctx, u, gone.Add(time.Hour))
	must(t, err, "mark removed again")
	got := getAd(t, s, ad.ID)
	if !got.RemovedAt.Equal(gone) || got.Title != "Operator" {
		t.Fatalf("removed ad: RemovedAt %v (want the first mark, %v), title %q", got.RemovedAt, gone, got.Title)
	}
	var scanned *lokerwatch.Ad
	must(t, s.ScanAds(ctx, storage.AdFilter{}, func(a *lokerwatch.Ad) error { scanned = a; return nil }), "scan")
	if scanned == nil || !scanned.RemovedAt.Equal(gone) {
		t.Errorf("scan does not show the removal: %+v", scanned)
	}
	// The page is back: the ad is no longer removed.
	_, err = s.PutAd(ctx, pageAd("board", u, gone.Add(48*time.Hour), "Operator"))
	must(t, err, "put again")
	if got := getAd(t, s, ad.ID); !got.RemovedAt.IsZero() {
		t.Errorf("ad stored again still removed at %v", got.RemovedAt)
	}
}

func testIdentityDropped(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	got, err := s.DroppedLinks(ctx)
	must(t, err, "dropped links of a fresh store")
	if len(got) != 0 {
		t.Fatalf("fresh store: %v", got)
	}
	must(t, s.AddDroppedLinks(ctx, []storage.DroppedLinks{
		{Source: "board", Reason: "max_depth", N: 3}, {Source: "a b", Reason: "trap: calendar", N: 1},
	}), "add")
	must(t, s.AddDroppedLinks(ctx, []storage.DroppedLinks{{Source: "board", Reason: "max_depth", N: 2}}), "add more")
	must(t, s.AddDroppedLinks(ctx, nil), "add none")
	got, err = s.DroppedLinks(ctx)
	must(t, err, "dropped links")
	want := []storage.DroppedLinks{{Source: "a b", Reason: "trap: calendar", N: 1}, {Source: "board", Reason: "max_depth", N: 5}}
	if !slices.Equal(got, want) {
		t.Errorf("dropped links %v, want %v", got, want)
	}
}

// testIdentityOneBatch: a page and the feed item linking to it, finished
// in one FinishPages call in either order, are one ad with the page's
// content, both sightings, and one New.
func testIdentityOneBatch(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	for i, feedLast := range []bool{true, false} {
		u := fmt.Sprintf("https://board.example/job/batch-%d", i)
		feedURL := fmt.Sprintf("https://board.example/feed-%d.xml", i)
		_, err := s.Add(ctx, storage.Request{URL: u, Source: "board", Kind: "page"}, storage.Request{URL: feedURL, Source: "rss", Kind: "seed"})
		must(t, err, "add")
		ls, err := s.ClaimRequests(ctx, "w", time.Minute, 2)
		must(t, err, "claim")
		if len(ls) != 2 {
			t.Fatalf("claimed %d, want the page and the feed (one host)", len(ls))
		}
		pages := make([]storage.FinishedPage, 2)
		for j, l := range ls {
			ad := pageAd("board", u, t0, "from the page")
			if l.URL == feedURL {
				ad = feedAd("rss", u, feedURL, t0.Add(time.Minute), "from the feed")
			}
			pages[j] = storage.FinishedPage{Lease: l, Ads: []*lokerwatch.Ad{ad}}
		}
		if (pages[1].Lease.URL == feedURL) != feedLast {
			pages[0], pages[1] = pages[1], pages[0]
		}
		res, err := s.FinishPages(ctx, pages)
		must(t, err, "finish")
		news := 0
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("page: %v", r.Err)
			}
			for _, p := range r.Puts {
				if p.New {
					news++
				}
			}
		}
		if news != 1 {
			t.Errorf("feed last %v: %d puts New, want 1", feedLast, news)
		}
		got := getAd(t, s, lokerwatch.PageAdID(u))
		if got.Title != "from the page" || got.Source != "board" {
			t.Errorf("feed last %v: stored %q from %s, want the page's", feedLast, got.Title, got.Source)
		}
		if names := sourcesOf(got); len(names) != 2 {
			t.Errorf("feed last %v: sources %v, want board and rss", feedLast, names)
		}
	}
}
