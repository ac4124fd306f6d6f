package review

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

const testPassword = "correct horse battery"

// testStore opens a fresh embedded store in the test's temp dir.
func testStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// redisStore opens a store on a fresh redis-server started for the test
// (skipped with an install hint when redis-server is missing).
func redisStore(t testing.TB) storage.Store {
	t.Helper()
	return redistest.OpenStore(t)
}

// forEachStore runs a test against the embedded and the Redis store.
func forEachStore(t *testing.T, test func(t *testing.T, newStore func(testing.TB) storage.Store)) {
	t.Run("sqlite", func(t *testing.T) { test(t, func(tb testing.TB) storage.Store { return testStore(tb) }) })
	t.Run("redis", func(t *testing.T) { test(t, redisStore) })
}

type testEnv struct {
	st  storage.Store
	srv *Server
	ts  *httptest.Server
	reg *prometheus.Registry
}

// newEnv starts a review server on a real loopback port over st, with
// one user per role (alice analyst, ivan investigator, root admin).
func newEnv(t testing.TB, st storage.Store, mod ...func(*Options)) *testEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	opt := Options{Store: st, Gatherer: reg, Registerer: reg, Lease: 2 * time.Minute,
		Logger: slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	for _, m := range mod {
		m(&opt)
	}
	srv, err := New(opt)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	// Close writes pending login summaries and stops their timer while the
	// store is still open (cleanups run last first).
	t.Cleanup(func() { srv.Close(context.Background()) })
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	ctx := context.Background()
	for _, u := range []struct {
		name string
		role storage.Role
	}{{"alice", storage.RoleAnalyst}, {"bob", storage.RoleAnalyst}, {"ivan", storage.RoleInvestigator}, {"root", storage.RoleAdmin}} {
		if err := AddUser(ctx, st, u.name, u.role, testPassword); err != nil {
			t.Fatalf("add user: %v", err)
		}
	}
	return &testEnv{st: st, srv: srv, ts: ts, reg: reg}
}

// testLogWriter sends the server's log to the test log.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// loadFixtures stores testdata/ads.jsonl, queues the flagged ads and
// stores a capture of the hostile ad. Signals without offsets get the
// span of their evidence phrase in the ad body.
func loadFixtures(t testing.TB, st storage.Store) map[string]*lokerwatch.Ad {
	t.Helper()
	f, err := os.Open("testdata/ads.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	ads := map[string]*lokerwatch.Ad{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var ad lokerwatch.Ad
		if err := json.Unmarshal(sc.Bytes(), &ad); err != nil {
			t.Fatalf("testdata/ads.jsonl:%d: %v", line, err)
		}
		if a := ad.Assessment; a != nil {
			for i, sg := range a.Signals {
				if sg.Start == 0 && sg.End == 0 && sg.Evidence != "" {
					at := strings.Index(ad.Body(), sg.Evidence)
					if at < 0 {
						t.Fatalf("testdata/ads.jsonl:%d: evidence %q not in body", line, sg.Evidence)
					}
					a.Signals[i].Start, a.Signals[i].End = at, at+len(sg.Evidence)
				}
			}
		}
		if _, err := st.PutAd(ctx, &ad); err != nil {
			t.Fatal(err)
		}
		if ad.Assessment != nil && ad.Assessment.Flagged {
			if _, _, err := st.Enqueue(ctx, &ad); err != nil {
				t.Fatal(err)
			}
		}
		ads[ad.ID] = &ad
	}
	page := `<!doctype html><html><head><script>window.__pwned=1</script>
<script type="application/ld+json">{"@type":"JobPosting","title":"<script>window.__pwned=1</script>","description":"<img src=x onerror=window.__pwned=1>"}</script>
</head><body onload="window.__pwned=1"><a href="javascript:window.__pwned=1">Lowongan CS Myawaddy</a></body></html>`
	warc := testWARC(t, "https://forum.example/t/123", page)
	sum := sha256.Sum256(warc)
	rec := &storage.EvidenceRecord{ID: "<urn:uuid:1b4f0e98-5f7d-4c2e-9d1e-000000000001>", URL: "https://forum.example/t/123",
		AdIDs: []string{"ad-hostile"}, CapturedAt: time.Date(2026, 5, 5, 12, 0, 0, 0, time.UTC), WARC: warc,
		Digest: "sha256:" + hex.EncodeToString(sum[:])}
	if err := st.PutEvidence(ctx, rec); err != nil {
		t.Fatal(err)
	}
	return ads
}

// testWARC builds a .warc.gz with a request and a gzip-encoded response
// record, each its own gzip member, as the evidence package writes them.
func testWARC(t testing.TB, target, html string) []byte {
	t.Helper()
	var zbody bytes.Buffer
	zw := gzip.NewWriter(&zbody)
	zw.Write([]byte(html))
	zw.Close()
	httpResp := "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\nContent-Length: " +
		fmt.Sprint(zbody.Len()) + "\r\n\r\n" + zbody.String()
	httpReq := "GET /t/123 HTTP/1.1\r\nHost: forum.example\r\n\r\n"
	record := func(typ, block string) string {
		return "WARC/1.1\r\nWARC-Type: " + typ + "\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-00000000000" + fmt.Sprint(len(typ)) +
			">\r\nWARC-Date: 2026-05-05T12:00:00Z\r\nWARC-Target-URI: " + target +
			"\r\nContent-Type: application/http; msgtype=" + typ + "\r\nContent-Length: " + fmt.Sprint(len(block)) + "\r\n\r\n" + block + "\r\n\r\n"
	}
	var out bytes.Buffer
	for _, r := range []string{record("request", httpReq), record("response", httpResp)} {
		zw := gzip.NewWriter(&out)
		zw.Write([]byte(r))
		zw.Close()
	}
	return out.Bytes()
}

// client is a browser-like HTTP client with its own cookie jar.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

func (e *testEnv) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: e.ts.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

var loginTokenRE = regexp.MustCompile(`name="login_token" value="([^"]+)"`)

// login logs in through the form and returns the response status.
func (c *client) login(name, password string) int {
	c.t.Helper()
	body := c.get("/login").body
	m := loginTokenRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("login form has no token:\n%s", body)
	}
	r := c.postForm("/login", url.Values{"login_token": {m[1]}, "name": {name}, "password": {password}})
	if r.code == http.StatusSeeOther {
		var me struct{ CSRF string }
		json.Unmarshal([]byte(c.get("/api/me").body), &me)
		c.csrf = me.CSRF
	}
	return r.code
}

func (c *client) mustLogin(name string) *client {
	c.t.Helper()
	if code := c.login(name, testPassword); code != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d", name, code)
	}
	return c
}

type response struct {
	code int
	hdr  http.Header
	body string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (c *client) get(path string) response {
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) postForm(path string, v url.Values) response {
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// api sends a JSON API request with the session's CSRF header.
func (c *client) api(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.do(req)
}

func decodeTo[T any](t testing.TB, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
	return v
}

func newBenchServer(b *testing.B, srv *Server) string {
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return ts.URL
}

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }
