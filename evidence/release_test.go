package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Issue 20, finding 2: purge --release released and deleted every capture
// a bare zip listed. Only a bundle verified with a trusted key releases,
// and only the captures it really holds.
func TestReleaseVerified(t *testing.T) {
	site := jobSite(t).URL
	ctx := context.Background()
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			fx := seedCase(t, st, site, 6)
			key, other := testKey(t, P384), testKey(t, P384)
			var all []string
			for _, ad := range append(fx.ads, fx.shared) {
				caps, err := st.EvidenceForAd(ctx, ad.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range caps {
					if !containsString(all, c.ID) {
						all = append(all, c.ID)
					}
				}
			}
			// Export everything (so every capture counts as exported), then
			// the scam ads alone, signed.
			if _, err := Export(ctx, st, new(bytes.Buffer), ExportOptions{}); err != nil {
				t.Fatal(err)
			}
			var signed, unsigned, otherKey bytes.Buffer
			scam := ExportOptions{Verdicts: []lokerwatch.Verdict{lokerwatch.VerdictScam}, Key: key}
			if _, err := Export(ctx, st, &signed, scam); err != nil {
				t.Fatal(err)
			}
			scam.Key = nil
			if _, err := Export(ctx, st, &unsigned, scam); err != nil {
				t.Fatal(err)
			}
			scam.Key = other
			if _, err := Export(ctx, st, &otherKey, scam); err != nil {
				t.Fatal(err)
			}
			// The attack: a zip holding only case/ads.jsonl that lists every capture.
			var forged bytes.Buffer
			zw := zip.NewWriter(&forged)
			w, _ := zw.Create("case/ads.jsonl")
			for _, id := range all {
				json.NewEncoder(w).Encode(map[string]any{"captures": []CaptureRef{{ID: id, WARCFile: "data.warc.gz"}}})
			}
			zw.Close()
			good := signed.Bytes()
			// A signed bundle whose ads.jsonl also lists the trafficking capture
			// (rehashed as a forger would; the signature no longer matches).
			data, _ := zipFiles(t, good)
			extra := append(bytes.Clone(data["case/ads.jsonl"]), []byte(`{"captures":[{"id":"`+all[2]+`","warc_file":"data.warc.gz"}]}`+"\n")...)
			padded := rehash(t, rezip(t, good, func(n string, d []byte) []byte {
				if n == "case/ads.jsonl" {
					return extra
				}
				return d
			}))

			for _, c := range []struct {
				name   string
				bundle []byte
				pub    any
			}{
				{"bare ads.jsonl", forged.Bytes(), &key.PublicKey},
				{"truncated download", good[:len(good)*2/3], &key.PublicKey},
				{"unsigned", unsigned.Bytes(), &key.PublicKey},
				{"signed by another key", otherKey.Bytes(), &key.PublicKey},
				{"listing more than it holds", padded, &key.PublicKey},
				{"no trusted key", good, nil},
			} {
				n, err := ReleaseVerified(ctx, st, bytes.NewReader(c.bundle), int64(len(c.bundle)), c.pub, "inv", "", time.Now())
				if err == nil || n != 0 {
					t.Errorf("%s: released %d, err %v; want nothing released and an error", c.name, n, err)
				}
			}
			if n, err := Purge(ctx, st, Policy{BenignDays: 30}, time.Now()); err != nil || n != 0 {
				t.Fatalf("purge after refused releases: deleted %d, %v", n, err)
			}

			// A capture re-captured since the export is not the one the bundle
			// holds: refused, the other released.
			scamCaps, err := BundleCaptures(bytes.NewReader(good), int64(len(good)))
			if err != nil || len(scamCaps) != 2 {
				t.Fatalf("bundle captures %v %v", scamCaps, err)
			}
			changed, err := st.GetEvidence(ctx, scamCaps[1])
			if err != nil {
				t.Fatal(err)
			}
			changed.Digest = "sha256:" + strings.Repeat("0", 64)
			if err := st.PutEvidence(ctx, changed); err != nil {
				t.Fatal(err)
			}
			n, err := ReleaseVerified(ctx, st, bytes.NewReader(good), int64(len(good)), &key.PublicKey, "inv", "to police", time.Now())
			if n != 1 || err == nil || !strings.Contains(err.Error(), scamCaps[1]) {
				t.Fatalf("release with one capture changed: %d, %v", n, err)
			}
			if n, err := Purge(ctx, st, Policy{BenignDays: 30}, time.Now()); err != nil || n != 1 {
				t.Fatalf("purge: deleted %d, %v; want the one released capture", n, err)
			}
			if _, err := st.GetEvidence(ctx, scamCaps[0]); !errors.Is(err, lokerwatch.ErrNotFound) {
				t.Errorf("released capture kept: %v", err)
			}
			evs, _ := st.ListAudit(ctx, storage.AuditFilter{Object: scamCaps[0]})
			var rel string
			for _, ev := range evs {
				if ev.Action == ActionReleased {
					rel = ev.Detail
				}
			}
			if !strings.Contains(rel, KeyFingerprint(&key.PublicKey)) || !strings.Contains(rel, "to police") {
				t.Errorf("release audit detail %q", rel)
			}
		})
	}
}
