package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

var adsTests = []test{
	{"PutGetRoundTrip", testAdsRoundTrip},
	{"UpdateNewChanged", testAdsUpdate},
	{"IndexKeys", testAdsIndex},
	{"ScanOrderAndFilters", testAdsScan},
	{"ScanManyStreams", testAdsScanMany},
	{"CountAndDelete", testAdsCountDelete},
	{"BadInput", testAdsBadInput},
}

func testAdsBadInput(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	if _, err := s.PutAd(ctx, &lokerwatch.Ad{Title: "no id"}); err == nil {
		t.Error("put of an ad without ID succeeded")
	}
	if _, err := s.PutAd(ctx, nil); err == nil {
		t.Error("put of a nil ad succeeded")
	}
	total, _, err := s.CountAds(ctx)
	must(t, err, "count")
	if total != 0 {
		t.Fatalf("refused puts stored %d ads", total)
	}
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// sampleAd is a fully populated ad: every field must survive the store.
func sampleAd(source, url string, score int) *lokerwatch.Ad {
	flagged := score >= 50
	cat := lokerwatch.CategoryNone
	if flagged {
		cat = lokerwatch.CategoryScam
	}
	return &lokerwatch.Ad{
		ID:             lokerwatch.AdID(source, url),
		Source:         source,
		SourceType:     lokerwatch.SourceTelegram,
		URL:            url,
		PageURL:        url + "?page=1",
		FetchedAt:      t0,
		ResponseDigest: "sha256:00ff",
		Title:          "Lowongan admin Kamboja gaji 15 juta",
		Text:           "Butuh cepat, tanpa pengalaman, visa ditanggung. WA +6281234567890",
		Company:        "PT Maju",
		Location:       "Phnom Penh",
		Salary:         "15.000.000/bulan",
		PostedAt:       t0.Add(-24 * time.Hour),
		Lang:           "id",
		Entities: lokerwatch.Entities{
			Phones:    []string{"+6281234567890"},
			WhatsApp:  []string{"+6281234567890"},
			Telegram:  []string{"hrd_kamboja"},
			Emails:    []string{"hrd@example.com"},
			Countries: []string{"KH"},
			Places:    []string{"Phnom Penh"},
			Agencies:  []string{"pt maju"},
			Licences:  []string{"KEP.123"},
			SalaryIDR: 15_000_000,
		},
		Assessment: &lokerwatch.Assessment{
			Score:      score,
			Flagged:    flagged,
			Category:   cat,
			Categories: map[lokerwatch.Category]int{lokerwatch.CategoryScam: score, lokerwatch.CategoryTrafficking: 10},
			Signals: []lokerwatch.Signal{
				{Rule: "scam.no_experience_high_pay", Category: lokerwatch.CategoryScam, Weight: 30, Evidence: "tanpa pengalaman", Start: 50, End: 66},
				{Rule: "benign.x", Category: lokerwatch.CategoryScam, Weight: -5, Description: "d", Evidence: "e"},
			},
			Version: "rules-abc",
		},
		Fingerprint: 0x1234_5678_9abc_def0,
	}
}

func adJSON(t *testing.T, ad *lokerwatch.Ad) string {
	t.Helper()
	b, err := json.Marshal(ad)
	must(t, err, "marshal ad")
	return string(b)
}

func getAd(t *testing.T, s storage.Store, id string) *lokerwatch.Ad {
	t.Helper()
	ad, err := s.GetAd(testCtx(t), id)
	must(t, err, "get ad "+id)
	return ad
}

func testAdsRoundTrip(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	_, err := s.GetAd(ctx, "nope")
	wantErr(t, err, lokerwatch.ErrNotFound, "get unknown ad")

	in := sampleAd("chan", "https://t.me/lokerln/5", 80)
	res, err := s.PutAd(ctx, in)
	must(t, err, "put ad")
	if !res.New || res.Changed {
		t.Fatalf("first put = %+v, want New", res)
	}
	if !in.FirstSeen.Equal(t0) || !in.LastSeen.Equal(t0) {
		t.Fatalf("put set FirstSeen %v LastSeen %v on the ad, want both %v (its FetchedAt)", in.FirstSeen, in.LastSeen, t0)
	}
	out := getAd(t, s, in.ID)
	if !out.FirstSeen.Equal(t0) || !out.LastSeen.Equal(t0) {
		t.Fatalf("stored FirstSeen %v LastSeen %v, want %v", out.FirstSeen, out.LastSeen, t0)
	}
	if got, want := adJSON(t, out), adJSON(t, in); got != want {
		t.Fatalf("ad changed in the store:\n got %s\nwant %s", got, want)
	}

	// An ad with no assessment and FetchedAt unset gets LastSeen now.
	bare := &lokerwatch.Ad{ID: "bare", Source: "s", URL: "http://x/1", Title: "t"}
	before := time.Now()
	_, err = s.PutAd(ctx, bare)
	must(t, err, "put bare ad")
	got := getAd(t, s, "bare")
	if got.Assessment != nil || !near(got.LastSeen, before, 10*time.Second) || !got.FirstSeen.Equal(got.LastSeen) {
		t.Fatalf("bare ad stored as %+v", got)
	}
}

func testAdsUpdate(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	ad := sampleAd("chan", "https://t.me/lokerln/6", 40)
	_, err := s.PutAd(ctx, ad)
	must(t, err, "put")

	again := sampleAd("chan", "https://t.me/lokerln/6", 90) // same content, new assessment
	again.FetchedAt = t0.Add(time.Hour)
	res, err := s.PutAd(ctx, again)
	must(t, err, "put again")
	if res.New || res.Changed {
		t.Fatalf("same content put = %+v, want neither New nor Changed", res)
	}
	got := getAd(t, s, ad.ID)
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Fatalf("FirstSeen %v LastSeen %v, want %v and %v", got.FirstSeen, got.LastSeen, t0, t0.Add(time.Hour))
	}
	if got.Assessment == nil || got.Assessment.Score != 90 || !got.Assessment.Flagged {
		t.Fatalf("assessment not updated: %+v", got.Assessment)
	}

	edited := sampleAd("chan", "https://t.me/lokerln/6", 90)
	edited.FetchedAt = t0.Add(2 * time.Hour)
	edited.Text += " Edit: kuota terbatas."
	res, err = s.PutAd(ctx, edited)
	must(t, err, "put edited")
	if res.New || !res.Changed {
		t.Fatalf("edited put = %+v, want Changed", res)
	}
	if !edited.FirstSeen.Equal(t0) {
		t.Fatalf("put set FirstSeen %v on the ad, want the stored %v", edited.FirstSeen, t0)
	}
	if got := getAd(t, s, ad.ID); got.Text != edited.Text {
		t.Fatalf("text not updated: %q", got.Text)
	}
	total, flagged, err := s.CountAds(ctx)
	must(t, err, "count")
	if total != 1 || flagged != 1 {
		t.Fatalf("CountAds = %d, %d after updates of one ad, want 1, 1", total, flagged)
	}
}

func adsByKey(t *testing.T, s storage.Store, kind lokerwatch.EntityKind, value string) []string {
	t.Helper()
	ids, err := s.AdsByKey(testCtx(t), lokerwatch.IndexKey{Kind: kind, Value: value})
	must(t, err, "ads by key")
	slices.Sort(ids)
	return ids
}

func testAdsIndex(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	a := sampleAd("chan", "https://t.me/lokerln/1", 80)
	b := sampleAd("board", "https://jobs.example/job/1", 60)
	b.Entities = lokerwatch.Entities{Phones: []string{"+6281234567890"}, Emails: []string{"b@example.com"}}
	b.Fingerprint = a.Fingerprint ^ 1 // differs in band 0 only
	_, err := s.PutAd(ctx, a)
	must(t, err, "put a")
	_, err = s.PutAd(ctx, b)
	must(t, err, "put b")

	both := []string{a.ID, b.ID}
	slices.Sort(both)
	if got := adsByKey(t, s, lokerwatch.EntityPhone, "+6281234567890"); !slices.Equal(got, both) {
		t.Fatalf("ads by shared phone = %v, want %v", got, both)
	}
	if got := adsByKey(t, s, lokerwatch.EntityTelegram, "hrd_kamboja"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("ads by telegram = %v, want [%s]", got, a.ID)
	}
	for _, k := range lokerwatch.IndexKeys(a) {
		if got := adsByKey(t, s, k.Kind, k.Value); !slices.Contains(got, a.ID) {
			t.Fatalf("ad not indexed under %v", k)
		}
	}
	band3 := lokerwatch.IndexKeys(a)
	var shared lokerwatch.IndexKey
	for _, k := range band3 {
		if k.Kind == lokerwatch.EntityFingerprint && k.Value[0] == '3' {
			shared = k
		}
	}
	if got := adsByKey(t, s, shared.Kind, shared.Value); !slices.Equal(got, both) {
		t.Fatalf("ads by simhash band %v = %v, want both", shared, got)
	}
	if got := adsByKey(t, s, lokerwatch.EntityPhone, "+620000"); len(got) != 0 {
		t.Fatalf("unknown key returned %v", got)
	}

	// An update replaces the old keys.
	a2 := sampleAd("chan", "https://t.me/lokerln/1", 80)
	a2.Entities.Phones = []string{"+6289999999999"}
	a2.Entities.WhatsApp = nil
	a2.Entities.Telegram = nil
	_, err = s.PutAd(ctx, a2)
	must(t, err, "update a")
	if got := adsByKey(t, s, lokerwatch.EntityPhone, "+6281234567890"); !slices.Equal(got, []string{b.ID}) {
		t.Fatalf("after a dropped the phone, ads by it = %v, want only b", got)
	}
	if got := adsByKey(t, s, lokerwatch.EntityTelegram, "hrd_kamboja"); len(got) != 0 {
		t.Fatalf("after a dropped the handle, ads by it = %v", got)
	}
	if got := adsByKey(t, s, lokerwatch.EntityPhone, "+6289999999999"); !slices.Equal(got, []string{a.ID}) {
		t.Fatalf("ads by a's new phone = %v", got)
	}

	must(t, s.DeleteAd(ctx, b.ID), "delete b")
	if got := adsByKey(t, s, lokerwatch.EntityEmail, "b@example.com"); len(got) != 0 {
		t.Fatalf("deleted ad still indexed: %v", got)
	}
}

func putScanFixture(t *testing.T, s storage.Store) []*lokerwatch.Ad {
	t.Helper()
	var ads []*lokerwatch.Ad
	// Put out of order: the store orders by LastSeen, not by insertion.
	for _, i := range []int{3, 0, 4, 1, 2} {
		src := "a"
		if i%2 == 1 {
			src = "b"
		}
		ad := sampleAd(src, fmt.Sprintf("http://x.example/%d", i), 30+15*i)
		ad.Assessment.Flagged = i%2 == 0
		ad.FetchedAt = t0.Add(time.Duration(i) * time.Hour)
		_, err := s.PutAd(testCtx(t), ad)
		must(t, err, "put")
		ads = append(ads, ad)
	}
	slices.SortFunc(ads, func(x, y *lokerwatch.Ad) int { return x.FetchedAt.Compare(y.FetchedAt) })
	return ads
}

func scanURLs(t *testing.T, s storage.Store, f storage.AdFilter) []string {
	t.Helper()
	var urls []string
	must(t, s.ScanAds(testCtx(t), f, func(ad *lokerwatch.Ad) error {
		urls = append(urls, ad.URL)
		return nil
	}), "scan")
	return urls
}

func testAdsScan(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	putScanFixture(t, s)
	u := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, fmt.Sprintf("http://x.example/%d", i))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    storage.AdFilter
		want []string
	}{
		{"all", storage.AdFilter{}, u(0, 1, 2, 3, 4)},
		{"flagged", storage.AdFilter{FlaggedOnly: true}, u(0, 2, 4)},
		{"source", storage.AdFilter{Source: "b"}, u(1, 3)},
		{"since", storage.AdFilter{Since: t0.Add(2 * time.Hour)}, u(2, 3, 4)},
		{"until", storage.AdFilter{Until: t0.Add(2 * time.Hour)}, u(0, 1)},
		{"window", storage.AdFilter{Since: t0.Add(time.Hour), Until: t0.Add(3*time.Hour + time.Second)}, u(1, 2, 3)},
		{"limit", storage.AdFilter{Limit: 2}, u(0, 1)},
		{"flagged source limit", storage.AdFilter{FlaggedOnly: true, Source: "a", Limit: 2}, u(0, 2)},
		{"none", storage.AdFilter{Source: "zzz"}, nil},
	} {
		if got := scanURLs(t, s, tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("scan %s = %v, want %v", tc.name, got, tc.want)
		}
	}

	stop := errors.New("stop here")
	calls := 0
	err := s.ScanAds(ctx, storage.AdFilter{}, func(*lokerwatch.Ad) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Fatalf("scan after fn error: err %v after %d calls, want the fn error after 2", err, calls)
	}

	// fn may use the store while the scan runs (exports look up evidence).
	err = s.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		if _, err := s.GetAd(ctx, ad.ID); err != nil {
			return err
		}
		_, err := s.PutAd(ctx, &lokerwatch.Ad{ID: "side-" + ad.ID, Source: "side", FetchedAt: t0.Add(-time.Hour)})
		return err
	})
	must(t, err, "scan with store calls in fn")
}

func testAdsScanMany(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	// Many ads share one LastSeen: a paging scan must neither skip nor repeat.
	const n = 600
	for i := range n {
		ad := &lokerwatch.Ad{ID: fmt.Sprintf("ad-%04d", (i*37)%n), Source: "s", Title: "t", FetchedAt: t0.Add(time.Duration(i%3) * time.Minute)}
		_, err := s.PutAd(ctx, ad)
		must(t, err, "put")
	}
	seen := map[string]bool{}
	var last *lokerwatch.Ad
	must(t, s.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		if seen[ad.ID] {
			t.Fatalf("scan returned %s twice", ad.ID)
		}
		seen[ad.ID] = true
		if last != nil && (ad.LastSeen.Before(last.LastSeen) || ad.LastSeen.Equal(last.LastSeen) && ad.ID < last.ID) {
			t.Fatalf("scan order: %s (%v) after %s (%v)", ad.ID, ad.LastSeen, last.ID, last.LastSeen)
		}
		last = ad
		return nil
	}), "scan")
	if len(seen) != n {
		t.Fatalf("scan returned %d ads, want %d", len(seen), n)
	}
}

func testAdsCountDelete(t *testing.T, s storage.Store) {
	ctx := testCtx(t)
	total, flagged, err := s.CountAds(ctx)
	must(t, err, "count empty")
	if total != 0 || flagged != 0 {
		t.Fatalf("empty store counts %d, %d", total, flagged)
	}
	ads := putScanFixture(t, s)
	total, flagged, err = s.CountAds(ctx)
	must(t, err, "count")
	if total != 5 || flagged != 3 {
		t.Fatalf("CountAds = %d, %d, want 5, 3", total, flagged)
	}
	must(t, s.DeleteAd(ctx, ads[0].ID), "delete")
	_, err = s.GetAd(ctx, ads[0].ID)
	wantErr(t, err, lokerwatch.ErrNotFound, "get deleted ad")
	wantErr(t, s.DeleteAd(ctx, ads[0].ID), lokerwatch.ErrNotFound, "delete twice")
	total, flagged, err = s.CountAds(ctx)
	must(t, err, "count")
	if total != 4 || flagged != 2 {
		t.Fatalf("CountAds after delete = %d, %d, want 4, 2", total, flagged)
	}
	if got := scanURLs(t, s, storage.AdFilter{}); len(got) != 4 || slices.Contains(got, ads[0].URL) {
		t.Fatalf("scan after delete = %v", got)
	}
}
