package crawler

import (
	"bufio"
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
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gocolly/colly/v2"

	"github.com/lokerwatch/lokerwatch"
)

// DialFunc opens the crawler's connections; addr is "host:port" before DNS
// resolution. This is the seam for the network guard (crawl.allow_private):
// a guard resolves the name, checks every address and dials only one it
// allows, so DNS rebinding and redirects to private addresses are covered
// too. An error wrapping ErrRefused fails the URL for good, with the error
// text as the recorded reason.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// ErrRefused marks a connection the network guard did not allow.
var ErrRefused = errors.New("refused by the network guard")

// errTooManyRedirects and errRedirectDisallowed end a redirect chain.
var (
	errTooManyRedirects   = errors.New("too many redirects")
	errRedirectDisallowed = errors.New("redirect target disallowed by robots.txt")
	errRedirectScheme     = errors.New("redirect to a non-http(s) URL")
	errRedirectLoop       = errors.New("redirect loop")
	errEncoding           = errors.New("unsupported Content-Encoding")
)

// fetchHeader carries a fetch's id from our colly request to the capturing
// transport, which removes it before anything is sent.
const fetchHeader = "X-Lokerwatch-Fetch"

// fetchState is what one fetch collects on its way through colly.
type fetchState struct {
	ctx  context.Context
	mu   sync.Mutex
	ex   *lokerwatch.Exchange // the last hop (the response colly got)
	resp *colly.Response
}

func (s *fetchState) exchange() *lokerwatch.Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ex
}

// fetcher wraps one colly collector shared by all of a crawler's workers.
// colly does the request, redirects and charset conversion; our transport
// underneath it records the exchange as sent and received (for WARC) and
// enforces the body limit after decompression.
type fetcher struct {
	col    *colly.Collector
	client *http.Client
	// plain is the same transport without colly's redirect handler, for
	// robots.txt (whose redirects must not trigger robots checks).
	plain   *http.Client
	ua      string
	seq     atomic.Uint64
	states  sync.Map // id -> *fetchState
	maxBody int64
}

type fetcherOptions struct {
	UserAgent    string
	Timeout      time.Duration
	MaxBody      int64
	MaxRedirects int
	Dial         DialFunc
	// CheckRedirect vets a redirect target (robots.txt) in the fetch's context.
	CheckRedirect func(ctx context.Context, req *http.Request) error
}

func newFetcher(o fetcherOptions) *fetcher {
	dial := o.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: min(o.Timeout, 15*time.Second), KeepAlive: 30 * time.Second}).DialContext
	}
	base := &http.Transport{
		// No Proxy from the environment: a proxy would bypass the guard.
		DialContext: dial,
		// We ask for gzip ourselves so that the raw, still-encoded body
		// can be kept; Go would otherwise decode it out of sight.
		DisableCompression:     true,
		TLSHandshakeTimeout:    min(o.Timeout, 15*time.Second),
		ResponseHeaderTimeout:  o.Timeout,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        60 * time.Second,
		MaxResponseHeaderBytes: 256 << 10,
	}
	f := &fetcher{ua: o.UserAgent, maxBody: o.MaxBody}
	// A fetch's own context carries crawl.timeout over the whole exchange
	// (headers, body, redirects); the client's timeout is only a backstop,
	// a little later, so that a cut-off page says why.
	f.client = &http.Client{Transport: &capture{base: base, f: f}, Timeout: o.Timeout + time.Second}
	f.plain = &http.Client{Transport: f.client.Transport, Timeout: o.Timeout, // robots.txt: no fetch context
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return checkHop(req, via, o.MaxRedirects)
		}}

	c := colly.NewCollector()
	c.UserAgent = o.UserAgent
	c.IgnoreRobotsTxt = true // robots.txt is ours: shared cache, Crawl-delay
	c.AllowURLRevisit = true // the frontier's seen set dedupes, across workers
	c.ParseHTTPErrorResponse = true
	c.MaxBodySize = int(o.MaxBody)
	c.MaxDepth = 0
	c.DetectCharset = false
	c.SetClient(f.client)
	c.DisableCookies()
	c.SetRedirectHandler(func(req *http.Request, via []*http.Request) error {
		if err := checkHop(req, via, o.MaxRedirects); err != nil {
			return err
		}
		if o.CheckRedirect != nil {
			ctx := req.Context()
			if st := f.state(req); st != nil {
				ctx = st.ctx
			}
			return o.CheckRedirect(ctx, req)
		}
		return nil
	})
	c.OnResponse(func(r *colly.Response) {
		if st, ok := r.Ctx.GetAny("fetch").(*fetchState); ok {
			st.mu.Lock()
			st.resp = r
			st.mu.Unlock()
		}
	})
	f.col = c
	return f
}

// checkHop vets one redirect: its scheme, the count (crawl.max_redirects)
// and loops (a URL the chain has visited already).
func checkHop(req *http.Request, via []*http.Request, maxRedirects int) error {
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: %s", errRedirectScheme, req.URL.Redacted())
	}
	to := req.URL.String()
	for _, v := range via {
		if v.URL.String() == to {
			return fmt.Errorf("%w: back to %s after %d hops", errRedirectLoop, req.URL.Redacted(), len(via))
		}
	}
	if len(via) > maxRedirects {
		return fmt.Errorf("%w (more than %d)", errTooManyRedirects, maxRedirects)
	}
	return nil
}

func (f *fetcher) state(req *http.Request) *fetchState {
	id := req.Header.Get(fetchHeader)
	if id == "" {
		return nil
	}
	v, ok := f.states.Load(id)
	if !ok {
		return nil
	}
	return v.(*fetchState)
}

// get fetches rawURL through colly. The returned state holds the response
// and the exchange of its last hop; err is a transport-level failure.
func (f *fetcher) get(ctx context.Context, rawURL string, hdr http.Header) (*fetchState, error) {
	st := &fetchState{ctx: ctx}
	id := strconv.FormatUint(f.seq.Add(1), 36)
	f.states.Store(id, st)
	defer f.states.Delete(id)
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set(fetchHeader, id)
	hdr.Set("User-Agent", f.ua)
	cctx := colly.NewContext()
	cctx.Put("fetch", st)
	if err := f.col.Request(http.MethodGet, rawURL, nil, cctx, hdr); err != nil {
		return st, err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.resp == nil || st.ex == nil {
		return st, fmt.Errorf("fetch %s: no response", rawURL)
	}
	return st, nil
}

// capture is the transport under colly: one RoundTrip is one hop.
type capture struct {
	base http.RoundTripper
	f    *fetcher
}

func (t *capture) RoundTrip(req *http.Request) (*http.Response, error) {
	st := t.f.state(req)
	ctx := req.Context()
	if st != nil {
		// The fetch's context (lease, crawl shutdown) ends this hop too;
		// colly's own requests carry only a background context.
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		stop := context.AfterFunc(st.ctx, cancel)
		defer stop()
	}
	var remote string
	var mu sync.Mutex
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if a := i.Conn.RemoteAddr(); a != nil {
			mu.Lock()
			remote = a.String()
			mu.Unlock()
		}
	}}
	out := req.Clone(httptrace.WithClientTrace(ctx, trace))
	out.Header.Del(fetchHeader)
	if out.Header.Get("Accept-Encoding") == "" {
		out.Header.Set("Accept-Encoding", "gzip")
	}
	sent := time.Now().UTC()
	res, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	raw, body, trunc, err := readBodySized(res.Body, res.Header.Get("Content-Encoding"), t.f.maxBody, res.ContentLength)
	res.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", out.URL.Redacted(), err)
	}
	if st != nil {
		reqHdr := out.Header.Clone()
		host := out.Host
		if host == "" {
			host = out.URL.Host
		}
		reqHdr.Set("Host", host)
		mu.Lock()
		ip := remote
		mu.Unlock()
		if h, _, err := net.SplitHostPort(ip); err == nil {
			ip = h
		}
		ex := &lokerwatch.Exchange{
			URL:            out.URL.String(),
			Method:         out.Method,
			FetchedAt:      sent,
			RemoteIP:       ip,
			RequestHeader:  reqHdr,
			RequestLine:    out.Method + " " + out.URL.RequestURI() + " HTTP/1.1",
			StatusLine:     res.Proto + " " + res.Status,
			Status:         res.StatusCode,
			ResponseHeader: res.Header, // colly gets a copy, below
			RawBody:        raw,
			Body:           body,
			Truncated:      trunc,
		}
		st.mu.Lock()
		st.ex = ex
		st.mu.Unlock()
	}
	// colly gets the decoded body and must not decode it again; the
	// exchange keeps the header as received.
	res.Header = res.Header.Clone()
	res.Header.Del("Content-Encoding")
	res.Header.Del("Content-Length")
	res.ContentLength = int64(len(body))
	res.Uncompressed = true
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, nil
}

// readAll is io.ReadAll starting from a buffer of size+1 bytes when size
// is known (the extra byte sees EOF without growing the buffer). A body of
// unknown size (chunked, as most dynamic pages are) is read into a pooled
// scratch buffer and copied out at its exact size: one allocation instead
// of a dozen doublings from 512 bytes.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size >= 0 {
		return readInto(r, make([]byte, 0, size+1))
	}
	bp := scratch.Get().(*[]byte)
	b, err := readInto(r, (*bp)[:0])
	out := bytes.Clone(b)
	if out == nil {
		out = []byte{}
	}
	if cap(b) <= maxScratch {
		*bp = b[:0]
		scratch.Put(bp)
	}
	return out, err
}

// Scratch buffers for bodies of unknown size; one that grew past
// maxScratch (a huge page) is left to the GC rather than kept.
const maxScratch = 1 << 20

var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

func readInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
	}
}

// errReader remembers the first error other than EOF of the reader below
// a decompressor, which would otherwise hide it behind its own.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// readBody reads a response body and undoes its Content-Encoding as it
// reads, stopping at max decoded bytes: a compression bomb costs no more
// than a page at the limit, and only the compressed bytes that decoded to
// it are read off the wire. raw is the body as received (what was read of
// it), body the decoded bytes; truncated says there was more. A body cut
// short by the server or the deadline after some bytes decoded keeps what
// arrived (truncated); with nothing decoded it is an error.
func readBody(r io.Reader, encoding string, max int64) (raw, body []byte, truncated bool, err error) {
	return readBodySized(r, encoding, max, -1)
}

// maxSizeHint bounds the buffer allocated up front from a Content-Length,
// which a hostile server may state falsely.
const maxSizeHint = 1 << 20

// readBodySized is readBody with the response's Content-Length (-1 when
// unknown): a plain body is read into one buffer of that size instead of
// one grown by doubling (a page's largest allocation after parsing).
func readBodySized(r io.Reader, encoding string, max, size int64) (raw, body []byte, truncated bool, err error) {
	enc := strings.ToLower(strings.TrimSpace(encoding))
	if enc == "" || enc == "identity" {
		b, err := readAll(io.LimitReader(r, max+1), min(size, max, maxSizeHint))
		if err != nil {
			return nil, nil, false, fmt.Errorf("read body: %w", err)
		}
		if int64(len(b)) > max {
			return b[:max], b[:max], true, nil
		}
		return b, b, false, nil
	}
	var rawBuf bytes.Buffer
	// The raw copy is bounded too: a body that decodes to little from a lot
	// (padding after the stream) stops at max raw bytes.
	src := &errReader{r: io.LimitReader(r, max+1)}
	tee := bufio.NewReader(io.TeeReader(src, &rawBuf))
	if _, err := tee.Peek(1); err != nil {
		if src.err != nil {
			return nil, nil, false, fmt.Errorf("read body: %w", src.err)
		}
		return nil, nil, false, nil // no body (a 304, a HEAD-like answer)
	}
	var zr io.Reader
	switch enc {
	case "gzip", "x-gzip":
		gz, err := gzip.NewReader(tee)
		if err != nil {
			return nil, nil, false, fmt.Errorf("gzip body: %w", err)
		}
		zr = gz
	case "deflate":
		// "deflate" is zlib by the RFC, raw deflate by some servers: peek
		// at the header to tell.
		br := tee
		hdr, _ := br.Peek(2)
		if len(hdr) == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
			z, err := zlib.NewReader(br)
			if err != nil {
				return nil, nil, false, fmt.Errorf("deflate body: %w", err)
			}
			zr = z
		} else {
			zr = flate.NewReader(br)
		}
	default:
		return nil, nil, false, fmt.Errorf("%w %q", errEncoding, encoding)
	}
	b, err := io.ReadAll(io.LimitReader(zr, max+1))
	if src.err != nil {
		// The connection failed or the deadline passed: not a page.
		return nil, nil, false, fmt.Errorf("read body: %w", src.err)
	}
	raw = rawBuf.Bytes()
	if int64(len(raw)) > max {
		raw, truncated = raw[:max], true
	}
	if int64(len(b)) > max {
		return raw, b[:max], true, nil
	}
	if err != nil {
		if len(b) == 0 {
			return nil, nil, false, fmt.Errorf("decode %s body: %w", encoding, err)
		}
		return raw, b, true, nil
	}
	return raw, b, truncated, nil
}
