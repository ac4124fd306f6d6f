package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// caseFixture is a store with captured, partly decided ads.
type caseFixture struct {
	st       storage.Store
	ads      []*lokerwatch.Ad
	captures int
	shared   *lokerwatch.Ad // second ad on the page of ads[0]
}

// seedCase crawls n pages of the test job site into st: one flagged ad
// per page (page 0 holds two), captured through the Archiver and queued
// for review. Ads 0 and 3 are decided scam, 1 benign, 2 trafficking.
func seedCase(t testing.TB, st storage.Store, site string, n int) *caseFixture {
	t.Helper()
	ctx := context.Background()
	a := NewArchiver(st, ArchiverOptions{Software: "lokerwatch test", Worker: "crawler-1"})
	f := &caseFixture{st: st}
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("/job/%d", i)
		if i%2 == 1 {
			path += "z" // gzip + chunked
		}
		ex := fetch(t, site+path)
		ex.FetchedAt = base.Add(time.Duration(i) * time.Hour)
		phone := fmt.Sprintf("+62812%08d", i)
		if i%3 == 0 {
			phone = "+6281234567890"
		}
		ads := []*lokerwatch.Ad{flaggedAd("jobsite", ex.URL, i, phone, ex.FetchedAt)}
		if i == 0 {
			f.shared = flaggedAd("jobsite", ex.URL+"#second", 100, "+6289999999999", ex.FetchedAt)
			ads = append(ads, f.shared)
		}
		for _, ad := range ads {
			if _, err := st.PutAd(ctx, ad); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.Enqueue(ctx, ad); err != nil {
				t.Fatal(err)
			}
		}
		if err := a.Archive(ctx, ex, ads); err != nil {
			t.Fatal(err)
		}
		f.captures++
		f.ads = append(f.ads, ads[0])
	}
	decide := func(ad *lokerwatch.Ad, v lokerwatch.Verdict, when time.Time) {
		it, err := st.ItemForAd(ctx, ad.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, AdID: ad.ID, Verdict: v, Reviewer: "ana", Note: "checked " + string(v), DecidedAt: when}); err != nil {
			t.Fatalf("decide %s: %v", ad.ID, err)
		}
	}
	now := time.Now()
	if n > 3 {
		decide(f.ads[0], lokerwatch.VerdictScam, now)
		decide(f.ads[1], lokerwatch.VerdictBenign, now)
		decide(f.ads[2], lokerwatch.VerdictTrafficking, now)
		decide(f.ads[3], lokerwatch.VerdictScam, now)
	}
	return f
}

func testKey(t testing.TB, c Curve) *ecdsa.PrivateKey {
	t.Helper()
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub.pem")
	if err := GenerateKeys(priv, pub, c); err != nil {
		t.Fatal(err)
	}
	k, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// zipFiles reads every file of a bundle.
func zipFiles(t testing.TB, bundle []byte) (map[string][]byte, map[string]*zip.File) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		t.Fatal(err)
	}
	data, files := map[string][]byte{}, map[string]*zip.File{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		data[f.Name], files[f.Name] = b, f
	}
	return data, files
}

func TestExportVerifyRoundTrip(t *testing.T) {
	site := jobSite(t).URL
	ctx := context.Background()
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			fx := seedCase(t, st, site, 8)
			key := testKey(t, P384)
			var buf bytes.Buffer
			sum, err := Export(ctx, st, &buf, ExportOptions{Key: key, Actor: "inv-1", Title: "Case 42"})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Ads != 9 || sum.Captures != 8 || sum.Records != 1+3*8 || sum.Pages != 9 || !sum.Signed || len(sum.Skipped) != 0 {
				t.Fatalf("summary %+v", sum)
			}
			bundle := buf.Bytes()
			rep, err := Verify(bytes.NewReader(bundle), int64(len(bundle)), &key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact() || !rep.SignatureValid || !rep.KeyTrusted {
				var out strings.Builder
				rep.WriteText(&out)
				t.Fatalf("fresh bundle not intact:\n%s", out.String())
			}
			if rep.Records != 25 || rep.IndexLines != 8 || rep.Pages != 9 {
				t.Errorf("report %+v", rep)
			}

			data, files := zipFiles(t, bundle)
			warcName := "archive/lokerwatch-" + sum.ID + ".warc.gz"
			for _, want := range []string{warcName, indexPath, pagesPath, "case/ads.jsonl", "case/ads.csv",
				"case/decisions.csv", "case/audit.csv", "case/export.json", datapackagePath, digestPath} {
				if _, ok := data[want]; !ok {
					t.Errorf("bundle lacks %s", want)
				}
			}
			if files[warcName].Method != zip.Store {
				t.Errorf("WARC file is compressed in the zip")
			}

			// The bundle's WARC parses with both independent readers, and
			// every CDXJ line points at a response record the IA reader
			// finds at that offset with that length.
			warc := data[warcName]
			readNLNWA(t, warc)
			ia := readIA(t, warc)
			byOffset := map[int64]iaRecord{}
			for _, r := range ia {
				byOffset[r.offset] = r
			}
			lines := strings.Split(strings.TrimSpace(string(data[indexPath])), "\n")
			if len(lines) != 8 {
				t.Fatalf("%d index lines", len(lines))
			}
			for _, l := range lines {
				_, _, e, err := parseCDXJLine(l)
				if err != nil {
					t.Fatal(err)
				}
				var off, length int64
				fmt.Sscan(e["offset"].(string), &off)
				fmt.Sscan(e["length"].(string), &length)
				r, ok := byOffset[off]
				if !ok || r.size != length || r.header.Get("WARC-Type") != "response" ||
					r.header.Get("WARC-Target-URI") != e["url"] || r.header.Get("WARC-Payload-Digest") != e["digest"] {
					t.Errorf("index line %q does not match the record at %d: %+v", l, off, r)
				}
			}

			// Case records: assessment, entities, decisions, audit trail, captures.
			cases := map[string]CaseRecord{}
			sc := bufio.NewScanner(bytes.NewReader(data["case/ads.jsonl"]))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var cr CaseRecord
				if err := json.Unmarshal(sc.Bytes(), &cr); err != nil {
					t.Fatal(err)
				}
				cases[cr.Ad.ID] = cr
			}
			if len(cases) != 9 {
				t.Fatalf("%d case records", len(cases))
			}
			c0 := cases[fx.ads[0].ID]
			if c0.Verdict != lokerwatch.VerdictScam || len(c0.Decisions) != 1 || c0.Decisions[0].Reviewer != "ana" ||
				c0.Ad.Assessment == nil || len(c0.Ad.Entities.Phones) != 1 || len(c0.Captures) != 1 || c0.Captures[0].WARCFile == "" {
				t.Errorf("case record of ad 0: %+v", c0)
			}
			actions := map[string]bool{}
			for _, ev := range c0.Audit {
				actions[ev.Action] = true
			}
			if !actions["review.decide"] || !actions[ActionCapture] {
				t.Errorf("audit trail of ad 0 has %v, want the decision and the capture", actions)
			}
			if cs := cases[fx.shared.ID]; len(cs.Captures) != 1 || cs.Captures[0].ID != c0.Captures[0].ID || cs.Verdict != VerdictUndecided {
				t.Errorf("second ad on page 0 should share its capture: %+v", cs.Captures)
			}
			rows, err := csv.NewReader(bytes.NewReader(data["case/ads.csv"])).ReadAll()
			if err != nil || len(rows) != 10 || len(rows[0]) != len(adsHeader) {
				t.Errorf("ads.csv: %d rows, %v", len(rows), err)
			}
			dec, _ := csv.NewReader(bytes.NewReader(data["case/decisions.csv"])).ReadAll()
			if len(dec) != 5 {
				t.Errorf("decisions.csv has %d rows, want header + 4", len(dec))
			}

			// The export is in the audit trail, with one event per capture.
			evs, err := st.ListAudit(ctx, storage.AuditFilter{Object: sum.ID})
			if err != nil || len(evs) != 1 || evs[0].Action != ActionExport || evs[0].Actor != "inv-1" {
				t.Errorf("export audit %+v %v", evs, err)
			}
			evs, _ = st.ListAudit(ctx, storage.AuditFilter{Object: c0.Captures[0].ID})
			if evs[len(evs)-1].Action != ActionExported || evs[len(evs)-1].Detail != sum.ID {
				t.Errorf("capture audit %+v", evs)
			}

			// Without the key the signature is still checked, but the key is not trusted.
			rep, _ = Verify(bytes.NewReader(bundle), int64(len(bundle)), nil)
			if !rep.Intact() || !rep.SignatureValid || rep.KeyTrusted {
				t.Errorf("verify without key: %+v", rep)
			}
			// Another key is a problem naming the digest file.
			other := testKey(t, P256)
			rep, _ = Verify(bytes.NewReader(bundle), int64(len(bundle)), &other.PublicKey)
			if rep.Intact() || rep.Problems[0].File != digestPath {
				t.Errorf("verify with another key: %+v", rep.Problems)
			}
		})
	}
}

func TestExportFilters(t *testing.T) {
	site := jobSite(t).URL
	ctx := context.Background()
	st := anyStore(t)
	fx := seedCase(t, st, site, 7)
	ids := func(opts ExportOptions) map[string]bool {
		t.Helper()
		opts.Format = FormatJSONL
		var buf bytes.Buffer
		sum, err := Export(ctx, st, &buf, opts)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		dec := json.NewDecoder(&buf)
		for {
			var cr CaseRecord
			if err := dec.Decode(&cr); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			out[cr.Ad.ID] = true
		}
		if sum.Ads != len(out) {
			t.Errorf("summary says %d ads, output has %d", sum.Ads, len(out))
		}
		return out
	}
	want := func(name string, got map[string]bool, ads ...*lokerwatch.Ad) {
		t.Helper()
		if len(got) != len(ads) {
			t.Errorf("%s: %d ads, want %d", name, len(got), len(ads))
		}
		for _, a := range ads {
			if !got[a.ID] {
				t.Errorf("%s: missing ad %s", name, a.Title)
			}
		}
	}
	want("scam", ids(ExportOptions{Verdicts: []lokerwatch.Verdict{lokerwatch.VerdictScam}}), fx.ads[0], fx.ads[3])
	vs, err := ParseVerdicts("trafficking, benign")
	if err != nil {
		t.Fatal(err)
	}
	want("trafficking,benign", ids(ExportOptions{Verdicts: vs}), fx.ads[2], fx.ads[1])
	want("undecided", ids(ExportOptions{Verdicts: []lokerwatch.Verdict{VerdictUndecided}}), fx.ads[4], fx.ads[5], fx.ads[6], fx.shared)
	// The phone +6281234567890 (ads 0, 3, 6) typed as an investigator would.
	for _, phone := range []string{"0812-3456-7890", "+62 812 3456 7890", "6281234567890", "wa.me/6281234567890"} {
		want("entity "+phone, ids(ExportOptions{Entity: phone}), fx.ads[0], fx.ads[3], fx.ads[6])
	}
	want("entity+verdict", ids(ExportOptions{Entity: "081234567890", Verdicts: []lokerwatch.Verdict{lokerwatch.VerdictScam}}), fx.ads[0], fx.ads[3])
	want("since/until", ids(ExportOptions{Since: fx.ads[2].FetchedAt, Until: fx.ads[4].FetchedAt}), fx.ads[2], fx.ads[3])
	if _, err := ParseVerdicts("scam,maybe"); err == nil {
		t.Error("unknown verdict accepted")
	}

	// CSV alone, for spreadsheets; crawled text cannot become a formula.
	var buf bytes.Buffer
	if _, err := Export(ctx, st, &buf, ExportOptions{Format: FormatCSV}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 9 || rows[0][0] != "ad_id" {
		t.Fatalf("csv: %d rows %v", len(rows), err)
	}
	for _, r := range rows[1:] {
		if strings.HasPrefix(r[25], "+") { // phones
			t.Errorf("phone cell %q starts with + (a spreadsheet formula)", r[25])
		}
	}
	if _, err := ParseFormat("pdf"); err == nil {
		t.Error("unknown format accepted")
	}
}

// anyStore is the embedded store when available, else Redis.
func anyStore(t testing.TB) storage.Store {
	if s := openSQLite(t); s != nil {
		return s
	}
	return openRedis(t)
}
