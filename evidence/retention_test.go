package evidence

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

func TestPurgeRetention(t *testing.T) {
	site := jobSite(t).URL
	ctx := context.Background()
	for name, st := range testStores(t) {
		t.Run(name, func(t *testing.T) {
			// Ads 0 and 3 scam, 1 benign, 2 trafficking, 4 and 5 undecided;
			// page 0 also holds an undecided second ad.
			fx := seedCase(t, st, site, 6)
			capOf := func(ad *lokerwatch.Ad) string {
				caps, err := st.EvidenceForAd(ctx, ad.ID)
				if err != nil || len(caps) != 1 {
					t.Fatalf("captures of %s: %v %v", ad.ID, caps, err)
				}
				return caps[0].ID
			}
			exists := func(id string) bool {
				_, err := st.GetEvidence(ctx, id)
				if err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
			benign, scam, traff, cap0 := capOf(fx.ads[1]), capOf(fx.ads[3]), capOf(fx.ads[2]), capOf(fx.ads[0])
			now := time.Now()

			// Within the benign period nothing goes.
			p := Policy{BenignDays: 30, Actor: "ops"}
			if n, err := Purge(ctx, st, p, now); err != nil || n != 0 {
				t.Fatalf("purge within 30 days: %d %v", n, err)
			}
			// 31 days later the benign capture goes (dry run first), the rest stays.
			later := now.Add(31 * 24 * time.Hour)
			if n, err := Purge(ctx, st, Policy{BenignDays: 30, DryRun: true}, later); err != nil || n != 1 || !exists(benign) {
				t.Fatalf("dry run: %d %v", n, err)
			}
			if n, err := Purge(ctx, st, p, later); err != nil || n != 1 {
				t.Fatalf("purge after 31 days: %d %v", n, err)
			}
			if exists(benign) || !exists(scam) || !exists(traff) {
				t.Fatalf("after purge: benign %v scam %v trafficking %v", exists(benign), exists(scam), exists(traff))
			}
			evs, _ := st.ListAudit(ctx, storage.AuditFilter{Object: benign})
			if last := evs[len(evs)-1]; last.Action != ActionPurge || last.Actor != "ops" || !strings.Contains(last.Detail, "benign") {
				t.Errorf("purge audit %+v", last)
			}

			// Release needs an export first.
			if _, err := Release(ctx, st, []string{scam}, "inv", "", later); err == nil || !strings.Contains(err.Error(), "never exported") {
				t.Fatalf("release before export: %v", err)
			}
			var buf bytes.Buffer
			if _, err := Export(ctx, st, &buf, ExportOptions{Verdicts: []lokerwatch.Verdict{lokerwatch.VerdictScam}}); err != nil {
				t.Fatal(err)
			}
			// Exported but not released: kept.
			if n, err := Purge(ctx, st, p, later); err != nil || n != 0 {
				t.Fatalf("purge after export: %d %v", n, err)
			}
			// Release what the bundle holds (the captures of ads 0 and 3).
			bundle := buf.Bytes()
			ids, err := BundleCaptures(bytes.NewReader(bundle), int64(len(bundle)))
			if err != nil || len(ids) != 2 || !containsString(ids, scam) || !containsString(ids, cap0) {
				t.Fatalf("bundle captures %v %v", ids, err)
			}
			if n, err := Release(ctx, st, ids, "inv", "case handed to police", later); err != nil || n != 2 {
				t.Fatalf("release: %d %v", n, err)
			}
			if n, err := Purge(ctx, st, p, later); err != nil || n != 2 {
				t.Fatalf("purge after release: %d %v", n, err)
			}
			if exists(scam) || exists(cap0) || !exists(traff) {
				t.Errorf("after release purge: scam %v trafficking %v", exists(scam), exists(traff))
			}
			evs, _ = st.ListAudit(ctx, storage.AuditFilter{Object: scam})
			var acts []string
			for _, ev := range evs {
				acts = append(acts, ev.Action)
			}
			if strings.Join(acts, ",") != strings.Join([]string{ActionCapture, ActionExported, ActionReleased, ActionPurge}, ",") {
				t.Errorf("scam capture audit trail %v", acts)
			}
			if _, err := Purge(ctx, st, Policy{BenignDays: -1}, later); err == nil {
				t.Error("negative benign_days accepted")
			}
		})
	}
}

func TestGenerateKeys(t *testing.T) {
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "sign.pem"), filepath.Join(dir, "sign.pub.pem")
	if err := GenerateKeys(priv, pub, ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(priv)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode %v %v", fi.Mode(), err)
	}
	k, err := LoadPrivateKey(priv)
	if err != nil || k.Curve.Params().Name != "P-384" {
		t.Fatalf("private key %v", err)
	}
	p, err := LoadPublicKey(pub)
	if err != nil || !p.Equal(&k.PublicKey) {
		t.Fatalf("public key %v", err)
	}
	if KeyFingerprint(p) != KeyFingerprint(&k.PublicKey) || !strings.HasPrefix(KeyFingerprint(p), "sha256:") {
		t.Error("fingerprints differ")
	}
	if err := GenerateKeys(priv, filepath.Join(dir, "other.pub"), P256); err == nil {
		t.Error("existing private key overwritten")
	}
	if err := GenerateKeys(filepath.Join(dir, "a"), filepath.Join(dir, "b"), "P-521"); err == nil {
		t.Error("unsupported curve accepted")
	}
	if _, err := LoadPrivateKey(pub); err == nil {
		t.Error("public key loaded as private")
	}
	os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("not a key"), 0o600)
	if _, err := LoadPublicKey(filepath.Join(dir, "junk.pem")); err == nil {
		t.Error("junk loaded as a key")
	}
	// P-256 keys sign and verify too.
	k256 := testKey(t, P256)
	sig, _, err := signHash(k256, "sha256:abc")
	if err != nil || verifyHashSignature(&k256.PublicKey, "sha256:abc", sig) != nil || verifyHashSignature(&k256.PublicKey, "sha256:abd", sig) == nil {
		t.Errorf("P-256 signature round trip: %v", err)
	}
}
