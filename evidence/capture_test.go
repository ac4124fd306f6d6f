package evidence

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	iawarc "github.com/internetarchive/gowarc"
	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	nlnwa "github.com/nlnwa/gowarc/v3"
)

// nlnwaRecord is what the nlnwa reader saw in one record.
type nlnwaRecord struct {
	typ          string
	id, date     string
	concurrentTo []string
	header       *nlnwa.WarcFields
	offset, size int64
}

// readNLNWA parses a .warc.gz with github.com/nlnwa/gowarc/v3 in strict
// mode and validates every record's block and payload digests.
func readNLNWA(t *testing.T, data []byte) []nlnwaRecord {
	t.Helper()
	r, err := nlnwa.NewWarcFileReaderFromStream(bytes.NewReader(data), 0, nlnwa.WithStrictValidation())
	if err != nil {
		t.Fatalf("nlnwa reader: %v", err)
	}
	defer r.Close()
	var out []nlnwaRecord
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatalf("nlnwa: record %d: %v", len(out), err)
		}
		if len(rec.Validation) > 0 {
			t.Errorf("nlnwa: record %d validation: %v", len(out), rec.Validation)
		}
		wr := rec.WarcRecord
		validation, err := wr.ValidateDigest()
		if err != nil || len(validation) > 0 {
			t.Errorf("nlnwa: record %s digests: %v %v", wr.RecordId(), err, validation)
		}
		h := wr.WarcHeader()
		out = append(out, nlnwaRecord{
			typ: wr.Type().String(), id: wr.RecordId(), date: h.Get(nlnwa.WarcDate),
			concurrentTo: h.GetAll(nlnwa.WarcConcurrentTo), header: h, offset: rec.Offset, size: rec.Size,
		})
		rec.Close()
	}
	return out
}

// iaRecord is what the Internet Archive reader saw in one record.
type iaRecord struct {
	header       iawarc.Header
	offset, size int64
}

// readIA parses a .warc.gz with github.com/internetarchive/gowarc and
// recomputes block and payload digests as its `warc verify` does.
func readIA(t *testing.T, data []byte) []iaRecord {
	t.Helper()
	r, err := iawarc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("IA reader: %v", err)
	}
	var out []iaRecord
	for {
		rec, err := r.ReadRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("IA reader: record %d: %v", len(out), err)
		}
		id := rec.Header.Get("WARC-Record-ID")
		if rec.Version != "WARC/1.1" {
			t.Errorf("IA: %s version %q", id, rec.Version)
		}
		bd, err := iawarc.GetDigest(rec.Content, iawarc.SHA256Base16)
		if err != nil || bd != rec.Header.Get("WARC-Block-Digest") {
			t.Errorf("IA: %s block digest %s, header %s (%v)", id, bd, rec.Header.Get("WARC-Block-Digest"), err)
		}
		if pd := rec.Header.Get("WARC-Payload-Digest"); pd != "" {
			rec.Content.Seek(0, 0)
			resp, err := http.ReadResponse(bufio.NewReader(rec.Content), nil)
			if err != nil {
				t.Fatalf("IA: %s HTTP: %v", id, err)
			}
			got, err := iawarc.GetDigest(resp.Body, iawarc.SHA256Base16)
			resp.Body.Close()
			if err != nil || got != pd {
				t.Errorf("IA: %s payload digest %s, header %s (%v)", id, got, pd, err)
			}
		}
		out = append(out, iaRecord{header: rec.Header, offset: rec.Offset, size: rec.Size})
		rec.Content.Close()
	}
	return out
}

func TestCaptureRecordsReadByIndependentReaders(t *testing.T) {
	site := jobSite(t)
	for _, tc := range []struct {
		path    string
		chunked bool
	}{{"/job/1", false}, {"/job/2z", true}} {
		t.Run(tc.path, func(t *testing.T) {
			ex := fetch(t, site.URL+tc.path)
			if tc.chunked && len(ex.ResponseHeader["Transfer-Encoding"]) == 0 {
				t.Fatal("test server did not chunk the response")
			}
			ad := flaggedAd("jobsite", ex.URL, 1, "+6281234567890", ex.FetchedAt)
			a := NewArchiver(nil, ArchiverOptions{Software: "lokerwatch test", Worker: "w1"})
			rec, err := a.build(ex, []*lokerwatch.Ad{ad})
			if err != nil {
				t.Fatal(err)
			}
			if rec.Digest != sha256Label(rec.WARC) {
				t.Errorf("capture digest %s does not match its bytes", rec.Digest)
			}
			wantPayload := sha256.Sum256(ex.RawBody)

			nl := readNLNWA(t, rec.WARC)
			if len(nl) != 3 || nl[0].typ != "response" || nl[1].typ != "request" || nl[2].typ != "metadata" {
				t.Fatalf("records %+v, want response, request, metadata", nl)
			}
			resp, req, meta := nl[0], nl[1], nl[2]
			if resp.id != rec.ID {
				t.Errorf("capture ID %s, response record %s", rec.ID, resp.id)
			}
			for _, r := range nl {
				if r.date != resp.date {
					t.Errorf("%s WARC-Date %s differs from response %s", r.typ, r.date, resp.date)
				}
				if ip := r.header.Get(nlnwa.WarcIPAddress); ip != "127.0.0.1" {
					t.Errorf("%s WARC-IP-Address %q", r.typ, ip)
				}
				if u := r.header.Get(nlnwa.WarcTargetURI); u != ex.URL {
					t.Errorf("%s WARC-Target-URI %q", r.typ, u)
				}
				if d := r.header.Get(nlnwa.WarcBlockDigest); !strings.HasPrefix(d, "sha256:") || d != strings.ToLower(d) || len(d) != 71 {
					t.Errorf("%s block digest %q not sha256 lowercase hex", r.typ, d)
				}
			}
			if got := resp.header.Get(nlnwa.WarcPayloadDigest); got != "sha256:"+hex.EncodeToString(wantPayload[:]) {
				t.Errorf("payload digest %s, want sha256 of the de-chunked body", got)
			}
			br := func(id string) string { return "<" + id + ">" }
			if !containsString(resp.concurrentTo, br(req.id)) || !containsString(resp.concurrentTo, br(meta.id)) {
				t.Errorf("response WARC-Concurrent-To %v, want %s and %s", resp.concurrentTo, req.id, meta.id)
			}
			if !containsString(req.concurrentTo, br(resp.id)) || !containsString(meta.concurrentTo, br(resp.id)) {
				t.Errorf("request/metadata not linked to the response: %v %v", req.concurrentTo, meta.concurrentTo)
			}
			if meta.header.Get(nlnwa.WarcRefersTo) != br(resp.id) {
				t.Errorf("metadata WARC-Refers-To %q", meta.header.Get(nlnwa.WarcRefersTo))
			}

			ia := readIA(t, rec.WARC)
			ours, err := newWARCScanner().splitMembers(rec.WARC)
			if err != nil {
				t.Fatal(err)
			}
			if len(ia) != 3 || len(ours) != 3 {
				t.Fatalf("IA read %d records, we split %d", len(ia), len(ours))
			}
			for i := range ia {
				if ia[i].offset != ours[i].Offset || ia[i].size != ours[i].Length {
					t.Errorf("record %d: IA sees gzip member %d+%d, we %d+%d", i, ia[i].offset, ia[i].size, ours[i].Offset, ours[i].Length)
				}
				if len(ours[i].Problems) > 0 {
					t.Errorf("record %d: %v", i, ours[i].Problems)
				}
			}
			if ours[0].HTTPStatus != 200 || ours[0].HTTPMime != "text/html" {
				t.Errorf("status %d mime %q", ours[0].HTTPStatus, ours[0].HTTPMime)
			}

			// The response block: no Transfer-Encoding, Content-Length of the
			// body kept, Content-Encoding kept, body byte for byte.
			block := responseBlockOf(t, rec.WARC)
			head, body, _ := bytes.Cut(block, []byte("\r\n\r\n"))
			if bytes.Contains(bytes.ToLower(head), []byte("transfer-encoding")) {
				t.Errorf("response head still has Transfer-Encoding:\n%s", head)
			}
			if !bytes.Equal(body, ex.RawBody) {
				t.Errorf("recorded body differs from the body as received")
			}
			if tc.chunked && !bytes.Contains(head, []byte("Content-Encoding: gzip")) {
				t.Errorf("Content-Encoding dropped:\n%s", head)
			}
			var md CaptureMetadata
			if err := json.Unmarshal(metadataBlockOf(t, rec.WARC), &md); err != nil {
				t.Fatal(err)
			}
			if len(md.Ads) != 1 || md.Ads[0].ID != ad.ID || md.Ads[0].Assessment.Score != ad.Assessment.Score {
				t.Errorf("metadata ads %+v", md.Ads)
			}
			if tc.chunked != (md.HTTP.TransferEncodingRemoved == "chunked") {
				t.Errorf("metadata transfer_encoding_removed %q", md.HTTP.TransferEncodingRemoved)
			}
		})
	}
}

// recordBlock returns the block of the n-th record of a capture.
func recordBlock(t *testing.T, warc []byte, n int) []byte {
	t.Helper()
	r, err := iawarc.NewReader(bytes.NewReader(warc))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		rec, err := r.ReadRecord()
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
		if i == n {
			b, _ := io.ReadAll(rec.Content)
			rec.Content.Close()
			return b
		}
		rec.Content.Close()
	}
}

func responseBlockOf(t *testing.T, warc []byte) []byte { return recordBlock(t, warc, 0) }
func metadataBlockOf(t *testing.T, warc []byte) []byte { return recordBlock(t, warc, 2) }

// A hostile or incomplete exchange still gives valid records: header
// values cannot forge WARC fields, a bad address is left out and noted.
func TestCaptureHostileExchange(t *testing.T) {
	ex := &lokerwatch.Exchange{
		URL:        "http://evil.example/job?id=1\r\nWARC-Type: resource",
		StatusLine: "HTTP/1.1 200 OK\r\nX-Injected: 1",
		RemoteIP:   "not-an-ip",
		ResponseHeader: http.Header{
			"Content-Length": {"999999"},
			"X-Evil":         {"a\r\nWARC-Payload-Digest: sha256:00"},
		},
		RawBody:   []byte("partial body"),
		Truncated: true,
	}
	ad := flaggedAd("evil", "http://evil.example/job?id=1", 1, "+6281111111111", time.Now())
	a := NewArchiver(nil, ArchiverOptions{})
	if _, err := a.build(ex, []*lokerwatch.Ad{ad}); err == nil {
		t.Fatal("a URL with CR LF was accepted as a target")
	}
	ex.URL = "http://evil.example/job?id=1"
	rec, err := a.build(ex, []*lokerwatch.Ad{ad})
	if err != nil {
		t.Fatal(err)
	}
	nl := readNLNWA(t, rec.WARC)
	if nl[0].header.Get(nlnwa.WarcTruncated) != "length" {
		t.Errorf("WARC-Truncated %q", nl[0].header.Get(nlnwa.WarcTruncated))
	}
	if nl[0].header.Has(nlnwa.WarcIPAddress) {
		t.Error("invalid remote address written as WARC-IP-Address")
	}
	readIA(t, rec.WARC)
	var md CaptureMetadata
	json.Unmarshal(metadataBlockOf(t, rec.WARC), &md)
	if md.HTTP.RemoteIPInvalid != "not-an-ip" || md.HTTP.ContentLengthReceived == nil || *md.HTTP.ContentLengthReceived != "999999" || !md.HTTP.Truncated {
		t.Errorf("metadata notes %+v", md.HTTP)
	}
}

func TestArchiveStoresOnlyFlaggedPages(t *testing.T) {
	site := jobSite(t)
	ctx := context.Background()
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			a := NewArchiver(st, ArchiverOptions{Worker: "w1"})
			ex := fetch(t, site.URL+"/job/10")
			plain := flaggedAd("jobsite", ex.URL, 1, "+6281234567890", ex.FetchedAt)
			plain.Assessment.Flagged = false
			if _, err := st.PutAd(ctx, plain); err != nil {
				t.Fatal(err)
			}
			if err := a.Archive(ctx, ex, []*lokerwatch.Ad{plain}); err != nil {
				t.Fatal(err)
			}
			if caps, err := st.EvidenceForAd(ctx, plain.ID); err != nil || len(caps) != 0 {
				t.Fatalf("unflagged page captured: %v %v", caps, err)
			}

			ex = fetch(t, site.URL+"/job/11z")
			ad := flaggedAd("jobsite", ex.URL, 2, "+6281234567890", ex.FetchedAt)
			if _, err := st.PutAd(ctx, ad); err != nil {
				t.Fatal(err)
			}
			if err := a.Archive(ctx, ex, []*lokerwatch.Ad{ad, plain}); err != nil {
				t.Fatal(err)
			}
			caps, err := st.EvidenceForAd(ctx, ad.ID)
			if err != nil || len(caps) != 1 {
				t.Fatalf("captures %v %v", caps, err)
			}
			got, err := st.GetEvidence(ctx, caps[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != sha256Label(got.WARC) || len(got.AdIDs) != 1 || got.AdIDs[0] != ad.ID {
				t.Errorf("stored capture %s digest %s ads %v", got.ID, got.Digest, got.AdIDs)
			}
			readNLNWA(t, got.WARC)
			readIA(t, got.WARC)
			evs, err := st.ListAudit(ctx, storage.AuditFilter{Object: got.ID})
			if err != nil || len(evs) != 1 || evs[0].Action != ActionCapture || evs[0].Actor != "w1" {
				t.Errorf("capture audit %+v %v", evs, err)
			}
		})
	}
}
