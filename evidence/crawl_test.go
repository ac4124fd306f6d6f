package evidence

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/demo"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The whole path: crawl the demo site with the real crawler and
// classifier into the embedded store, decide some flagged ads, export a
// signed bundle and verify it; a flipped byte in a WARC record,
// pages.jsonl or datapackage.json makes verification fail and name the
// file.
func TestCrawlDecideExportVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := httptest.NewServer(demo.Site())
	defer srv.Close()
	st := openSQLite(t)
	cfg := demo.Config(srv.URL)
	eng, err := classifiers.New(classifiers.Options{Threshold: cfg.Classify.Threshold})
	if err != nil {
		t.Fatal(err)
	}
	cr, err := crawler.New(crawler.Options{
		Config: cfg, Store: st, Classifier: eng,
		Archiver: NewArchiver(st, ArchiverOptions{Worker: "test-worker"}),
		Logger:   slog.New(slog.DiscardHandler), Worker: "test-worker",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cr.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	sum, err := cr.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Flagged < 3 {
		t.Fatalf("crawl flagged %d ads, the test needs 3: %+v", sum.Flagged, sum)
	}

	// Every flagged ad has a capture; decide three of them.
	var flagged []*lokerwatch.Ad
	st.ScanAds(ctx, storage.AdFilter{FlaggedOnly: true}, func(ad *lokerwatch.Ad) error {
		flagged = append(flagged, ad)
		return nil
	})
	for _, ad := range flagged {
		caps, err := st.EvidenceForAd(ctx, ad.ID)
		if err != nil || len(caps) == 0 {
			t.Fatalf("flagged ad %s (%s) has no capture: %v", ad.ID, ad.URL, err)
		}
	}
	for i, v := range []lokerwatch.Verdict{lokerwatch.VerdictScam, lokerwatch.VerdictTrafficking, lokerwatch.VerdictBenign} {
		it, err := st.ItemForAd(ctx, flagged[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, AdID: it.AdID, Verdict: v, Reviewer: "ana", DecidedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}

	key := testKey(t, P384)
	var buf bytes.Buffer
	es, err := Export(ctx, st, &buf, ExportOptions{Key: key, Actor: "investigator"})
	if err != nil {
		t.Fatal(err)
	}
	if es.Ads != len(flagged) || es.Captures == 0 || len(es.Skipped) != 0 {
		t.Fatalf("export %+v, %d flagged ads", es, len(flagged))
	}
	bundle := buf.Bytes()
	rep := verifyBytes(t, bundle, &key.PublicKey)
	if !rep.Intact() || !rep.KeyTrusted || rep.IndexLines != es.Captures {
		t.Fatalf("crawled bundle: %+v", rep)
	}
	t.Logf("crawl %+v; export %d ads, %d captures, %d records, %.1f KiB", sum, es.Ads, es.Captures, es.Records, float64(es.Bytes)/1024)
	data, _ := zipFiles(t, bundle)
	for name, warc := range data {
		if strings.HasPrefix(name, "archive/") {
			readNLNWA(t, warc)
			readIA(t, warc)
		}
	}
	for _, name := range []string{"archive/", pagesPath, datapackagePath} {
		off, n := entryRange(t, bundle, name)
		b := bytes.Clone(bundle)
		b[off+n/2] ^= 0x20
		wantProblemIn(t, verifyBytes(t, b, &key.PublicKey), name)
	}
}
