package crawler_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// fixtureSite serves files of testdata/site on fixed routes and records
// every request it gets.
type fixtureSite struct {
	t      *testing.T
	srv    *httptest.Server
	routes map[string]route
	subst  func([]byte) []byte

	mu   sync.Mutex
	hits []hit
}

type route struct {
	file   string
	ctype  string
	status int
	gzip   bool   // serve gzip-encoded when the client accepts it
	to     string // redirect target
}

type hit struct {
	target string // path?query
	at     time.Time
}

func newFixtureSite(t *testing.T, routes map[string]route) *fixtureSite {
	f := &fixtureSite{t: t, routes: routes, subst: func(b []byte) []byte { return b }}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixtureSite) serve(w http.ResponseWriter, r *http.Request) {
	target := r.URL.RequestURI()
	f.mu.Lock()
	f.hits = append(f.hits, hit{target, time.Now()})
	f.mu.Unlock()
	rt, ok := f.routes[target]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if rt.to != "" {
		http.Redirect(w, r, rt.to, http.StatusMovedPermanently)
		return
	}
	if rt.status >= 400 {
		http.Error(w, http.StatusText(rt.status), rt.status)
		return
	}
	body, err := os.ReadFile(filepath.Join("testdata", "site", rt.file))
	if err != nil {
		f.t.Errorf("fixture %s: %v", rt.file, err)
		http.Error(w, "fixture missing", 500)
		return
	}
	body = f.subst(body)
	w.Header().Set("Content-Type", rt.ctype)
	if rt.gzip && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write(body)
		zw.Close()
		w.Header().Set("Content-Encoding", "gzip")
		body = b.Bytes()
	}
	w.Write(body)
}

func (f *fixtureSite) count(target string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, h := range f.hits {
		if h.target == target {
			n++
		}
	}
	return n
}

func (f *fixtureSite) requests() []hit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]hit(nil), f.hits...)
}

// label is one line of testdata/site/labels.jsonl: an ad the fixture web
// holds, what the crawler must extract, and whether it must be flagged.
type label struct {
	Source   string    `json:"source"`
	URL      string    `json:"url"` // a trailing * matches the text-digest anchor
	Title    string    `json:"title"`
	Company  string    `json:"company"`
	Location string    `json:"location"`
	Salary   string    `json:"salary"`
	PostedAt time.Time `json:"posted_at"`
	Text     string    `json:"text"` // must be part of the ad text
	Label    string    `json:"label"`
	Flag     bool      `json:"flag"`
	// FromPage: the page has no usable JobPosting (job/5's is cut off);
	// the ad is the page's own title and text.
	FromPage bool `json:"from_page"`
}

const html = "text/html; charset=utf-8"

// TestCrawlFixtureWeb crawls a fixture web of all four source types, with
// a robots.txt that disallows pages the site links to and broken pages, into
// a real store: the embedded SQLite one and, when redis-server is installed,
// the distributed Redis one.
func TestCrawlFixtureWeb(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crawl")
	}
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		crawlFixtureWeb(t, st)
	})
	t.Run("redis", func(t *testing.T) {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("redis-server not installed (apt-get install redis-server); Redis store not crawled")
		}
		crawlFixtureWeb(t, redistest.OpenStore(t))
	})
}

func crawlFixtureWeb(t *testing.T, st storage.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	site := newFixtureSite(t, map[string]route{
		"/robots.txt":      {file: "robots.txt", ctype: "text/plain"},
		"/jobs?page=1":     {file: "jobs1.html", ctype: html},
		"/jobs?page=2":     {file: "jobs2.html", ctype: html},
		"/job/1":           {file: "job1.html", ctype: html, gzip: true},
		"/job/2":           {file: "job2.html", ctype: html, gzip: true},
		"/job/3":           {file: "job3.html", ctype: html, gzip: true},
		"/job/4":           {file: "job4.html", ctype: html},
		"/job/5":           {file: "job5.html", ctype: html},
		"/job/6":           {file: "job6.html", ctype: html},
		"/job/7":           {status: 500},
		"/job/old":         {to: "/job/99"},
		"/job/99":          {file: "job99.html", ctype: html},
		"/private/job/5":   {file: "private-job5.html", ctype: html},
		"/feed.xml":        {file: "feed.xml", ctype: "application/rss+xml"},
		"/broken-feed.xml": {file: "broken-feed.xml", ctype: "application/rss+xml"},
		"/forum?page=1":    {file: "forum1.html", ctype: html},
		"/forum?page=2":    {file: "forum2.html", ctype: html},
		"/iklan/501":       {file: "job99.html", ctype: html}, // feed item links are not followed
	})
	tg := newFixtureSite(t, map[string]route{
		"/s/lokerln":           {file: "tg1.html", ctype: html},
		"/s/lokerln?before=10": {file: "tg2.html", ctype: html},
		"/s/lokerln?after=9":   {file: "tg1.html", ctype: html},
	})
	subst := func(b []byte) []byte {
		b = bytes.ReplaceAll(b, []byte("{{SITE}}"), []byte(site.srv.URL))
		return bytes.ReplaceAll(b, []byte("{{TG}}"), []byte(tg.srv.URL))
	}
	site.subst, tg.subst = subst, subst

	cfg := config.Default()
	cfg.Crawl.AllowPrivate = []string{"127.0.0.1"} // the httptest servers
	cfg.Crawl.UserAgent = "lokerwatch-test/1.0 (+https://github.com/lokerwatch/lokerwatch)"
	cfg.Crawl.Parallelism = 4
	cfg.Crawl.HostDelay = 0 // the board's robots.txt asks for Crawl-delay: 0.02
	cfg.Crawl.MaxBody = 1 << 20
	cfg.Crawl.Timeout = config.Duration(5 * time.Second)
	cfg.Crawl.MaxAttempts = 2
	cfg.Crawl.Lease = config.Duration(10 * time.Second)
	cfg.Crawl.MaxCrawlDelay = config.Duration(time.Second)
	cfg.Sources = []config.Source{
		{Name: "board", Type: lokerwatch.SourceJobBoard, Seeds: []string{site.srv.URL + "/jobs?page=1"},
			Follow: []string{`/jobs\?page=`, `/job/`}},
		{Name: "channel", Type: lokerwatch.SourceTelegram, Seeds: []string{tg.srv.URL + "/s/lokerln"}},
		{Name: "classifieds", Type: lokerwatch.SourceRSS, Seeds: []string{site.srv.URL + "/feed.xml"}},
		{Name: "bulletin", Type: lokerwatch.SourceRSS, Seeds: []string{site.srv.URL + "/broken-feed.xml"}},
		{Name: "forum", Type: lokerwatch.SourceHTML, Seeds: []string{site.srv.URL + "/forum?page=1"},
			Profile: &config.Profile{Item: "div.post", Title: ".post-title", Text: ".post-body", Link: "a.permalink", Next: "a.next"}},
	}

	clf := newClassifier(t)
	newCrawler := func() *crawler.Crawler {
		c, err := crawler.New(crawler.Options{
			Config: cfg, Store: st, Classifier: clf,
			Archiver: evidence.NewArchiver(st, evidence.ArchiverOptions{}),
			Logger:   slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Worker:   "e2e",
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	c := newCrawler()
	if n, err := c.Seed(ctx); err != nil || n != 5 {
		t.Fatalf("Seed = %d, %v; want 5 seeds", n, err)
	}
	sum, err := c.Run(ctx)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("summary: %+v", sum)
	if !sum.Finished {
		t.Errorf("crawl did not finish: %+v", sum)
	}

	// Nothing robots.txt disallows was fetched, even behind a redirect.
	for _, target := range []string{"/job/99", "/private/job/5"} {
		if n := site.count(target); n != 0 {
			t.Errorf("%s was fetched %d times; robots.txt disallows it", target, n)
		}
	}
	// Each page once (robots.txt once per host); the 500 page max_attempts times.
	for target, want := range map[string]int{
		"/robots.txt": 1, "/jobs?page=1": 1, "/jobs?page=2": 1, "/job/1": 1, "/job/2": 1, "/job/3": 1,
		"/job/4": 1, "/job/5": 1, "/job/6": 1, "/job/7": 2, "/job/8": 1, "/job/old": 1, "/feed.xml": 1,
		"/broken-feed.xml": 1, "/forum?page=1": 1, "/forum?page=2": 1, "/iklan/501": 0,
	} {
		if n := site.count(target); n != want {
			t.Errorf("board host: %s fetched %d times, want %d", target, n, want)
		}
	}
	for target, want := range map[string]int{"/robots.txt": 1, "/s/lokerln": 1, "/s/lokerln?before=10": 1, "/s/lokerln?after=9": 0} {
		if n := tg.count(target); n != want {
			t.Errorf("channel host: %s fetched %d times, want %d", target, n, want)
		}
	}
	// Crawl-delay 0.02 s holds between any two fetches of the board host.
	var prev time.Time
	for _, h := range site.requests() {
		if h.target == "/robots.txt" {
			continue
		}
		if !prev.IsZero() && h.at.Sub(prev) < 20*time.Millisecond {
			t.Errorf("board host: %s came %v after the previous fetch; Crawl-delay is 20ms", h.target, h.at.Sub(prev))
		}
		prev = h.at
	}

	// Every ad extracted exactly once, with the right fields.
	labels := readLabels(t, subst)
	ads := map[string]*lokerwatch.Ad{}
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		if _, dup := ads[ad.ID]; dup {
			t.Errorf("ad %s stored twice", ad.ID)
		}
		ads[ad.ID] = ad
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ads) != len(labels) {
		t.Errorf("%d ads stored, fixture has %d", len(ads), len(labels))
	}
	byTitle := map[string]*lokerwatch.Ad{}
	for _, ad := range ads {
		key := ad.Source + "\x00" + ad.Title
		if _, dup := byTitle[key]; dup {
			t.Errorf("two ads titled %q in %s", ad.Title, ad.Source)
		}
		byTitle[key] = ad
	}
	wantFlagged := map[string]bool{}
	for _, l := range labels {
		ad := byTitle[l.Source+"\x00"+l.Title]
		if ad == nil {
			t.Errorf("%s: no ad titled %q", l.Source, l.Title)
			continue
		}
		checkAd(t, l, ad)
		if l.Flag {
			wantFlagged[ad.ID] = true
		}
	}
	for _, ad := range ads {
		found := false
		for _, l := range labels {
			found = found || (l.Source == ad.Source && l.Title == ad.Title)
		}
		if !found {
			t.Errorf("unexpected ad %s %q (%s)", ad.Source, ad.Title, ad.URL)
		}
	}

	// The flagged set is the fixture's labels, each queued for review once,
	// with the page it came from kept as evidence.
	gotFlagged := map[string]bool{}
	for id, ad := range ads {
		if ad.Assessment != nil && ad.Assessment.Flagged {
			gotFlagged[id] = true
		}
	}
	for id := range wantFlagged {
		if !gotFlagged[id] {
			t.Errorf("not flagged: %s %q", ads[id].Source, ads[id].Title)
		}
	}
	for id := range gotFlagged {
		if !wantFlagged[id] {
			t.Errorf("flagged but labelled benign: %s %q", ads[id].Source, ads[id].Title)
		}
	}
	items, err := st.ListItems(ctx, storage.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]int{}
	for _, it := range items {
		queued[it.AdID]++
	}
	for id := range gotFlagged {
		if queued[id] != 1 {
			t.Errorf("flagged ad %s %q is in the review queue %d times", id, ads[id].Title, queued[id])
		}
		recs, err := st.EvidenceForAd(ctx, id)
		if err != nil || len(recs) == 0 {
			t.Errorf("no evidence for flagged ad %s %q: %v", id, ads[id].Title, err)
		}
	}
	if len(items) != len(gotFlagged) {
		t.Errorf("%d review items for %d flagged ads", len(items), len(gotFlagged))
	}

	// Failures are recorded with their reasons; the crawl went on.
	failed, err := st.ListFailed(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]storage.FailedRequest{}
	for _, f := range failed {
		reasons[strings.TrimPrefix(f.URL, site.srv.URL)] = f
	}
	for target, want := range map[string]string{
		"/job/99":          "robots.txt",
		"/private/job/5":   "robots.txt",
		"/job/old":         "robots.txt",
		"/job/7":           "HTTP 500",
		"/job/8":           "HTTP 404",
		"/broken-feed.xml": "parse feed",
	} {
		f, ok := reasons[target]
		if !ok || !strings.Contains(f.Reason, want) {
			t.Errorf("failure of %s = %+v (found %v), want a reason with %q", target, f, ok, want)
		}
	}
	if !reasons["/job/7"].Dead {
		t.Errorf("/job/7 failed %d times but is not dead", cfg.Crawl.MaxAttempts)
	}
	if sum.Ads != len(labels) || sum.Flagged != len(wantFlagged) || sum.Queued != len(wantFlagged) {
		t.Errorf("summary ads %d flagged %d queued %d; want %d, %d, %d", sum.Ads, sum.Flagged, sum.Queued,
			len(labels), len(wantFlagged), len(wantFlagged))
	}
	// 500 twice, 404, the unparseable feed, the redirect to a disallowed page.
	if sum.Errors != 5 || sum.Robots != 3 || sum.Problems != 1 {
		t.Errorf("summary errors %d robots %d problems %d; want 5, 3 and 1 (the broken JSON-LD)", sum.Errors, sum.Robots, sum.Problems)
	}

	// A second crawl of the same web finds the same ads: no new ad, no new
	// review item.
	c2 := newCrawler()
	if _, err := c2.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum2, err := c2.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Ads == 0 || sum2.NewAds != 0 || sum2.Queued != 0 {
		t.Errorf("recrawl: %+v; want ads seen again, none new, none queued", sum2)
	}
	total, flagged, err := st.CountAds(ctx)
	if err != nil || int(total) != len(labels) || int(flagged) != len(wantFlagged) {
		t.Errorf("after recrawl: %d ads, %d flagged (%v); want %d and %d", total, flagged, err, len(labels), len(wantFlagged))
	}
	items2, _ := st.ListItems(ctx, storage.ReviewFilter{})
	if len(items2) != len(items) {
		t.Errorf("after recrawl: %d review items, want %d", len(items2), len(items))
	}
}

func checkAd(t *testing.T, l label, ad *lokerwatch.Ad) {
	t.Helper()
	if strings.HasSuffix(l.URL, "*") {
		if !strings.HasPrefix(ad.URL, strings.TrimSuffix(l.URL, "*")) {
			t.Errorf("%q: URL %s, want %s", l.Title, ad.URL, l.URL)
		}
	} else if ad.URL != l.URL {
		t.Errorf("%q: URL %s, want %s", l.Title, ad.URL, l.URL)
	}
	// One ad per page: an ad with its own page is named by its URL; posts
	// told apart by an anchor stay their source's.
	want := lokerwatch.PageAdID(ad.URL)
	if strings.Contains(ad.URL, "#") {
		want = lokerwatch.AdID(l.Source, ad.URL)
	}
	if ad.ID != want {
		t.Errorf("%q: ID %s, want %s", l.Title, ad.ID, want)
	}
	if ad.Company != l.Company || ad.Location != l.Location || ad.Salary != l.Salary {
		t.Errorf("%q: company/location/salary %q / %q / %q, want %q / %q / %q", l.Title,
			ad.Company, ad.Location, ad.Salary, l.Company, l.Location, l.Salary)
	}
	if !ad.PostedAt.Equal(l.PostedAt) {
		t.Errorf("%q: posted %v, want %v", l.Title, ad.PostedAt, l.PostedAt)
	}
	if ad.FromPage != l.FromPage {
		t.Errorf("%q: from_page %v, want %v", l.Title, ad.FromPage, l.FromPage)
	}
	if !strings.Contains(ad.Text, l.Text) {
		t.Errorf("%q: text %q does not contain %q", l.Title, ad.Text, l.Text)
	}
	for _, bad := range []string{"<", "document.cookie", "alert("} {
		if strings.Contains(ad.Text, bad) || strings.Contains(ad.Title, bad) {
			t.Errorf("%q: markup or script %q kept in the ad: %q", l.Title, bad, ad.Text)
		}
	}
	if ad.PageURL == "" || ad.FetchedAt.IsZero() || !strings.HasPrefix(ad.ResponseDigest, "sha256:") || len(ad.ResponseDigest) != 71 {
		t.Errorf("%q: page %q fetched %v digest %q", l.Title, ad.PageURL, ad.FetchedAt, ad.ResponseDigest)
	}
	wantType := map[string]lokerwatch.SourceType{"board": lokerwatch.SourceJobBoard, "channel": lokerwatch.SourceTelegram,
		"classifieds": lokerwatch.SourceRSS, "forum": lokerwatch.SourceHTML}[l.Source]
	if ad.SourceType != wantType {
		t.Errorf("%q: source type %q, want %q", l.Title, ad.SourceType, wantType)
	}
}

func readLabels(t *testing.T, subst func([]byte) []byte) []label {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "site", "labels.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var ls []label
	sc := bufio.NewScanner(bytes.NewReader(subst(b)))
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var l label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("labels.jsonl:%d: %v", n, err)
		}
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return ls[i].Source+ls[i].URL < ls[j].Source+ls[j].URL })
	return ls
}

// testWriter sends crawler logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
