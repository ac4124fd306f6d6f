package evidence

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http/httputil"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WARC record types written or read here.
const (
	typeWarcinfo = "warcinfo"
	typeResponse = "response"
	typeRequest  = "request"
	typeMetadata = "metadata"
)

const (
	warcVersion     = "WARC/1.1"
	mimeHTTPResp    = "application/http;msgtype=response"
	mimeHTTPReq     = "application/http;msgtype=request"
	mimeWarcFields  = "application/warc-fields"
	mimeJSON        = "application/json"
	maxWARCHeader   = 1 << 20 // hostile bundles: cap a WARC or HTTP header block
	maxWARCLineSize = 64 << 10
)

// field is one WARC named field; records keep fields in write order and
// may repeat WARC-Concurrent-To.
type field struct{ name, value string }

// record is a WARC record ready to be written.
type record struct {
	fields []field
	block  []byte
}

func (r *record) add(name, value string) { r.fields = append(r.fields, field{name, cleanValue(value)}) }

// cleanValue keeps a header value on one line: values come from hostile
// pages (URLs, header values) and a CR or LF would forge fields.
func cleanValue(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r", "%0D", "\n", "%0A").Replace(s)
}

// writeTo writes the record uncompressed.
func (r *record) writeTo(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(warcVersion + "\r\n")
	for _, f := range r.fields {
		bw.WriteString(f.name)
		bw.WriteString(": ")
		bw.WriteString(f.value)
		bw.WriteString("\r\n")
	}
	bw.WriteString("Content-Length: " + strconv.Itoa(len(r.block)) + "\r\n\r\n")
	bw.Write(r.block)
	bw.WriteString("\r\n\r\n")
	return bw.Flush()
}

// writeGzipMember writes the record as one gzip member, so that its byte
// range in a .warc.gz stands alone (WARC 1.1 Annex D).
func (r *record) writeGzipMember(w io.Writer) error {
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(w)
	if err := r.writeTo(zw); err != nil {
		return err
	}
	return zw.Close()
}

// gzipWriters are reused: a flate compressor is large to allocate.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

// newRecordID returns a fresh urn:uuid (version 4).
func newRecordID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// warcDate formats a WARC-Date (UTC W3CDTF, up to nanoseconds).
func warcDate(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// sha256Label is the WARC/WACZ digest form "sha256:<lowercase hex>".
func sha256Label(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func hashLabel(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// digestChecker recomputes a labelled digest ("sha256:<hex|base32>",
// "sha1:<base32|hex>") and compares it.
type digestChecker struct {
	label string
	h     hash.Hash
}

func newDigestChecker(label string) (*digestChecker, error) {
	alg, _, ok := strings.Cut(label, ":")
	if !ok {
		return nil, fmt.Errorf("digest %q has no algorithm label", label)
	}
	switch strings.ToLower(alg) {
	case "sha256", "sha-256":
		return &digestChecker{label, sha256.New()}, nil
	case "sha1", "sha-1":
		return &digestChecker{label, sha1.New()}, nil
	}
	return nil, fmt.Errorf("digest algorithm %q not supported (sha256 or sha1)", alg)
}

func (d *digestChecker) Write(p []byte) (int, error) { return d.h.Write(p) }

// match compares the computed digest with the label, accepting hex or
// base32 (padded or not) in any case, as IIPC recommendation #48 asks of readers.
func (d *digestChecker) match() bool {
	_, val, _ := strings.Cut(d.label, ":")
	sum := d.h.Sum(nil)
	if strings.EqualFold(val, hex.EncodeToString(sum)) {
		return true
	}
	b32 := base32.StdEncoding.EncodeToString(sum)
	return strings.EqualFold(strings.TrimRight(val, "="), strings.TrimRight(b32, "="))
}

func (d *digestChecker) computed() string {
	alg, _, _ := strings.Cut(d.label, ":")
	sum := d.h.Sum(nil)
	if strings.EqualFold(alg, "sha1") || strings.EqualFold(alg, "sha-1") {
		return "sha1:" + base32.StdEncoding.EncodeToString(sum)
	}
	return "sha256:" + hex.EncodeToString(sum)
}

// recordInfo is what reading one stored WARC record tells.
type recordInfo struct {
	Offset, Length int64  // byte range of its gzip member in the file
	MemberDigest   string // sha256 of the member bytes as stored (set by splitMembers)
	Type           string
	ID             string // WARC-Record-ID without angle brackets
	TargetURI      string
	Date           string
	PayloadDigest  string // as written in the record
	HTTPStatus     int    // 0 unless an HTTP response
	HTTPMime       string // media type of the HTTP response body
	Problems       []string
}

// countingReader counts bytes consumed through it. It is an io.ByteReader,
// so compress/gzip reads through it without buffering ahead and the count
// is exactly where a gzip member ends.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// warcScanner reads WARC files; it keeps its buffers between files so
// that an export reading thousands of captures does not reallocate them.
type warcScanner struct {
	br, zbr, hbr *bufio.Reader
	zr           *gzip.Reader
}

func newWARCScanner() *warcScanner {
	return &warcScanner{
		br:  bufio.NewReaderSize(nil, 64<<10),
		zbr: bufio.NewReaderSize(nil, 32<<10),
		hbr: bufio.NewReaderSize(nil, 16<<10),
	}
}

// scanWARC reads a WARC file with a fresh scanner.
func scanWARC(r io.Reader, fn func(*recordInfo) error) error {
	return newWARCScanner().scan(r, fn)
}

// scan reads a WARC file (per-record gzip, or uncompressed when it does
// not start with the gzip magic), checks every record's block and payload
// digests while streaming, and calls fn for each record. A problem with one
// record is reported in its recordInfo and reading goes on; an error is
// returned only when the file cannot be read any further.
func (s *warcScanner) scan(r io.Reader, fn func(*recordInfo) error) error {
	br := s.br
	br.Reset(r)
	magic, _ := br.Peek(2)
	if len(magic) == 0 {
		return nil
	}
	if !(magic[0] == 0x1f && len(magic) > 1 && magic[1] == 0x8b) {
		return s.scanPlain(fn)
	}
	cr := &countingReader{r: br}
	for {
		if _, err := br.Peek(1); err == io.EOF {
			return nil
		}
		start := cr.n
		var err error
		if s.zr == nil {
			s.zr, err = gzip.NewReader(cr)
		} else {
			err = s.zr.Reset(cr)
		}
		if err != nil {
			return fmt.Errorf("gzip member at offset %d: %w", start, err)
		}
		s.zr.Multistream(false)
		s.zbr.Reset(s.zr)
		var infos []*recordInfo
		for {
			info, err := s.readRecord(s.zbr)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("record in gzip member at offset %d: %w", start, err)
			}
			infos = append(infos, info)
		}
		if len(infos) == 0 {
			return fmt.Errorf("gzip member at offset %d holds no WARC record", start)
		}
		for i, info := range infos {
			info.Offset, info.Length = start, cr.n-start
			if i > 0 {
				info.Problems = append(info.Problems, "several records share one gzip member (each record should be its own member)")
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
}

func (s *warcScanner) scanPlain(fn func(*recordInfo) error) error {
	cr := &countingReader{r: s.br}
	rr := s.zbr
	rr.Reset(cr)
	var pos int64
	for {
		info, err := s.readRecord(rr)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("record at offset %d: %w", pos, err)
		}
		end := cr.n - int64(rr.Buffered())
		info.Offset, info.Length = pos, end-pos
		pos = end
		if err := fn(info); err != nil {
			return err
		}
	}
}

// readLine reads one CRLF- (or LF-) terminated line, capped in length.
func readLine(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		frag, err := r.ReadSlice('\n')
		sb.Write(frag)
		if sb.Len() > maxWARCLineSize {
			return "", fmt.Errorf("header line longer than %d bytes", maxWARCLineSize)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && sb.Len() > 0 {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		return strings.TrimRight(sb.String(), "\r\n"), nil
	}
}

// readRecord reads one WARC record from r and checks its digests. It
// returns io.EOF at a clean end of input.
func (s *warcScanner) readRecord(r *bufio.Reader) (*recordInfo, error) {
	version, err := readLine(r)
	if err != nil {
		return nil, err
	}
	info := &recordInfo{}
	if version != "WARC/1.1" && version != "WARC/1.0" {
		return nil, fmt.Errorf("not a WARC record (starts %q)", trunc(version, 40))
	}
	var (
		length                  int64 = -1
		blockDigest, contentTyp string
		headerBytes             int
	)
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, fmt.Errorf("WARC header: %w", err)
		}
		if line == "" {
			break
		}
		if headerBytes += len(line); headerBytes > maxWARCHeader {
			return nil, errors.New("WARC header too large")
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			info.Problems = append(info.Problems, fmt.Sprintf("malformed WARC header line %q", trunc(line, 60)))
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "content-length":
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("bad Content-Length %q", trunc(value, 30))
			}
			length = n
		case "warc-type":
			info.Type = value
		case "warc-record-id":
			info.ID = strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">")
		case "warc-target-uri":
			info.TargetURI = strings.TrimSuffix(strings.TrimPrefix(value, "<"), ">")
		case "warc-date":
			info.Date = value
		case "warc-block-digest":
			blockDigest = value
		case "warc-payload-digest":
			info.PayloadDigest = value
		case "content-type":
			contentTyp = value
		}
	}
	if length < 0 {
		return nil, fmt.Errorf("record %s has no Content-Length", info.ID)
	}
	for _, f := range []struct{ name, v string }{{"WARC-Type", info.Type}, {"WARC-Record-ID", info.ID}, {"WARC-Date", info.Date}} {
		if f.v == "" {
			info.Problems = append(info.Problems, "missing "+f.name)
		}
	}
	if info.Date != "" {
		if _, err := time.Parse(time.RFC3339Nano, info.Date); err != nil {
			info.Problems = append(info.Problems, fmt.Sprintf("WARC-Date %q is not a W3C date", trunc(info.Date, 40)))
		}
	}

	// Digests are computed while the block streams by.
	var hashers []io.Writer
	var block *digestChecker
	if blockDigest == "" {
		info.Problems = append(info.Problems, "missing WARC-Block-Digest")
	} else if block, err = newDigestChecker(blockDigest); err != nil {
		info.Problems = append(info.Problems, "WARC-Block-Digest: "+err.Error())
	} else {
		hashers = append(hashers, block)
	}
	lr := io.LimitReader(r, length)
	var src io.Reader = lr
	if len(hashers) > 0 {
		src = io.TeeReader(lr, io.MultiWriter(hashers...))
	}
	isHTTP := strings.HasPrefix(strings.ToLower(contentTyp), "application/http")
	needPayload := info.PayloadDigest != ""
	if info.Type == typeResponse && isHTTP && !needPayload {
		info.Problems = append(info.Problems, "response record without WARC-Payload-Digest")
	}
	switch {
	case isHTTP && (needPayload || info.Type == typeResponse):
		s.checkHTTPBlock(info, src, needPayload)
	case needPayload:
		// The payload of a non-HTTP block is the whole block.
		if pd, err := newDigestChecker(info.PayloadDigest); err != nil {
			info.Problems = append(info.Problems, "WARC-Payload-Digest: "+err.Error())
		} else {
			io.Copy(pd, src)
			if !pd.match() {
				info.Problems = append(info.Problems, fmt.Sprintf("payload digest mismatch: header says %s, content is %s", info.PayloadDigest, pd.computed()))
			}
		}
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, fmt.Errorf("record %s block: %w", info.ID, err)
	}
	if lr.(*io.LimitedReader).N > 0 {
		return nil, fmt.Errorf("record %s: block shorter than its Content-Length %d: %w", info.ID, length, io.ErrUnexpectedEOF)
	}
	if block != nil && !block.match() {
		info.Problems = append(info.Problems, fmt.Sprintf("block digest mismatch: header says %s, content is %s", blockDigest, block.computed()))
	}
	var tail [4]byte
	if _, err := io.ReadFull(r, tail[:]); err != nil || string(tail[:]) != "\r\n\r\n" {
		info.Problems = append(info.Problems, "record does not end with CRLF CRLF")
	}
	return info, nil
}

// checkHTTPBlock parses the HTTP message head of a block and checks the
// payload digest over its entity body, de-chunked when the message says
// Transfer-Encoding: chunked (and content-encoding kept), as WARC 1.1 asks.
func (s *warcScanner) checkHTTPBlock(info *recordInfo, block io.Reader, needPayload bool) {
	br := s.hbr
	br.Reset(block)
	first, err := readLine(br)
	if err != nil {
		info.Problems = append(info.Problems, "HTTP message: "+err.Error())
		return
	}
	if info.Type == typeResponse {
		parts := strings.SplitN(first, " ", 3)
		if len(parts) >= 2 && strings.HasPrefix(parts[0], "HTTP/") {
			info.HTTPStatus, _ = strconv.Atoi(parts[1])
		}
		if info.HTTPStatus == 0 {
			info.Problems = append(info.Problems, fmt.Sprintf("HTTP status line %q not understood", trunc(first, 60)))
		}
	}
	chunked := false
	size := 0
	for {
		line, err := readLine(br)
		if err != nil {
			info.Problems = append(info.Problems, "HTTP header: "+err.Error())
			return
		}
		if line == "" {
			break
		}
		if size += len(line); size > maxWARCHeader {
			info.Problems = append(info.Problems, "HTTP header too large")
			return
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding":
			chunked = chunked || strings.Contains(strings.ToLower(value), "chunked")
		case "content-type":
			mt, _, _ := strings.Cut(value, ";")
			info.HTTPMime = strings.ToLower(strings.TrimSpace(mt))
		}
	}
	if !needPayload {
		return
	}
	pd, err := newDigestChecker(info.PayloadDigest)
	if err != nil {
		info.Problems = append(info.Problems, "WARC-Payload-Digest: "+err.Error())
		return
	}
	var body io.Reader = br
	if chunked {
		body = httputil.NewChunkedReader(br)
	}
	if _, err := io.Copy(pd, body); err != nil {
		info.Problems = append(info.Problems, "HTTP body: "+err.Error())
		return
	}
	if !pd.match() {
		info.Problems = append(info.Problems, fmt.Sprintf("payload digest mismatch: header says %s, content is %s", info.PayloadDigest, pd.computed()))
	}
}

// splitMembers returns the byte ranges of the gzip members of a capture
// held in memory, with what their records say.
func (s *warcScanner) splitMembers(warc []byte) ([]*recordInfo, error) {
	var out []*recordInfo
	err := s.scan(bytes.NewReader(warc), func(ri *recordInfo) error {
		ri.MemberDigest = sha256Label(warc[ri.Offset : ri.Offset+ri.Length])
		out = append(out, ri)
		return nil
	})
	return out, err
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
