package evidence

import (
	"archive/zip"
	"bytes"
	"io"
	"strings"
	"testing"
)

// sameLengthEdit changes one letter in the middle third of data to
// another letter: the size stays, JSON and CSV stay well-formed, and only
// a hash can tell.
func sameLengthEdit(data []byte) []byte {
	out := bytes.Clone(data)
	for i := len(out) / 3; i < len(out); i++ {
		if c := out[i]; c >= 'a' && c <= 'y' {
			out[i] = c + 1
			return out
		}
	}
	return nil
}

// Issue 20, finding 9: every member of a bundle edited at the same length
// and re-zipped with valid CRCs and sizes must fail verification (the
// flip-byte tests were caught by the zip CRC, so the sha256 check in
// datapackage.json went untested).
func TestVerifySameLengthEdits(t *testing.T) {
	key := testKey(t, P384)
	bundle := exportBundle(t, 3, ExportOptions{Key: key})
	data, _ := zipFiles(t, bundle)
	if len(data) < 8 {
		t.Fatalf("bundle has %d members", len(data))
	}
	for name, orig := range data {
		t.Run(name, func(t *testing.T) {
			var edited []byte
			if strings.HasPrefix(name, "archive/") {
				// Inside a record (the gzip member re-encoded): the record
				// keeps its length.
				edited = editWARCMembers(t, orig, func(rec []byte) []byte {
					if e := sameLengthEdit(rec); e != nil && bytes.Contains(rec, []byte("WARC-Type: response")) {
						return e
					}
					return rec
				})
			} else {
				edited = sameLengthEdit(orig)
			}
			if edited == nil || bytes.Equal(edited, orig) {
				t.Fatalf("no letter to edit in %s", name)
			}
			if !strings.HasPrefix(name, "archive/") && len(edited) != len(orig) {
				t.Fatal("edit changed the length")
			}
			b := rezip(t, bundle, func(n string, d []byte) []byte {
				if n == name {
					return edited
				}
				return d
			})
			// The zip itself is sound: every CRC and size checks out.
			zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range zr.File {
				rc, _ := f.Open()
				if _, err := io.Copy(io.Discard, rc); err != nil {
					t.Fatalf("re-zipped %s: %v", f.Name, err)
				}
				rc.Close()
			}
			rep := verifyBytes(t, b, &key.PublicKey)
			// datapackage.json is covered by the digest file's hash, the
			// digest file by the signature, everything else by its sha256
			// in datapackage.json.
			wantProblemIn(t, rep, name)
			if name != datapackagePath && name != digestPath {
				hashed := false
				for _, p := range rep.Problems {
					hashed = hashed || (p.File == name && strings.Contains(p.Detail, "datapackage.json says"))
				}
				if !hashed {
					t.Errorf("the sha256 of %s against datapackage.json did not catch the edit: %v", name, rep.Problems)
				}
			}
		})
	}
}

// Issue 20, finding 8: bytes the signature does not cover are refused.
func TestVerifyRejectsUncoveredBytes(t *testing.T) {
	key := testKey(t, P384)
	bundle := exportBundle(t, 1, ExportOptions{Key: key})
	if rep := verifyBytes(t, bundle, &key.PublicKey); !rep.Trusted() {
		t.Fatalf("fresh bundle: %v", rep.Problems)
	}
	// copyZip rebuilds the bundle entry by entry (raw, as it was), then
	// lets add write more.
	copyZip := func(add func(zw *zip.Writer), comment string) []byte {
		zr, _ := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
		var out bytes.Buffer
		zw := zip.NewWriter(&out)
		for _, f := range zr.File {
			if err := zw.Copy(f); err != nil {
				t.Fatal(err)
			}
		}
		if add != nil {
			add(zw)
		}
		if comment != "" {
			zw.SetComment(comment)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	if rep := verifyBytes(t, copyZip(nil, ""), &key.PublicKey); !rep.Trusted() {
		t.Fatalf("copied bundle: %v", rep.Problems)
	}
	hidden := copyZip(func(zw *zip.Writer) {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: "case/hidden/", Method: zip.Store, CRC32: 0x5d9a3e1c,
			CompressedSize64: 39, UncompressedSize64: 39})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("the real ledger is at another address."))
		w.Write([]byte("\n"))
	}, "")
	withJunk := append([]byte("JUNK BEFORE THE ZIP, NOT HASHED\n"), copyZip(nil, "a comment nobody signed")...)
	trailing := append(copyZip(nil, ""), []byte("TRAILING")...)
	emptyDir := copyZip(func(zw *zip.Writer) {
		if _, err := zw.Create("case/empty/"); err != nil {
			t.Fatal(err)
		}
	}, "")
	for _, c := range []struct {
		name   string
		bundle []byte
		detail string
	}{
		{"directory entry with data", hidden, "directory entry holding 39 bytes"},
		{"junk before the zip", withJunk, "does not start with a zip entry"},
		{"zip comment", copyZip(nil, "a comment nobody signed"), "zip comment"},
		{"bytes after the zip", trailing, "after the end of the zip"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := verifyBytes(t, c.bundle, &key.PublicKey)
			if rep.Intact() {
				t.Fatal("verified intact")
			}
			found := false
			for _, p := range rep.Problems {
				found = found || strings.Contains(p.Detail, c.detail)
			}
			if !found {
				t.Errorf("no problem says %q: %v", c.detail, rep.Problems)
			}
		})
	}
	// An empty directory entry holds nothing to cover.
	if rep := verifyBytes(t, emptyDir, &key.PublicKey); !rep.Trusted() {
		t.Errorf("empty directory entry: %v", rep.Problems)
	}
}
