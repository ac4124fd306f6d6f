package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with a bundle, naming the file it is in.
type Problem struct {
	File   string `json:"file"`
	Detail string `json:"detail"`
}

func (p Problem) String() string { return p.File + ": " + p.Detail }

// Report is what Verify found.
type Report struct {
	Files      int `json:"files"`
	Records    int `json:"records"`     // WARC records read
	IndexLines int `json:"index_lines"` // CDXJ lines checked
	Pages      int `json:"pages"`
	// Signed: datapackage-digest.json carries a signature.
	Signed bool `json:"signed"`
	// SignatureValid: the signature matches the hash of datapackage.json.
	SignatureValid bool `json:"signature_valid"`
	// KeyTrusted: it was made by the public key given to Verify (without
	// one, a valid signature only shows the bundle is unchanged since
	// someone holding the embedded key signed it).
	KeyTrusted     bool      `json:"key_trusted"`
	KeyFingerprint string    `json:"key_fingerprint,omitempty"`
	Created        string    `json:"created,omitempty"`
	Problems       []Problem `json:"problems"`
	Notes          []string  `json:"notes,omitempty"`

	// responses are the WARC-Record-IDs of the response records found,
	// with no problem, in the bundle's WARC files (for ReleaseVerified).
	responses map[string]bool
}

// Trusted reports whether the bundle is intact and signed by the public
// key given to Verify.
func (r *Report) Trusted() bool {
	return r.Intact() && r.Signed && r.SignatureValid && r.KeyTrusted
}

// Intact reports whether nothing is wrong.
func (r *Report) Intact() bool { return len(r.Problems) == 0 }

func (r *Report) problem(file, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{File: file, Detail: fmt.Sprintf(format, args...)})
}

// WriteText prints the report for people.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, p := range r.Problems {
		fmt.Fprintf(bw, "FAIL %s\n", p)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "note: %s\n", n)
	}
	sig := "unsigned"
	switch {
	case r.Signed && r.SignatureValid && r.KeyTrusted:
		sig = "signed by the given key " + r.KeyFingerprint
	case r.Signed && r.SignatureValid:
		sig = "signature valid, key " + r.KeyFingerprint + " not checked against a trusted key (use --public)"
	case r.Signed:
		sig = "signature INVALID"
	}
	state := "INTACT"
	if !r.Intact() {
		state = fmt.Sprintf("NOT INTACT (%d problems)", len(r.Problems))
	}
	fmt.Fprintf(bw, "%s: %d files, %d WARC records, %d index lines, %d pages; %s\n", state, r.Files, r.Records, r.IndexLines, r.Pages, sig)
	return bw.Flush()
}

// Verify checks a WACZ bundle: the zip layout, every file's sha256 and
// size against datapackage.json, datapackage-digest.json's hash of
// datapackage.json, every WARC record's block and payload digests, that
// every CDXJ line points at the record it names, pages.jsonl, and the
// signature (against pub when given). Everything wrong is listed in the
// report; the error is only for a reader that fails.
func Verify(r io.ReaderAt, size int64, pub crypto.PublicKey) (*Report, error) {
	rep := &Report{Problems: []Problem{}, responses: map[string]bool{}}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		rep.problem("bundle", "not a readable zip file: %v", err)
		return rep, nil
	}
	v := &verifier{r: r, zr: zr, rep: rep, files: map[string]*zip.File{}}
	v.checkFraming(size)
	if err := v.run(pub); err != nil {
		return rep, err
	}
	return rep, nil
}

type verifier struct {
	r     io.ReaderAt
	zr    *zip.Reader
	rep   *Report
	files map[string]*zip.File
}

func (v *verifier) run(pub crypto.PublicKey) error {
	rep := v.rep
	var names []string
	for _, f := range v.zr.File {
		if strings.HasSuffix(f.Name, "/") {
			// A directory entry is not listed in datapackage.json, so the
			// signature does not cover what it may hold.
			if f.UncompressedSize64 > 0 || f.CompressedSize64 > 0 {
				rep.problem(f.Name, "directory entry holding %d bytes (not covered by datapackage.json)", f.UncompressedSize64)
			}
			continue
		}
		if _, dup := v.files[f.Name]; dup {
			rep.problem(f.Name, "appears twice in the zip")
			continue
		}
		if strings.Contains(f.Name, "\\") || strings.HasPrefix(f.Name, "/") || path.Clean(f.Name) != f.Name || strings.HasPrefix(f.Name, "../") {
			rep.problem(f.Name, "unsafe or non-canonical path")
		}
		v.files[f.Name] = f
		names = append(names, f.Name)
	}
	rep.Files = len(names)
	var warcs, indexes []string
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "archive/"):
			if !strings.HasSuffix(n, ".warc.gz") && !strings.HasSuffix(n, ".warc") {
				rep.problem(n, "only WARC files belong in archive/")
				continue
			}
			if v.files[n].Method != zip.Store {
				rep.problem(n, "WARC files must be stored in the zip without compression (WACZ 1.1.1)")
			}
			warcs = append(warcs, n)
		case strings.HasPrefix(n, "indexes/"):
			indexes = append(indexes, n)
		case strings.HasPrefix(n, "pages/"):
			if !strings.HasSuffix(n, ".jsonl") {
				rep.problem(n, "only .jsonl page lists belong in pages/")
			}
		}
	}
	for _, req := range []string{datapackagePath, pagesPath} {
		if v.files[req] == nil {
			rep.problem(req, "missing (required by WACZ 1.1.1)")
		}
	}
	if len(warcs) == 0 {
		rep.problem("archive/", "no WARC file")
	}
	if len(indexes) == 0 {
		rep.problem("indexes/", "no index")
	}

	dpBytes := v.checkDatapackage(names)
	v.checkDigest(dpBytes, pub)
	for _, n := range warcs {
		if err := v.checkWARC(n); err != nil {
			return err
		}
	}
	for _, n := range indexes {
		v.checkIndex(n)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "pages/") && strings.HasSuffix(n, ".jsonl") {
			v.checkPages(n)
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].File < rep.Problems[j].File })
	return nil
}

// checkFraming refuses bytes no hash covers around the zip: anything
// before the first entry (zip readers skip it), a zip comment, or anything
// after the end-of-central-directory record. Export writes none of them.
func (v *verifier) checkFraming(size int64) {
	head := make([]byte, 4)
	if _, err := v.r.ReadAt(head, 0); err != nil || string(head) != "PK\x03\x04" {
		v.rep.problem("bundle", "does not start with a zip entry: bytes before the zip are not covered by any hash")
	}
	if v.zr.Comment != "" {
		v.rep.problem("bundle", "has a zip comment of %d bytes, not covered by any hash", len(v.zr.Comment))
	}
	const eocdLen = 22
	tail := make([]byte, eocdLen)
	if size < eocdLen {
		return
	}
	if _, err := v.r.ReadAt(tail, size-eocdLen); err != nil || string(tail[:4]) != "PK\x05\x06" || tail[20] != 0 || tail[21] != 0 {
		if v.zr.Comment == "" {
			v.rep.problem("bundle", "bytes after the end of the zip are not covered by any hash")
		}
	}
}

// readSmall reads a JSON file of the bundle (capped: these files are
// small, and a hostile bundle could claim anything).
func (v *verifier) readSmall(name string, limit int64) ([]byte, bool) {
	f := v.files[name]
	if f == nil {
		return nil, false
	}
	rc, err := f.Open()
	if err != nil {
		v.rep.problem(name, "cannot open: %v", err)
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		v.rep.problem(name, "cannot read (corrupt zip entry): %v", zipErr(err))
		return nil, false
	}
	if int64(len(b)) > limit {
		v.rep.problem(name, "larger than %d bytes", limit)
		return nil, false
	}
	return b, true
}

func (v *verifier) checkDatapackage(names []string) []byte {
	b, ok := v.readSmall(datapackagePath, 256<<20)
	if !ok {
		return nil
	}
	var dp dataPackage
	if err := json.Unmarshal(b, &dp); err != nil {
		v.rep.problem(datapackagePath, "not valid JSON: %v", err)
		return b
	}
	if dp.Profile != "data-package" {
		v.rep.problem(datapackagePath, "profile is %q, want \"data-package\"", dp.Profile)
	}
	if dp.WACZVersion == "" {
		v.rep.problem(datapackagePath, "no wacz_version")
	} else if dp.WACZVersion != waczVersion {
		v.rep.Notes = append(v.rep.Notes, "wacz_version "+dp.WACZVersion+" (checked as 1.1.1)")
	}
	v.rep.Created = dp.Created
	listed := map[string]bool{}
	for _, res := range dp.Resources {
		if listed[res.Path] {
			v.rep.problem(datapackagePath, "lists %s twice", res.Path)
			continue
		}
		listed[res.Path] = true
		f := v.files[res.Path]
		if f == nil {
			v.rep.problem(res.Path, "listed in datapackage.json but missing from the bundle")
			continue
		}
		dc, err := newDigestChecker(res.Hash)
		if err != nil {
			v.rep.problem(res.Path, "datapackage.json hash: %v", err)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			v.rep.problem(res.Path, "cannot open: %v", err)
			continue
		}
		n, err := io.Copy(dc, rc)
		rc.Close()
		if err != nil {
			v.rep.problem(res.Path, "cannot read (corrupt zip entry): %v", zipErr(err))
			continue
		}
		if n != res.Bytes {
			v.rep.problem(res.Path, "size %d bytes, datapackage.json says %d", n, res.Bytes)
		}
		if !dc.match() {
			v.rep.problem(res.Path, "hash %s, datapackage.json says %s", dc.computed(), res.Hash)
		}
	}
	for _, n := range names {
		if n != datapackagePath && n != digestPath && !listed[n] {
			v.rep.problem(n, "not listed in datapackage.json")
		}
	}
	return b
}

func (v *verifier) checkDigest(dpBytes []byte, pub crypto.PublicKey) {
	rep := v.rep
	b, ok := v.readSmall(digestPath, 1<<20)
	if !ok {
		if v.files[digestPath] == nil {
			if pub != nil {
				rep.problem(digestPath, "missing, so the bundle is not signed, but a public key was given")
			} else {
				rep.Notes = append(rep.Notes, "no datapackage-digest.json: the bundle is not signed")
			}
		}
		return
	}
	var df struct {
		Path       string                     `json:"path"`
		Hash       string                     `json:"hash"`
		SignedData map[string]json.RawMessage `json:"signedData"`
	}
	if err := json.Unmarshal(b, &df); err != nil {
		rep.problem(digestPath, "not valid JSON: %v", err)
		return
	}
	if df.Path != datapackagePath {
		rep.problem(digestPath, "path is %q, want %q", df.Path, datapackagePath)
	}
	if dpBytes != nil {
		got := sha256.Sum256(dpBytes)
		dc, err := newDigestChecker(df.Hash)
		if err != nil {
			rep.problem(digestPath, "hash: %v", err)
		} else {
			dc.Write(dpBytes)
			if !dc.match() {
				rep.problem(datapackagePath, "hash sha256:%x, datapackage-digest.json says %s", got, df.Hash)
			}
		}
	}
	if df.SignedData == nil {
		if pub != nil {
			rep.problem(digestPath, "the bundle is not signed, but a public key was given")
		} else {
			rep.Notes = append(rep.Notes, "the bundle is not signed: its hashes show it was not altered after export, not who exported it")
		}
		return
	}
	rep.Signed = true
	var sd signedData
	anonymous := []string{"hash", "created", "software", "version", "signature", "publicKey"}
	for k := range df.SignedData {
		if !containsString(anonymous, k) {
			if k == "domain" || k == "domainCert" || k == "timeSignature" {
				rep.problem(digestPath, "domain-identity signatures (authsign) are not checked by lokerwatch")
				return
			}
			rep.problem(digestPath, "signedData has unexpected property %q", k)
		}
	}
	for _, k := range anonymous {
		raw, ok := df.SignedData[k]
		if !ok {
			rep.problem(digestPath, "signedData lacks %q", k)
			return
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			rep.problem(digestPath, "signedData.%s is not a string", k)
			return
		}
		switch k {
		case "hash":
			sd.Hash = s
		case "created":
			sd.Created = s
		case "signature":
			sd.Signature = s
		case "publicKey":
			sd.PublicKey = s
		}
	}
	if sd.Hash != df.Hash {
		rep.problem(digestPath, "signedData.hash %s differs from hash %s", sd.Hash, df.Hash)
	}
	if _, err := time.Parse(time.RFC3339, sd.Created); err != nil {
		rep.problem(digestPath, "signedData.created %q is not an RFC 3339 time", sd.Created)
	}
	embedded, err := parseSPKI(sd.PublicKey)
	if err != nil {
		rep.problem(digestPath, "signedData.%v", err)
		return
	}
	rep.KeyFingerprint = KeyFingerprint(embedded)
	if err := verifyHashSignature(embedded, sd.Hash, sd.Signature); err != nil {
		rep.problem(digestPath, "signature: %v", err)
		return
	}
	rep.SignatureValid = true
	if pub == nil {
		rep.Notes = append(rep.Notes, "signature valid, but made by the key embedded in the bundle ("+rep.KeyFingerprint+"); give the exporter's public key to check who signed")
		return
	}
	want, ok := pub.(*ecdsa.PublicKey)
	if !ok {
		rep.problem(digestPath, "the given public key is %T, not ECDSA", pub)
		return
	}
	if !want.Equal(embedded) {
		rep.problem(digestPath, "signed by key %s, not by the given key %s", rep.KeyFingerprint, KeyFingerprint(want))
		return
	}
	rep.KeyTrusted = true
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkWARC reads every record of a WARC file and checks its digests.
func (v *verifier) checkWARC(name string) error {
	rc, err := v.files[name].Open()
	if err != nil {
		v.rep.problem(name, "cannot open: %v", err)
		return nil
	}
	defer rc.Close()
	err = scanWARC(rc, func(ri *recordInfo) error {
		// rc fails at the end if the zip CRC does not match; checkDatapackage reports that.
		v.rep.Records++
		for _, p := range ri.Problems {
			v.rep.problem(name, "record %s (%s) at offset %d: %s", ri.ID, ri.Type, ri.Offset, p)
		}
		if ri.Type == typeResponse && len(ri.Problems) == 0 {
			v.rep.responses[ri.ID] = true
		}
		return nil
	})
	if err != nil {
		v.rep.problem(name, "unreadable: %v", err)
	}
	return nil
}

// section returns the raw bytes of a stored (uncompressed) zip entry for
// random access.
func (v *verifier) section(f *zip.File) (*io.SectionReader, error) {
	if f.Method != zip.Store {
		return nil, errors.New("not stored uncompressed")
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(v.r, off, int64(f.CompressedSize64)), nil
}

// checkIndex checks that every CDXJ line is sorted and points at the
// record it describes.
func (v *verifier) checkIndex(name string) {
	rc, err := v.files[name].Open()
	if err != nil {
		v.rep.problem(name, "cannot open: %v", err)
		return
	}
	defer rc.Close()
	var r io.Reader = rc
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(rc)
		if err != nil {
			v.rep.problem(name, "not gzip: %v", err)
			return
		}
		r = zr
	}
	if !strings.Contains(name, ".cdx") {
		v.rep.Notes = append(v.rep.Notes, name+": not a CDXJ index, not checked")
		return
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var prev string
	sections := map[string]*io.SectionReader{}
	ws := newWARCScanner()
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "!") {
			continue
		}
		v.rep.IndexLines++
		if line < prev {
			v.rep.problem(name, "line %d is out of order (CDXJ must be sorted bytewise)", lineNo)
		}
		prev = line
		key, _, e, err := parseCDXJLine(line)
		if err != nil {
			v.rep.problem(name, "line %d: %v", lineNo, err)
			continue
		}
		str := func(k string) string {
			switch x := e[k].(type) {
			case string:
				return x
			case json.Number:
				return x.String()
			}
			return ""
		}
		file, url := str("filename"), str("url")
		off, err1 := strconv.ParseInt(str("offset"), 10, 64)
		length, err2 := strconv.ParseInt(str("length"), 10, 64)
		if file == "" || url == "" || err1 != nil || err2 != nil || off < 0 || length <= 0 {
			v.rep.problem(name, "line %d lacks url, filename, offset or length", lineNo)
			continue
		}
		if want := surt(url); key != strings.ReplaceAll(want, " ", "%20") {
			v.rep.problem(name, "line %d: key %q does not match url (want %q)", lineNo, key, want)
		}
		warcPath := "archive/" + file
		sec, ok := sections[warcPath]
		if !ok {
			f := v.files[warcPath]
			if f == nil {
				v.rep.problem(name, "line %d: names %s, which is not in the bundle", lineNo, warcPath)
				continue
			}
			if sec, err = v.section(f); err != nil {
				v.rep.problem(name, "line %d: %s: %v", lineNo, warcPath, err)
				continue
			}
			sections[warcPath] = sec
		}
		if off+length > sec.Size() {
			v.rep.problem(name, "line %d: range %d+%d runs past the end of %s", lineNo, off, length, warcPath)
			continue
		}
		if strings.HasSuffix(warcPath, ".gz") {
			var magic [2]byte
			if _, err := sec.ReadAt(magic[:], off); err != nil || magic != [2]byte{0x1f, 0x8b} {
				v.rep.problem(name, "line %d: offset %d of %s is not the start of a gzip member (record)", lineNo, off, warcPath)
				continue
			}
		}
		var got []*recordInfo
		err = ws.scan(io.NewSectionReader(sec, off, length), func(ri *recordInfo) error {
			got = append(got, ri)
			return nil
		})
		switch {
		case err != nil:
			v.rep.problem(name, "line %d: range %d+%d of %s is not a WARC record: %v", lineNo, off, length, warcPath, err)
			continue
		case len(got) != 1 || got[0].Offset != 0 || got[0].Length != length:
			v.rep.problem(name, "line %d: range %d+%d of %s is not exactly one record", lineNo, off, length, warcPath)
			continue
		}
		ri := got[0]
		if ri.TargetURI != url {
			v.rep.problem(name, "line %d: record at %d is for %q, index says %q", lineNo, off, ri.TargetURI, url)
		}
		if d := str("digest"); d != "" && !sameDigest(d, ri.PayloadDigest) {
			v.rep.problem(name, "line %d: record at %d has payload digest %s, index says %s", lineNo, off, ri.PayloadDigest, d)
		}
		if d := str("recordDigest"); d != "" {
			h := sha256.New()
			if _, err := io.Copy(h, io.NewSectionReader(sec, off, length)); err != nil {
				v.rep.problem(name, "line %d: %s: %v", lineNo, warcPath, err)
			} else if got := hashLabel(h); !sameDigest(d, got) {
				v.rep.problem(name, "line %d: record at %d hashes to %s, index says %s", lineNo, off, got, d)
			}
		}
		if s := str("status"); s != "" && ri.HTTPStatus != 0 && s != strconv.Itoa(ri.HTTPStatus) {
			v.rep.problem(name, "line %d: record at %d has status %d, index says %s", lineNo, off, ri.HTTPStatus, s)
		}
		for _, p := range ri.Problems {
			v.rep.problem(name, "line %d: record at %d: %s", lineNo, off, p)
		}
	}
	if err := sc.Err(); err != nil {
		v.rep.problem(name, "cannot read (corrupt zip entry): %v", zipErr(err))
	}
}

// sameDigest compares digests that may differ in label spelling
// ("sha256:", "sha-256:", or none, as warcio.js writes CDXJ digests).
func sameDigest(a, b string) bool {
	norm := func(s string) string {
		s = strings.ToLower(s)
		s = strings.Replace(s, "sha-256:", "sha256:", 1)
		s = strings.Replace(s, "sha-1:", "sha1:", 1)
		if !strings.Contains(s, ":") {
			s = "sha256:" + s
		}
		return s
	}
	return norm(a) == norm(b)
}

func (v *verifier) checkPages(name string) {
	rc, err := v.files[name].Open()
	if err != nil {
		v.rep.problem(name, "cannot open: %v", err)
		return
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for lineNo := 1; sc.Scan(); lineNo++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var p map[string]any
		if err := json.Unmarshal(line, &p); err != nil {
			v.rep.problem(name, "line %d is not JSON: %v", lineNo, err)
			continue
		}
		if lineNo == 1 {
			if p["format"] != pagesHeaderFormat {
				v.rep.problem(name, "first line is not a %s header", pagesHeaderFormat)
			}
			continue
		}
		u, _ := p["url"].(string)
		ts, _ := p["ts"].(string)
		if u == "" || ts == "" {
			v.rep.problem(name, "line %d lacks url or ts", lineNo)
			continue
		}
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			v.rep.problem(name, "line %d: ts %q is not an RFC 3339 time", lineNo, ts)
		}
		v.rep.Pages++
	}
	if err := sc.Err(); err != nil {
		v.rep.problem(name, "cannot read (corrupt zip entry): %v", zipErr(err))
	}
}

// zipErr says what a zip read error means for a bundle.
func zipErr(err error) string {
	switch {
	case errors.Is(err, zip.ErrChecksum):
		return "content does not match the zip CRC-32"
	case errors.Is(err, zip.ErrFormat):
		return "content is longer than the zip header says"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "content is shorter than the zip header says"
	}
	return err.Error()
}
