package evidence

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// testStores opens the real stores the tests run against.
func testStores(t testing.TB) map[string]storage.Store {
	t.Helper()
	out := map[string]storage.Store{}
	if s := openSQLite(t); s != nil {
		out["sqlite"] = s
	}
	out["redis"] = openRedis(t)
	return out
}

func openRedis(t testing.TB) storage.Store {
	t.Helper()
	return redistest.OpenStore(t)
}

// jobSite is a small job board: pages are served gzip-encoded and
// chunked (flushed in pieces), or plain with a Content-Length, so that
// captures cover both framings.
func jobSite(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var id string
		if _, err := fmt.Sscanf(r.URL.Path, "/job/%s", &id); err != nil {
			http.NotFound(w, r)
			return
		}
		page := jobPage(id)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Server", "jobsite-test")
		if strings.HasSuffix(id, "z") { // gzip + chunked
			w.Header().Set("Content-Encoding", "gzip")
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write([]byte(page))
			zw.Close()
			b := buf.Bytes()
			half := len(b) / 2
			w.Write(b[:half])
			w.(http.Flusher).Flush()
			w.Write(b[half:])
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		io.WriteString(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func jobPage(id string) string {
	return fmt.Sprintf(`<!doctype html><html><head><title>Lowongan %s</title></head><body>
<h1>Dibutuhkan admin online Kamboja gaji 15 juta</h1>
<p>Tanpa pengalaman, tiket ditanggung, paspor diurus agen. WA 0812-3456-7890. Ref %s</p>
</body></html>`, id, id)
}

// fetch records an exchange the way the crawler does: raw (still
// content-encoded) body after de-chunking, the address connected to, the
// status line and headers.
func fetch(t testing.TB, url string) *lokerwatch.Exchange {
	t.Helper()
	var remote string
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", "lokerwatch-test/1")
	req.Header.Set("Accept-Encoding", "gzip")
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(ci httptrace.GotConnInfo) { remote = ci.Conn.RemoteAddr().String() },
	}))
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	started := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("fetch %s: %v", url, err)
	}
	body := raw
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(zr)
	}
	h := resp.Header.Clone()
	if len(resp.TransferEncoding) > 0 { // net/http moves it out of Header; the wire had it
		h["Transfer-Encoding"] = resp.TransferEncoding
	}
	return &lokerwatch.Exchange{
		URL: url, Method: http.MethodGet, FetchedAt: started, RemoteIP: remote,
		RequestHeader: req.Header.Clone(), RequestLine: "GET " + req.URL.RequestURI() + " HTTP/1.1",
		StatusLine: resp.Proto + " " + resp.Status, Status: resp.StatusCode, ResponseHeader: h,
		RawBody: raw, Body: body,
	}
}

// flaggedAd builds an ad as the classifiers would leave it.
func flaggedAd(source, url string, n int, phone string, fetched time.Time) *lokerwatch.Ad {
	ad := &lokerwatch.Ad{
		ID: lokerwatch.AdID(source, url), Source: source, SourceType: lokerwatch.SourceJobBoard,
		URL: url, PageURL: url, FetchedAt: fetched,
		Title: fmt.Sprintf("Dibutuhkan admin online Kamboja #%d", n),
		Text:  "Gaji 15 juta, tanpa pengalaman, tiket ditanggung. WA " + phone,
		Lang:  "id",
		Entities: lokerwatch.Entities{
			Phones: []string{phone}, WhatsApp: []string{phone}, Countries: []string{"KH"}, SalaryIDR: 15_000_000,
		},
		Assessment: &lokerwatch.Assessment{
			Score: 70 + n%30, Flagged: true, Category: lokerwatch.CategoryScam,
			Categories: map[lokerwatch.Category]int{lokerwatch.CategoryScam: 70 + n%30},
			Signals: []lokerwatch.Signal{{Rule: "scam.admin_online_kh", Category: lokerwatch.CategoryScam, Weight: 40,
				Evidence: "admin online Kamboja", Start: 15, End: 35}},
			Version: "test",
		},
	}
	return ad
}
