package evidence

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exportBundle seeds a store and exports a signed bundle.
func exportBundle(t *testing.T, n int, opts ExportOptions) []byte {
	t.Helper()
	st := anyStore(t)
	seedCase(t, st, jobSite(t).URL, n)
	var buf bytes.Buffer
	if _, err := Export(context.Background(), st, &buf, opts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func verifyBytes(t *testing.T, b []byte, opts ...any) *Report {
	t.Helper()
	var pub any
	if len(opts) > 0 {
		pub = opts[0]
	}
	rep, err := Verify(bytes.NewReader(b), int64(len(b)), pub)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// entryRange is where a zip entry's (possibly compressed) data lies.
func entryRange(t *testing.T, bundle []byte, name string) (int64, int64) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name || (strings.HasSuffix(name, "/") && strings.HasPrefix(f.Name, name)) {
			off, err := f.DataOffset()
			if err != nil {
				t.Fatal(err)
			}
			return off, int64(f.CompressedSize64)
		}
	}
	t.Fatalf("no %s in bundle", name)
	return 0, 0
}

// rezip rebuilds a bundle with edited files (a tamperer who knows zip:
// CRCs and sizes are right, only the content changed).
func rezip(t *testing.T, bundle []byte, edit func(name string, data []byte) []byte) []byte {
	t.Helper()
	data, files := zipFiles(t, bundle)
	zr, _ := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: files[f.Name].Method})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(edit(f.Name, data[f.Name]))
	}
	zw.Close()
	return out.Bytes()
}

func problemFiles(rep *Report) []string {
	var out []string
	for _, p := range rep.Problems {
		out = append(out, p.File)
	}
	return out
}

func wantProblemIn(t *testing.T, rep *Report, file string) {
	t.Helper()
	if rep.Intact() {
		t.Fatalf("tampered bundle verified as intact")
	}
	for _, p := range rep.Problems {
		t.Logf("problem: %s", p)
	}
	for _, p := range rep.Problems {
		if p.File == file || (strings.HasSuffix(file, "/") && strings.HasPrefix(p.File, file)) {
			return
		}
	}
	t.Errorf("no problem names %s; problems: %v", file, rep.Problems)
}

func TestVerifyDetectsTampering(t *testing.T) {
	key := testKey(t, P384)
	bundle := exportBundle(t, 5, ExportOptions{Key: key})
	if rep := verifyBytes(t, bundle, &key.PublicKey); !rep.Intact() {
		t.Fatalf("fresh bundle: %v", rep.Problems)
	}

	// One byte flipped in the bundle file itself.
	for _, name := range []string{"archive/", pagesPath, datapackagePath, indexPath, "case/ads.jsonl"} {
		t.Run("flip "+name, func(t *testing.T) {
			off, n := entryRange(t, bundle, name)
			b := bytes.Clone(bundle)
			b[off+n/2] ^= 0x01
			wantProblemIn(t, verifyBytes(t, b, &key.PublicKey), name)
		})
	}

	// A WARC record changed inside its gzip member, the member re-encoded
	// and the zip rebuilt: the record's own digest fails, and so does the
	// file's hash in datapackage.json.
	t.Run("edit WARC record", func(t *testing.T) {
		b := rezip(t, bundle, func(name string, data []byte) []byte {
			if !strings.HasPrefix(name, "archive/") {
				return data
			}
			return editWARCMembers(t, data, func(rec []byte) []byte {
				return bytes.Replace(rec, []byte("gaji 15 juta"), []byte("gaji 16 juta"), 1)
			})
		})
		rep := verifyBytes(t, b, &key.PublicKey)
		wantProblemIn(t, rep, "archive/")
		found := false
		for _, p := range rep.Problems {
			found = found || strings.Contains(p.Detail, "digest mismatch")
		}
		if !found {
			t.Errorf("no record digest mismatch reported: %v", rep.Problems)
		}
	})

	t.Run("edit pages.jsonl", func(t *testing.T) {
		b := rezip(t, bundle, func(name string, data []byte) []byte {
			if name == pagesPath {
				return bytes.Replace(data, []byte("Kamboja"), []byte("Kambodia"), 1)
			}
			return data
		})
		rep := verifyBytes(t, b, &key.PublicKey)
		wantProblemIn(t, rep, pagesPath)
		for _, f := range problemFiles(rep) {
			if f != pagesPath {
				t.Errorf("problem in %s, want only pages.jsonl's hash and size: %v", f, rep.Problems)
			}
		}
	})

	// A tamperer who also rewrites datapackage.json and the digest file
	// cannot forge the signature.
	t.Run("edit and rehash", func(t *testing.T) {
		b := rezip(t, bundle, func(name string, data []byte) []byte {
			if name == pagesPath {
				return bytes.Replace(data, []byte("Kamboja"), []byte("Kambodia"), 1)
			}
			return data
		})
		b = rehash(t, b)
		rep := verifyBytes(t, b, &key.PublicKey)
		if files := problemFiles(rep); len(files) != 1 || files[0] != digestPath {
			t.Errorf("problems %v, want only the signature", rep.Problems)
		}
		// Unsigned, the same edit goes unnoticed: what signing is for.
		b = rezip(t, b, func(name string, data []byte) []byte {
			if name == digestPath {
				var df digestFile
				json.Unmarshal(data, &df)
				df.SignedData = nil
				data, _ = json.Marshal(df)
			}
			return data
		})
		if rep := verifyBytes(t, b); !rep.Intact() || rep.Signed {
			t.Errorf("rehashed unsigned bundle: %v", rep.Problems)
		}
		wantProblemIn(t, verifyBytes(t, b, &key.PublicKey), digestPath)
	})

	t.Run("index points elsewhere", func(t *testing.T) {
		b := rezip(t, bundle, func(name string, data []byte) []byte {
			if name == indexPath {
				return bytes.Replace(data, []byte(`"offset":"`), []byte(`"offset":"1`), 1)
			}
			return data
		})
		wantProblemIn(t, verifyBytes(t, rehash(t, b), &key.PublicKey), indexPath)
	})

	t.Run("not a zip", func(t *testing.T) {
		wantProblemIn(t, verifyBytes(t, []byte("PK\x03\x04 nothing")), "bundle")
	})
}

// rehash recomputes datapackage.json's resources and the digest file's
// hash (keeping the old signature), as a forger would.
func rehash(t *testing.T, bundle []byte) []byte {
	t.Helper()
	data, _ := zipFiles(t, bundle)
	var dp dataPackage
	if err := json.Unmarshal(data[datapackagePath], &dp); err != nil {
		t.Fatal(err)
	}
	for i, r := range dp.Resources {
		dp.Resources[i].Hash = sha256Label(data[r.Path])
		dp.Resources[i].Bytes = int64(len(data[r.Path]))
	}
	dpJSON, _ := json.Marshal(dp)
	return rezip(t, bundle, func(name string, d []byte) []byte {
		switch name {
		case datapackagePath:
			return dpJSON
		case digestPath:
			var df digestFile
			json.Unmarshal(d, &df)
			df.Hash = sha256Label(dpJSON)
			if df.SignedData != nil {
				df.SignedData.Hash = df.Hash
			}
			d, _ = json.Marshal(df)
		}
		return d
	})
}

// editWARCMembers decompresses each gzip member, edits it and
// recompresses it, keeping one member per record.
func editWARCMembers(t *testing.T, warc []byte, edit func([]byte) []byte) []byte {
	t.Helper()
	infos, err := newWARCScanner().splitMembers(warc)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, ri := range infos {
		zr, err := gzip.NewReader(bytes.NewReader(warc[ri.Offset : ri.Offset+ri.Length]))
		if err != nil {
			t.Fatal(err)
		}
		rec, _ := io.ReadAll(zr)
		zw := gzip.NewWriter(&out)
		zw.Write(edit(rec))
		zw.Close()
	}
	return out.Bytes()
}

func TestVerifyUnsignedBundle(t *testing.T) {
	bundle := exportBundle(t, 2, ExportOptions{})
	rep := verifyBytes(t, bundle)
	if !rep.Intact() || rep.Signed {
		t.Fatalf("unsigned bundle: %+v", rep)
	}
	var out strings.Builder
	rep.WriteText(&out)
	if !strings.Contains(out.String(), "unsigned") || !strings.Contains(out.String(), "INTACT") {
		t.Errorf("report text:\n%s", out.String())
	}
	data, _ := zipFiles(t, bundle)
	if !strings.Contains(string(data[datapackagePath]), "UNSIGNED") || !strings.Contains(string(data["case/export.json"]), "UNSIGNED") {
		t.Error("unsigned bundle does not say so")
	}
	key := testKey(t, P256)
	wantProblemIn(t, verifyBytes(t, bundle, &key.PublicKey), digestPath)
}

// The signature checks out in WebCrypto exactly as ReplayWeb.page
// (wabac.js verifyWACZSignature) checks it: SPKI P-384 key, ECDSA with
// SHA-256 over the hash string, raw r||s signature.
func TestSignatureVerifiesInWebCrypto(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("LW_REQUIRE_NODE") != "" {
			t.Fatal("node not found, and LW_REQUIRE_NODE is set (CI): install Node.js (apt-get install nodejs)")
		}
		t.Skip("node not found; install Node.js to check signatures with WebCrypto")
	}
	key := testKey(t, P384)
	bundle := exportBundle(t, 1, ExportOptions{Key: key})
	data, _ := zipFiles(t, bundle)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dp.json"), data[datapackagePath], 0o644)
	os.WriteFile(filepath.Join(dir, "digest.json"), data[digestPath], 0o644)
	out, err := exec.Command(node, "testdata/verify-wacz-sig.mjs", filepath.Join(dir, "dp.json"), filepath.Join(dir, "digest.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("WebCrypto verification failed: %v\n%s", err, out)
	}
	// And it fails for an altered datapackage.json.
	os.WriteFile(filepath.Join(dir, "dp.json"), append(data[datapackagePath], ' '), 0o644)
	if out, err := exec.Command(node, "testdata/verify-wacz-sig.mjs", filepath.Join(dir, "dp.json"), filepath.Join(dir, "digest.json")).CombinedOutput(); err == nil {
		t.Fatalf("WebCrypto accepted an altered datapackage.json:\n%s", out)
	}
}
