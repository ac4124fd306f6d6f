package review

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// Limits for reading a stored capture; captures are hostile input.
const (
	maxWARCRead     = 64 << 20 // decompressed bytes read from one record set
	maxCaptureShown = 2 << 20  // bytes of response body shown
)

// capturedResponse is the HTTP response found in a capture.
type capturedResponse struct {
	TargetURI   string
	Date        string
	Status      string
	ContentType string
	Body        []byte
	Truncated   bool
}

// readCapture finds the first WARC response record in warc (a .warc.gz:
// gzip members, or plain WARC) and returns its HTTP response with the body
// de-chunked and, for gzip/deflate, decoded.
func readCapture(warc []byte) (*capturedResponse, error) {
	var src io.Reader = bytes.NewReader(warc)
	if len(warc) >= 2 && warc[0] == 0x1f && warc[1] == 0x8b {
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, fmt.Errorf("read capture: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	br := bufio.NewReader(io.LimitReader(src, maxWARCRead))
	tp := textproto.NewReader(br)
	for rec := 0; ; rec++ {
		line, err := tp.ReadLine()
		for err == nil && line == "" { // blank lines between records
			line, err = tp.ReadLine()
		}
		if errors.Is(err, io.EOF) {
			return nil, errors.New("read capture: no response record")
		}
		if err != nil {
			return nil, fmt.Errorf("read capture: record %d: %w", rec, err)
		}
		if !strings.HasPrefix(line, "WARC/") {
			return nil, fmt.Errorf("read capture: record %d: not a WARC record (%.20q)", rec, line)
		}
		hdr, err := tp.ReadMIMEHeader()
		if err != nil {
			return nil, fmt.Errorf("read capture: record %d headers: %w", rec, err)
		}
		n, err := strconv.ParseInt(hdr.Get("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("read capture: record %d: bad Content-Length %q", rec, hdr.Get("Content-Length"))
		}
		if !strings.EqualFold(hdr.Get("WARC-Type"), "response") {
			if _, err := io.CopyN(io.Discard, br, n); err != nil {
				return nil, fmt.Errorf("read capture: record %d block: %w", rec, err)
			}
			continue
		}
		block := io.LimitReader(br, n)
		out := &capturedResponse{TargetURI: hdr.Get("WARC-Target-URI"), Date: hdr.Get("WARC-Date")}
		resp, err := http.ReadResponse(bufio.NewReader(block), nil)
		if err != nil {
			return nil, fmt.Errorf("read capture: record %d: HTTP response: %w", rec, err)
		}
		defer resp.Body.Close()
		out.Status = resp.Status
		out.ContentType = resp.Header.Get("Content-Type")
		var body io.Reader = resp.Body
		switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(body)
			if err != nil {
				return nil, fmt.Errorf("read capture: record %d: gzip body: %w", rec, err)
			}
			defer zr.Close()
			body = zr
		case "deflate":
			fr := flate.NewReader(body)
			defer fr.Close()
			body = fr
		}
		b, err := io.ReadAll(io.LimitReader(body, maxCaptureShown+1))
		if err != nil && len(b) == 0 {
			return nil, fmt.Errorf("read capture: record %d: body: %w", rec, err)
		}
		if len(b) > maxCaptureShown {
			b, out.Truncated = b[:maxCaptureShown], true
		}
		out.Body = b
		return out, nil
	}
}
