package crawler

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func testFetcher(o fetcherOptions) *fetcher {
	if o.UserAgent == "" {
		o.UserAgent = "lokerwatch-test/1.0"
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxBody == 0 {
		o.MaxBody = 1 << 20
	}
	if o.MaxRedirects == 0 {
		o.MaxRedirects = 3
	}
	return newFetcher(o)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func TestFetchCapturesExchange(t *testing.T) {
	page := []byte("<html><body>Lowongan kerja</body></html>")
	zpage := gzipped(page)
	var gotHeader http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeader = r.Header.Clone()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("ETag", `"v1"`)
		w.Write(zpage)
	}))
	defer srv.Close()

	f := testFetcher(fetcherOptions{})
	st, err := f.get(context.Background(), srv.URL+"/job/1?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := st.exchange()
	if !bytes.Equal(ex.RawBody, zpage) {
		t.Errorf("raw body is not the gzip stream as received (%d bytes, want %d)", len(ex.RawBody), len(zpage))
	}
	if !bytes.Equal(ex.Body, page) || !bytes.Equal(st.resp.Body, page) {
		t.Errorf("decoded body %q / colly body %q, want %q", ex.Body, st.resp.Body, page)
	}
	if ex.RemoteIP != "127.0.0.1" {
		t.Errorf("remote IP %q", ex.RemoteIP)
	}
	if ex.RequestLine != "GET /job/1?x=1 HTTP/1.1" || ex.StatusLine != "HTTP/1.1 200 OK" || ex.Status != 200 {
		t.Errorf("request line %q, status line %q, status %d", ex.RequestLine, ex.StatusLine, ex.Status)
	}
	if ex.RequestHeader.Get("User-Agent") != "lokerwatch-test/1.0" || ex.RequestHeader.Get("Host") == "" ||
		ex.RequestHeader.Get("Accept-Encoding") != "gzip" || ex.RequestHeader.Get(fetchHeader) != "" {
		t.Errorf("request header as recorded: %v", ex.RequestHeader)
	}
	if gotHeader.Get(fetchHeader) != "" || gotHeader.Get("User-Agent") != "lokerwatch-test/1.0" {
		t.Errorf("request header as the server saw it: %v", gotHeader)
	}
	if ex.ResponseHeader.Get("Content-Encoding") != "gzip" || ex.ResponseHeader.Get("ETag") != `"v1"` {
		t.Errorf("response header as recorded: %v", ex.ResponseHeader)
	}
	if ex.FetchedAt.IsZero() || ex.Truncated || ex.URL != srv.URL+"/job/1?x=1" {
		t.Errorf("exchange %+v", ex)
	}
}

func TestFetchStopsCompressionBombAtLimit(t *testing.T) {
	bomb, err := os.ReadFile("testdata/bomb-64MiB.html.gz") // 64 MiB of zeros in 64 KiB
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb)
	}))
	defer srv.Close()
	f := testFetcher(fetcherOptions{MaxBody: 256 << 10})
	st, err := f.get(context.Background(), srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ex := st.exchange()
	if len(ex.Body) != 256<<10 || !ex.Truncated || len(st.resp.Body) != 256<<10 {
		t.Errorf("decoded %d bytes (colly %d), truncated %v; want the 256 KiB limit", len(ex.Body), len(st.resp.Body), ex.Truncated)
	}
}

func TestFetchRedirects(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/pong", http.StatusFound) })
	mux.HandleFunc("/pong", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ping", http.StatusFound) })
	n := 0
	mux.HandleFunc("/far", func(w http.ResponseWriter, r *http.Request) {
		n++
		http.Redirect(w, r, fmt.Sprintf("/far?%d", n), http.StatusFound)
	})
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusMovedPermanently) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<p>b</p>")) })
	mux.HandleFunc("/blocked", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/private", http.StatusFound) })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) { t.Error("fetched a vetoed redirect target") })
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/x", http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	veto := errors.New("vetoed")
	f := testFetcher(fetcherOptions{MaxRedirects: 3, CheckRedirect: func(ctx context.Context, req *http.Request) error {
		if req.URL.Path == "/private" {
			return veto
		}
		return nil
	}})
	st, err := f.get(context.Background(), srv.URL+"/a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.resp.Request.URL.Path; got != "/b" || string(st.resp.Body) != "<p>b</p>" {
		t.Errorf("after redirect: %s %q", got, st.resp.Body)
	}
	for path, want := range map[string]error{"/loop": errRedirectLoop, "/ping": errRedirectLoop, "/far": errTooManyRedirects,
		"/blocked": veto, "/ftp": errRedirectScheme} {
		if _, err := f.get(context.Background(), srv.URL+path, nil); !errors.Is(err, want) {
			t.Errorf("%s: err %v, want %v", path, err, want)
		}
	}
}

func TestFetchDialSeam(t *testing.T) {
	f := testFetcher(fetcherOptions{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, fmt.Errorf("%w: %s resolves to a private address", ErrRefused, addr)
	}})
	_, err := f.get(context.Background(), "http://intranet.example/", nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "private address") {
		t.Errorf("err = %v, want ErrRefused with its reason", err)
	}
}

func TestFetchEndsSlowServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(200)
		w.Write([]byte("<p>"))
		w.(http.Flusher).Flush()
		select { // drip nothing until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	f := testFetcher(fetcherOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := f.get(ctx, srv.URL+"/", nil); err == nil {
		t.Fatal("a server that never finishes its body gave no error")
	}
}

func TestReadBody(t *testing.T) {
	rd := func(enc string, b []byte, max int64) ([]byte, []byte, bool, error) {
		return readBody(bytes.NewReader(b), enc, max)
	}
	if _, _, _, err := rd("br", []byte("x"), 10); !errors.Is(err, errEncoding) {
		t.Errorf("br: %v", err)
	}
	z := gzipped([]byte("hello world"))
	_, b, trunc, err := rd("gzip", z[:len(z)-6], 100) // cut before the trailer
	if err != nil || !trunc || !strings.HasPrefix("hello world", string(b)) {
		t.Errorf("cut gzip: %q %v %v", b, trunc, err)
	}
	if _, _, _, err := rd("gzip", []byte("not gzip"), 100); err == nil {
		t.Error("bad gzip header: no error")
	}
	if raw, b, trunc, err := rd("gzip", nil, 100); err != nil || len(raw)+len(b) != 0 || trunc {
		t.Errorf("empty gzip body (a 304): %q %q %v %v", raw, b, trunc, err)
	}
	raw, b, trunc, err := rd("gzip", z, 100)
	if err != nil || string(b) != "hello world" || !bytes.Equal(raw, z) || trunc {
		t.Errorf("gzip: raw %d bytes, body %q, truncated %v, %v", len(raw), b, trunc, err)
	}
	var zl, fl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write([]byte("zlib body"))
	zw.Close()
	fw, _ := flate.NewWriter(&fl, flate.BestSpeed)
	fw.Write([]byte("raw deflate body"))
	fw.Close()
	for want, in := range map[string][]byte{"zlib body": zl.Bytes(), "raw deflate body": fl.Bytes()} {
		if _, b, _, err := rd("deflate", in, 100); err != nil || string(b) != want {
			t.Errorf("deflate %q: %q %v", want, b, err)
		}
	}
	raw, b, trunc, err = rd("", []byte("0123456789abc"), 10)
	if err != nil || string(b) != "0123456789" || string(raw) != "0123456789" || !trunc {
		t.Errorf("identity over the limit: %q %q %v %v", raw, b, trunc, err)
	}
}

// TestReadBodyStopsBombEarly: the decoder stops at the limit, having read
// only the compressed bytes that decode to it — not the whole bomb.
func TestReadBodyStopsBombEarly(t *testing.T) {
	member := gzipped(make([]byte, 1<<20)) // 1 MiB of zeros, about 1 KiB
	var bomb bytes.Buffer
	for i := 0; i < 256; i++ { // 256 MiB decoded, gzip members back to back
		bomb.Write(member)
	}
	raw, b, trunc, err := readBody(bytes.NewReader(bomb.Bytes()), "gzip", 2<<20)
	if err != nil || len(b) != 2<<20 || !trunc {
		t.Fatalf("decoded %d bytes, truncated %v, %v; want the 2 MiB limit", len(b), trunc, err)
	}
	if len(raw) > 8*len(member)+64<<10 {
		t.Errorf("read %d compressed bytes for 2 MiB decoded; want about %d", len(raw), 2*len(member))
	}
}

// TestReadBodyNetworkError: a connection that fails mid-body is an error,
// not a short page.
func TestReadBodyNetworkError(t *testing.T) {
	z := gzipped(bytes.Repeat([]byte("lowongan "), 1000))
	r := io.MultiReader(bytes.NewReader(z[:len(z)/2]), iotest.ErrReader(context.DeadlineExceeded))
	if _, _, _, err := readBody(r, "gzip", 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("gzip: err %v, want the deadline", err)
	}
	r = io.MultiReader(strings.NewReader("<p>lowongan"), iotest.ErrReader(context.DeadlineExceeded))
	if _, _, _, err := readBody(r, "", 1<<20); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("identity: err %v, want the deadline", err)
	}
}
