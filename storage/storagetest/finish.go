package storagetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

var finishTests = []test{
	{"StoresAndAcks", testFinishPages},
	{"AdWithoutID", testFinishPagesNoID},
}

// testFinishPages ends several pages in one call, one of them with a lease
// that expired and went to another worker: the live pages' ads are stored
// (new, changed and unchanged told apart, FirstSeen kept, index keys
// replaced) and their URLs done; the lost page writes nothing and the new
// holder's lease is untouched.
func testFinishPages(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := &lokerwatch.Ad{ID: "old", Source: "board", URL: "https://a.example/job/1", Title: "Operator", Text: "gaji UMK",
		FetchedAt: base, Entities: lokerwatch.Entities{Phones: []string{"+6281111"}}}
	same := &lokerwatch.Ad{ID: "same", Source: "board", URL: "https://b.example/job/1", Title: "Kasir", Text: "shift pagi",
		FetchedAt: base}
	for _, ad := range []*lokerwatch.Ad{old, same} {
		_, err := s.PutAd(ctx, ad)
		must(t, err, "put ad "+ad.ID)
	}

	_, err := s.Add(ctx, storage.Request{URL: "https://a.example/jobs", Source: "board", Kind: "page"},
		storage.Request{URL: "https://b.example/jobs", Source: "board", Kind: "page"},
		storage.Request{URL: "https://c.example/jobs", Source: "board", Kind: "page"})
	must(t, err, "add")
	leases := map[string]*storage.Lease{}
	for range 3 {
		l := claim(t, s, "w1", time.Minute)
		leases[l.Host] = l
	}
	if len(leases) != 3 {
		t.Fatalf("claimed %d hosts, want a, b and c", len(leases))
	}
	// The lost page last, with a short lease, so that it alone expires.
	_, err = s.Add(ctx, storage.Request{URL: "https://d.example/jobs", Source: "board", Kind: "page"})
	must(t, err, "add")
	lost := claim(t, s, "w1", time.Minute)
	expire(t, s, lost)
	reapOne(t, s)
	holder := claim(t, s, "w2", time.Minute)
	if holder.URL != lost.URL {
		t.Fatalf("claimed %s, want the reaped %s", holder.URL, lost.URL)
	}

	later := base.Add(time.Hour)
	edited := &lokerwatch.Ad{ID: "old", Source: "board", URL: old.URL, Title: "Operator", Text: "gaji 30 juta",
		FetchedAt: later, Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
	fresh := &lokerwatch.Ad{ID: "new", Source: "board", URL: "https://a.example/job/2", Title: "Admin", Text: "kerja di kantor",
		FetchedAt: later, Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
	again := &lokerwatch.Ad{ID: "same", Source: "board", URL: same.URL, Title: same.Title, Text: same.Text, FetchedAt: later}
	stray := &lokerwatch.Ad{ID: "lost", Source: "board", URL: "https://d.example/job/1", Title: "x", Text: "y", FetchedAt: later}
	pages := []storage.FinishedPage{
		{Lease: leases["a.example"], Ads: []*lokerwatch.Ad{edited, fresh}, Ack: storage.AckOptions{ETag: `"v1"`}},
		{Lease: lost, Ads: []*lokerwatch.Ad{stray}},
		{Lease: leases["b.example"], Ads: []*lokerwatch.Ad{again}},
		{Lease: leases["c.example"]}, // a page without ads is acked all the same
	}
	res, err := s.FinishPages(ctx, pages)
	must(t, err, "finish pages")
	if len(res) != len(pages) {
		t.Fatalf("%d results for %d pages", len(res), len(pages))
	}
	for i, want := range [][]storage.PutResult{
		{{Changed: true}, {New: true}},
		nil,
		{{}},
		{},
	} {
		r := res[i]
		if i == 1 {
			wantErr(t, r.Err, lokerwatch.ErrLeaseLost, "page with the lost lease")
			if r.Puts != nil {
				t.Errorf("page with the lost lease has Puts %+v, want nil", r.Puts)
			}
			continue
		}
		if r.Err != nil || !slices.Equal(r.Puts, want) {
			t.Errorf("page %s: Puts %+v Err %v, want %+v", pages[i].Lease.URL, r.Puts, r.Err, want)
		}
	}

	got := getAd(t, s, "old")
	if !got.FirstSeen.Equal(base) || !got.LastSeen.Equal(later) || got.Text != "gaji 30 juta" {
		t.Errorf("stored ad: first %v last %v text %q, want first %v last %v and the new text", got.FirstSeen, got.LastSeen, got.Text, base, later)
	}
	if !edited.FirstSeen.Equal(base) || !edited.LastSeen.Equal(later) {
		t.Errorf("ad passed in has FirstSeen %v LastSeen %v, want %v and %v", edited.FirstSeen, edited.LastSeen, base, later)
	}
	if !fresh.FirstSeen.Equal(later) {
		t.Errorf("new ad has FirstSeen %v, want its FetchedAt %v", fresh.FirstSeen, later)
	}
	if got := getAd(t, s, "same"); !got.FirstSeen.Equal(base) || !got.LastSeen.Equal(later) {
		t.Errorf("unchanged ad: first %v last %v, want %v and %v", got.FirstSeen, got.LastSeen, base, later)
	}
	if ids := adsByKey(t, s, lokerwatch.EntityPhone, "+6281111"); len(ids) != 0 {
		t.Errorf("the edited ad's old phone still indexes %v", ids)
	}
	if ids := adsByKey(t, s, lokerwatch.EntityPhone, "+6282222"); !slices.Equal(ids, []string{"new", "old"}) {
		t.Errorf("new phone indexes %v, want [new old]", ids)
	}
	_, err = s.GetAd(ctx, "lost")
	wantErr(t, err, lokerwatch.ErrNotFound, "get the ad of the lost page")
	wantStats(t, s, 0, 1, 3, 0, 0)
	for _, l := range leases {
		wantErr(t, s.Ack(ctx, l, storage.AckOptions{}), lokerwatch.ErrLeaseLost, "ack a finished page")
	}
	must(t, s.Ack(ctx, holder, storage.AckOptions{}), "ack by the worker that holds the lost page now")
	wantStats(t, s, 0, 0, 4, 0, 0)

	// The page's AckOptions were applied as by Ack.
	_, err = s.Add(ctx, storage.Request{URL: "https://a.example/jobs", Source: "board", Kind: "page", Revisit: true})
	must(t, err, "revisit")
	l := claim(t, s, "w3", time.Minute)
	if l.URL != "https://a.example/jobs" || l.ETag != `"v1"` {
		t.Fatalf("revisit lease %s ETag %q, want a.example/jobs with the ETag of the finished page", l.URL, l.ETag)
	}
}

// testFinishPagesNoID: an ad without ID fails the whole call; nothing is
// written and every lease of the call still holds.
func testFinishPagesNoID(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	res, err := s.FinishPages(ctx, nil)
	if err != nil || len(res) != 0 {
		t.Fatalf("finish no pages: %v, %v; want no results and no error", res, err)
	}
	_, err = s.Add(ctx, req("http://a.example/jobs"), req("http://b.example/jobs"))
	must(t, err, "add")
	la := claim(t, s, "w", time.Minute)
	lb := claim(t, s, "w", time.Minute)
	good := &lokerwatch.Ad{ID: "good", Source: "src", URL: "http://a.example/job/1", Title: "t", Text: "x"}
	_, err = s.FinishPages(ctx, []storage.FinishedPage{
		{Lease: la, Ads: []*lokerwatch.Ad{good}},
		{Lease: lb, Ads: []*lokerwatch.Ad{{Title: "no id"}}},
	})
	if err == nil {
		t.Fatal("FinishPages took an ad without ID")
	}
	if errors.Is(err, lokerwatch.ErrLeaseLost) {
		t.Fatalf("ad without ID reported as a lost lease: %v", err)
	}
	_, err = s.GetAd(ctx, "good")
	wantErr(t, err, lokerwatch.ErrNotFound, "get an ad of the refused call")
	if total, _, err := s.CountAds(ctx); err != nil || total != 0 {
		t.Fatalf("after the refused call CountAds = %d, %v; want 0", total, err)
	}
	wantStats(t, s, 0, 2, 0, 0, 0)
	must(t, s.Extend(ctx, time.Minute, la, lb), "extend the leases of the refused call")
	must(t, s.Ack(ctx, la, storage.AckOptions{}), "ack")
	must(t, s.Ack(ctx, lb, storage.AckOptions{}), "ack")
}
