package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// ArchiveStore is what the Archiver needs from a store.
type ArchiveStore interface {
	PutEvidence(ctx context.Context, rec *storage.EvidenceRecord) error
	AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error
}

// ArchiverOptions configure an Archiver; the zero value works.
type ArchiverOptions struct {
	// Software names the crawler build in the metadata record
	// (default "lokerwatch").
	Software string
	// Worker is the audit actor of captures (default "system").
	Worker string
	Logger *slog.Logger
}

// Archiver turns crawled exchanges into WARC captures in the store.
type Archiver struct {
	store ArchiveStore
	opts  ArchiverOptions
}

// NewArchiver returns an Archiver writing to store.
func NewArchiver(store ArchiveStore, opts ArchiverOptions) *Archiver {
	if opts.Software == "" {
		opts.Software = "lokerwatch"
	}
	if opts.Worker == "" {
		opts.Worker = "system"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Archiver{store: store, opts: opts}
}

// CaptureMetadata is the JSON block of a capture's metadata record: what
// was extracted from the page, how it was assessed, and how the HTTP
// messages in the request and response records were written.
type CaptureMetadata struct {
	Format    string    `json:"format"` // "lokerwatch-capture/1"
	Software  string    `json:"software"`
	Worker    string    `json:"worker"`
	URL       string    `json:"url"`
	FetchedAt time.Time `json:"fetched_at"`
	RemoteIP  string    `json:"remote_ip,omitempty"`
	HTTP      HTTPNotes `json:"http"`
	// Ads are the flagged ads extracted from the page, with their assessments.
	Ads []*lokerwatch.Ad `json:"ads"`
}

// HTTPNotes say how the recorded HTTP messages differ from the bytes on
// the wire, so that nobody has to guess.
type HTTPNotes struct {
	// Reconstructed is always true: the crawler keeps parsed headers, so
	// the messages are rebuilt from the status line, the headers (sorted by
	// name, names in canonical case) and the body as received.
	Reconstructed bool `json:"reconstructed"`
	// TransferEncodingRemoved holds the Transfer-Encoding the server sent
	// (e.g. "chunked"); the body is recorded de-chunked.
	TransferEncodingRemoved string `json:"transfer_encoding_removed,omitempty"`
	// ContentLengthReceived is the Content-Length the server sent when it
	// differs from the recorded body ("" when none was sent); the recorded
	// Content-Length is the length of the body kept.
	ContentLengthReceived *string `json:"content_length_received,omitempty"`
	// HostAdded is set when the request record got a Host header that the
	// crawler's header map did not list (Go sends it separately).
	HostAdded bool `json:"host_added,omitempty"`
	// Truncated: the body hit the crawl size limit (WARC-Truncated: length).
	Truncated bool `json:"truncated,omitempty"`
	// RemoteIPInvalid holds a remote address that could not be parsed.
	RemoteIPInvalid string `json:"remote_ip_invalid,omitempty"`
}

// Archive stores the exchange that yielded ads as one capture: a response
// record (status line, headers and body as received, de-chunked), the
// request record and a metadata record with the flagged ads and their
// assessments, each its own gzip member, all with the same WARC-Date and
// linked by WARC-Concurrent-To. Ads that are not flagged are left out;
// when none is flagged nothing is stored (pages without flagged ads are not
// kept) and Archive returns nil.
func (a *Archiver) Archive(ctx context.Context, ex *lokerwatch.Exchange, ads []*lokerwatch.Ad) error {
	if ex == nil {
		return fmt.Errorf("archive: no exchange")
	}
	var flagged []*lokerwatch.Ad
	for _, ad := range ads {
		if ad != nil && ad.Assessment != nil && ad.Assessment.Flagged {
			flagged = append(flagged, ad)
		}
	}
	if len(flagged) == 0 {
		return nil
	}
	rec, err := a.build(ex, flagged)
	if err != nil {
		return fmt.Errorf("archive %s: %w", ex.URL, err)
	}
	if err := a.store.PutEvidence(ctx, rec); err != nil {
		return fmt.Errorf("archive %s: store capture %s: %w", ex.URL, rec.ID, err)
	}
	ev := lokerwatch.AuditEvent{
		Time:   time.Now().UTC(),
		Actor:  a.opts.Worker,
		Action: ActionCapture,
		Object: rec.ID,
		Detail: fmt.Sprintf("url=%s ads=%s digest=%s", rec.URL, strings.Join(rec.AdIDs, ","), rec.Digest),
	}
	if err := a.store.AppendAudit(ctx, ev); err != nil {
		return fmt.Errorf("archive %s: capture %s stored but audit failed: %w", ex.URL, rec.ID, err)
	}
	a.opts.Logger.Debug("captured", "url", ex.URL, "capture", rec.ID, "ads", len(flagged), "bytes", len(rec.WARC))
	return nil
}

// Audit actions written by this package.
const (
	ActionCapture  = "evidence.capture"  // a page was captured
	ActionExport   = "export"            // one per export (Object: export ID)
	ActionExported = "evidence.exported" // one per capture in a WACZ export (Detail: export ID)
	ActionReleased = "evidence.released" // investigator released an exported capture
	ActionPurge    = "purge"             // a capture was deleted by the retention policy
)

// build writes the three records of a capture.
func (a *Archiver) build(ex *lokerwatch.Exchange, ads []*lokerwatch.Ad) (*storage.EvidenceRecord, error) {
	target, err := url.Parse(ex.URL)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("target URL %q is not absolute", trunc(ex.URL, 100))
	}
	when := ex.FetchedAt
	if when.IsZero() {
		when = time.Now()
	}
	when = when.UTC()
	date := warcDate(when)
	notes := HTTPNotes{Reconstructed: true, Truncated: ex.Truncated}
	ip, ipOK := remoteIP(ex.RemoteIP)
	if !ipOK && ex.RemoteIP != "" {
		notes.RemoteIPInvalid = ex.RemoteIP
	}

	respID, reqID, metaID := newRecordID(), newRecordID(), newRecordID()
	respBlock, payload := responseBlock(ex, &notes)
	reqBlock := requestBlock(ex, target, &notes)

	meta := CaptureMetadata{
		Format: "lokerwatch-capture/1", Software: a.opts.Software, Worker: a.opts.Worker,
		URL: ex.URL, FetchedAt: when, RemoteIP: ip, HTTP: notes, Ads: ads,
	}
	metaBlock, err := json.MarshalIndent(meta, "", " ")
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}

	common := func(r *record, typ, id string) {
		r.add("WARC-Type", typ)
		r.add("WARC-Record-ID", "<"+id+">")
		r.add("WARC-Date", date)
		r.add("WARC-Target-URI", ex.URL)
		if ipOK {
			r.add("WARC-IP-Address", ip)
		}
	}
	resp := &record{block: respBlock}
	common(resp, typeResponse, respID)
	resp.add("WARC-Concurrent-To", "<"+reqID+">")
	resp.add("WARC-Concurrent-To", "<"+metaID+">")
	if ex.Truncated {
		resp.add("WARC-Truncated", "length")
	}
	resp.add("WARC-Block-Digest", sha256Label(respBlock))
	resp.add("WARC-Payload-Digest", sha256Label(payload))
	resp.add("Content-Type", mimeHTTPResp)

	req := &record{block: reqBlock}
	common(req, typeRequest, reqID)
	req.add("WARC-Concurrent-To", "<"+respID+">")
	req.add("WARC-Block-Digest", sha256Label(reqBlock))
	req.add("Content-Type", mimeHTTPReq)

	md := &record{block: metaBlock}
	common(md, typeMetadata, metaID)
	md.add("WARC-Refers-To", "<"+respID+">")
	md.add("WARC-Concurrent-To", "<"+respID+">")
	md.add("WARC-Block-Digest", sha256Label(metaBlock))
	md.add("Content-Type", mimeJSON)

	var buf bytes.Buffer
	buf.Grow(len(respBlock)/2 + 2048)
	for _, r := range []*record{resp, req, md} {
		if err := r.writeGzipMember(&buf); err != nil {
			return nil, fmt.Errorf("write record: %w", err)
		}
	}
	ids := make([]string, len(ads))
	for i, ad := range ads {
		ids[i] = ad.ID
	}
	return &storage.EvidenceRecord{
		ID: respID, URL: ex.URL, AdIDs: ids, CapturedAt: when,
		WARC: buf.Bytes(), Digest: sha256Label(buf.Bytes()),
	}, nil
}

// remoteIP accepts "ip" or "ip:port" (IPv6 with or without brackets).
func remoteIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", false
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	addr, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return "", false
	}
	return addr.WithZone("").Unmap().String(), true
}

// writeHeaders writes headers sorted by name, values in received order.
func writeHeaders(b *bytes.Buffer, h http.Header) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range h[k] {
			b.WriteString(cleanHeaderText(k))
			b.WriteString(": ")
			b.WriteString(cleanHeaderText(v))
			b.WriteString("\r\n")
		}
	}
}

// cleanHeaderText keeps a header on one line (parsed headers never hold
// CR or LF, but an Exchange may be built by hand).
func cleanHeaderText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// responseBlock rebuilds the response message: status line, headers,
// body as received (de-chunked, content-encoding kept). It returns the
// block and the payload (the entity body, what WARC-Payload-Digest covers).
func responseBlock(ex *lokerwatch.Exchange, notes *HTTPNotes) (block, payload []byte) {
	payload = ex.RawBody
	h := ex.ResponseHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	if payload == nil && len(ex.Body) > 0 && h.Get("Content-Encoding") == "" {
		payload = ex.Body // not content-encoded: the decoded body is the raw body
	}
	if te := h.Values("Transfer-Encoding"); len(te) > 0 {
		notes.TransferEncodingRemoved = strings.Join(te, ", ")
		h.Del("Transfer-Encoding")
	}
	want := strconv.Itoa(len(payload))
	if cl := h.Values("Content-Length"); len(cl) != 1 || cl[0] != want {
		got := strings.Join(cl, ", ")
		notes.ContentLengthReceived = &got
		h.Set("Content-Length", want)
	}
	status := strings.TrimSpace(ex.StatusLine)
	if status == "" {
		code := ex.Status
		if code == 0 {
			code = http.StatusOK
		}
		status = fmt.Sprintf("HTTP/1.1 %d %s", code, http.StatusText(code))
	}
	var b bytes.Buffer
	b.Grow(len(payload) + 1024)
	b.WriteString(cleanHeaderText(status))
	b.WriteString("\r\n")
	writeHeaders(&b, h)
	b.WriteString("\r\n")
	hdrLen := b.Len()
	b.Write(payload)
	out := b.Bytes()
	return out, out[hdrLen:]
}

// requestBlock rebuilds the request message as sent.
func requestBlock(ex *lokerwatch.Exchange, target *url.URL, notes *HTTPNotes) []byte {
	line := strings.TrimSpace(ex.RequestLine)
	if line == "" {
		m := ex.Method
		if m == "" {
			m = http.MethodGet
		}
		line = m + " " + target.RequestURI() + " HTTP/1.1"
	}
	h := ex.RequestHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	if h.Get("Host") == "" {
		h.Set("Host", target.Host)
		notes.HostAdded = true
	}
	var b bytes.Buffer
	b.WriteString(cleanHeaderText(line))
	b.WriteString("\r\n")
	writeHeaders(&b, h)
	b.WriteString("\r\n")
	return b.Bytes()
}
