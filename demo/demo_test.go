package demo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "demo.db"))
	if err != nil {
		t.Fatalf("open sqlite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func pathOf(t *testing.T, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("bad URL %q: %v", raw, err)
	}
	return u.Path
}

// TestDemoQueueMatchesManifest is the demo's promise: crawl the sample web
// into a fresh sqlite store, and the review queue holds every scam,
// non-procedural and trafficking ad of the manifest and none of its
// warnings, news or legitimate offers.
func TestDemoQueueMatchesManifest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := openStore(t)
	var out bytes.Buffer
	res, err := run(ctx, Options{Store: st, Out: &out, Once: true})
	if err != nil {
		t.Fatalf("demo run: %v\n%s", err, out.String())
	}
	t.Logf("output:\n%s", out.String())

	byPath := map[string]SampleAd{}
	for _, a := range Ads() {
		byPath[a.Path()] = a
	}

	// Every manifest ad was stored exactly once, and nothing else was.
	stored := map[string]*lokerwatch.Ad{}
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		p := pathOf(t, ad.URL)
		if _, ok := byPath[p]; !ok {
			t.Errorf("stored ad %s (%q) is not in the manifest", ad.URL, ad.Title)
		}
		if stored[p] != nil {
			t.Errorf("ad %s stored twice", p)
		}
		stored[p] = ad
		return nil
	})
	if err != nil {
		t.Fatalf("scan ads: %v", err)
	}
	for p, a := range byPath {
		if stored[p] == nil {
			t.Errorf("%s ad %s was not stored", a.Source, p)
		} else if stored[p].Source != a.Source {
			t.Errorf("ad %s stored under source %q, want %q", p, stored[p].Source, a.Source)
		}
	}
	if res.Summary.Robots == 0 {
		t.Errorf("the crawl reports no URL kept out by robots.txt; %s is linked and disallowed", DisallowedPath)
	}

	// The queue: exactly the harmful ads (borderline ones may go either way).
	queued := map[string]lokerwatch.ReviewItem{}
	for _, it := range res.Queue {
		queued[pathOf(t, it.URL)] = it
	}
	for p, a := range byPath {
		it, inQueue := queued[p]
		want, sure := a.WantFlagged()
		switch {
		case !sure:
			t.Logf("borderline %s %s (%s/%s): queued=%v", a.Source, p, a.Label, a.Kind, inQueue)
		case want && !inQueue:
			t.Errorf("MISSED %s ad %s %q (%s): not in the review queue; score %s\n%s",
				a.Label, a.Source, p, titleOf(a), scoreOf(stored[p]), a.Text)
		case !want && inQueue:
			t.Errorf("FALSE ALARM %s ad %s %q (%s) queued with score %d as %s\n%s",
				a.Kind, a.Source, p, titleOf(a), it.Score, it.Category, a.Text)
		case want && inQueue && string(it.Category) != a.Label:
			t.Errorf("%s ad %s %q queued as %s (score %d)", a.Label, p, titleOf(a), it.Category, it.Score)
		}
	}

	// The printed queue lists the same items, highest score first.
	if !strings.Contains(out.String(), "SCORE") && len(res.Queue) > 0 {
		t.Fatalf("no queue table in the output")
	}
	rows := queueRows(out.String())
	if len(rows) != len(res.Queue) {
		t.Fatalf("printed %d queue rows, want %d", len(rows), len(res.Queue))
	}
	for i, it := range res.Queue {
		if i > 0 && it.Score > res.Queue[i-1].Score {
			t.Errorf("queue not ordered by score: %d after %d", it.Score, res.Queue[i-1].Score)
		}
		if rows[i].score != it.Score || rows[i].category != string(it.Category) || rows[i].source != it.Source {
			t.Errorf("row %d printed as %+v, want score %d, category %s, source %s", i, rows[i], it.Score, it.Category, it.Source)
		}
	}
}

func titleOf(a SampleAd) string {
	if a.Title != "" {
		return a.Title
	}
	return a.Lines()[0]
}

// scoreOf explains what the classifier made of an ad, for failure messages.
func scoreOf(ad *lokerwatch.Ad) string {
	if ad == nil || ad.Assessment == nil {
		return "none"
	}
	as := ad.Assessment
	var b strings.Builder
	fmt.Fprintf(&b, "%d (", as.Score)
	for _, c := range lokerwatch.Categories {
		fmt.Fprintf(&b, " %s=%d", c, as.Categories[c])
	}
	fmt.Fprintf(&b, " not_an_offer=%v )", as.NotAnOffer)
	for _, s := range as.Signals {
		fmt.Fprintf(&b, "\n    %s %s %+d %q", s.Rule, s.Category, s.Weight, s.Evidence)
	}
	return b.String()
}

type row struct {
	score                   int
	category, source, title string
}

var rowRE = regexp.MustCompile(`^\s*(\d+)\s+(\S+)\s+(\S+)\s+(.+)$`)

// queueRows reads the printed table back.
func queueRows(out string) []row {
	var rows []row
	in := false
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "SCORE") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(l) == "" {
			break
		}
		m := rowRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var r row
		r.score, _ = strconv.Atoi(m[1])
		r.category, r.source, r.title = m[2], m[3], m[4]
		rows = append(rows, r)
	}
	return rows
}

// signalWriter collects output and closes ready when it contains want.
type signalWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	ready chan struct{}
	once  sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.want) {
		w.once.Do(func() { close(w.ready) })
	}
	return n, err
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestDemoKeepsServingUntilCancelled checks the interactive mode: after the
// queue it prints how to look at the results, keeps the sample web up, and
// returns cleanly when ctx is cancelled.
func TestDemoKeepsServingUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(t)
	w := &signalWriter{want: "(first: lokerwatch user add)\n", ready: make(chan struct{})} // the last hint line
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Store: st, StoreURL: "sqlite:/tmp/x.db", Out: w})
	}()
	select {
	case <-w.ready:
	case err := <-done:
		t.Fatalf("Run returned before serving: %v\n%s", err, w.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("no serving notice after 2 minutes:\n%s", w.String())
	}
	m := regexp.MustCompile(`stays up at (http://127\.0\.0\.1:\d+)`).FindStringSubmatch(w.String())
	if m == nil {
		t.Fatalf("no URL in the notice:\n%s", w.String())
	}
	resp, err := http.Get(m[1] + "/feed.xml")
	if err != nil {
		t.Fatalf("sample web not served after the crawl: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("feed: status %d", resp.StatusCode)
	}
	for _, hint := range []string{"lokerwatch review list --store sqlite:/tmp/x.db", "lokerwatch serve --store sqlite:/tmp/x.db"} {
		if !strings.Contains(w.String(), hint) {
			t.Errorf("output lacks %q", hint)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get(m[1] + "/feed.xml"); err == nil {
		t.Errorf("sample web still served after Run returned")
	}
}

func TestRunNeedsStore(t *testing.T) {
	if err := Run(context.Background(), Options{Once: true}); err == nil || !strings.Contains(err.Error(), "no store") {
		t.Fatalf("Run without a store: %v", err)
	}
}

func TestPrintQueueCleansHostileTitles(t *testing.T) {
	var b bytes.Buffer
	printQueue(&b, []lokerwatch.ReviewItem{
		{Score: 91, Category: lokerwatch.CategoryScam, Source: "board", Title: "\x1b[31mLOKER\x1b[0m\nKamboja\tgaji 20jt" + strings.Repeat("x", 200)},
		{Score: 60, Category: lokerwatch.CategoryTrafficking, Source: "channel", Title: "Paspor ditahan\u0000"},
	})
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x00") {
		t.Errorf("control characters reach the terminal: %q", out)
	}
	rows := queueRows(out)
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2:\n%s", len(rows), out)
	}
	if rows[0].score != 91 || rows[0].category != "scam" || !strings.HasPrefix(rows[0].title, "[31mLOKER [0m Kamboja gaji 20jt") {
		t.Errorf("row 0: %+v", rows[0])
	}
	if n := len([]rune(rows[0].title)); n != 72 {
		t.Errorf("long title printed with %d runes, want 72", n)
	}
}
