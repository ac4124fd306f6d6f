package cases_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/demo"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func stores() map[string]func(t *testing.T) storage.Store {
	return map[string]func(t *testing.T) storage.Store{
		"sqlite": func(t *testing.T) storage.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
		"redis": func(t *testing.T) storage.Store {
			srv := redistest.Start(t, redistest.Config{})
			st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	}
}

// Crawl the sample web, open a case on the shared bank account, export it
// signed and verify the bundle: the case's own files are in it and hashed.
func TestCaseExportVerifies(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			raw := open(t)
			l := persona.NewLinker(raw, persona.Options{})
			st := persona.Linking(raw, l)
			if err := demo.Run(ctx, demo.Options{Store: st, Once: true, Archiver: evidence.NewArchiver(raw, evidence.ArchiverOptions{})}); err != nil {
				t.Fatal(err)
			}
			by := storage.CaseActor{User: "ina", Remote: "127.0.0.1"}
			c, err := raw.CreateCase(ctx, "Rekening BCA Hendra Wijaya", by)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.AddCaseItem(ctx, c.ID, storage.CaseItem{Kind: "entity", Ref: "bank:bca:4471209385"}, by); err != nil {
				t.Fatal(err)
			}
			if err := raw.AddCaseNote(ctx, c.ID, storage.CaseNote{Text: "Same account on the board and in the channel."}, by); err != nil {
				t.Fatal(err)
			}
			if err := raw.SetCaseStatus(ctx, c.ID, storage.CaseReferred, "budi", by); err != nil {
				t.Fatal(err)
			}
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			sum, err := cases.Export(ctx, raw, l, c.ID, &buf, cases.ExportOptions{ExportOptions: evidence.ExportOptions{Key: key, Actor: "ina"}})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Ads != 2 || sum.Captures < 2 || !sum.Signed {
				t.Fatalf("summary %+v: want the two ads with their captures, signed", sum)
			}
			rep, err := evidence.Verify(bytes.NewReader(buf.Bytes()), int64(buf.Len()), &key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Intact() || !rep.KeyTrusted {
				t.Fatalf("verify: %+v", rep)
			}
			zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for _, f := range zr.File {
				rc, _ := f.Open()
				b, _ := io.ReadAll(rc)
				rc.Close()
				files[f.Name] = b
			}
			for _, n := range []string{"case/case.json", "case/notes.md", "case/entities.json", "case/personas.json", "case/timeline.json"} {
				if len(files[n]) == 0 {
					t.Errorf("bundle lacks %s", n)
				}
				if !bytes.Contains(files["datapackage.json"], []byte(`"`+n+`"`)) {
					t.Errorf("datapackage.json does not list %s", n)
				}
			}
			if !strings.Contains(string(files["case/notes.md"]), "Same account on the board") {
				t.Errorf("notes.md: %s", files["case/notes.md"])
			}
			var ents []cases.EntitySummary
			if err := json.Unmarshal(files["case/entities.json"], &ents); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range ents {
				if e.Kind == lokerwatch.EntityBank && e.Value == "bca:4471209385" {
					found = e.Ads == 2 && e.Holder == "Hendra Wijaya" && e.InCase && e.Links
				}
			}
			if !found {
				t.Errorf("entities.json lacks the account with 2 ads and its holder: %s", files["case/entities.json"])
			}
			var graphs []persona.Graph
			if err := json.Unmarshal(files["case/personas.json"], &graphs); err != nil || len(graphs) != 1 {
				t.Fatalf("personas.json: %v %s", err, files["case/personas.json"])
			}
			var tl []cases.Event
			if err := json.Unmarshal(files["case/timeline.json"], &tl); err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for i, ev := range tl {
				kinds[ev.Kind]++
				if i > 0 && ev.Time.Before(tl[i-1].Time) {
					t.Fatalf("timeline out of order at %d", i)
				}
			}
			if kinds["first_seen"] != 2 || kinds["case"] < 4 {
				t.Fatalf("timeline kinds %v", kinds)
			}
			evs, err := raw.ListAudit(ctx, storage.AuditFilter{Object: "case:" + c.ID})
			if err != nil || len(evs) == 0 || evs[len(evs)-1].Action != "case.export" {
				t.Fatalf("case audit %+v %v", evs, err)
			}
		})
	}
}

func TestCaseExportUnknown(t *testing.T) {
	st := stores()["sqlite"](t)
	var buf bytes.Buffer
	if _, err := cases.Export(context.Background(), st, nil, "42", &buf, cases.ExportOptions{}); err == nil {
		t.Fatal("export of an unknown case succeeded")
	}
}

// A purged ad shows in a timeline as removed; decisions show with their
// reviewer; the order is by time.
func TestTimelineRemovalsAndDecisions(t *testing.T) {
	for name, open := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			t0 := time.Date(2020, 4, 1, 8, 0, 0, 0, time.UTC) // before any decision made now
			for i, id := range []string{"kept", "gone"} {
				ad := &lokerwatch.Ad{ID: id, Source: "board", Title: id, FetchedAt: t0.Add(time.Duration(i) * time.Hour),
					Assessment: &lokerwatch.Assessment{Score: 80, Flagged: true, Category: lokerwatch.CategoryScam}}
				if _, err := st.PutAd(ctx, ad); err != nil {
					t.Fatal(err)
				}
				if _, _, err := st.Enqueue(ctx, ad); err != nil {
					t.Fatal(err)
				}
			}
			it, err := st.ItemForAd(ctx, "kept")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, Verdict: lokerwatch.VerdictScam, Reviewer: "bob", Note: "fee to a personal account"}); err != nil {
				t.Fatal(err)
			}
			if err := st.DeleteAd(ctx, "gone"); err != nil {
				t.Fatal(err)
			}
			if err := st.AppendAudit(ctx, lokerwatch.AuditEvent{Time: t0.Add(48 * time.Hour), Actor: "admin", Action: "purge", Object: "gone", Detail: "retention"}); err != nil {
				t.Fatal(err)
			}
			tl, err := cases.Timeline(ctx, st, []string{"kept", "gone"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, ev := range tl {
				kinds = append(kinds, ev.Kind+":"+ev.AdID)
			}
			if got := strings.Join(kinds, " "); got != "first_seen:kept removed:gone decision:kept" {
				t.Fatalf("timeline %s", got)
			}
			if tl[2].Actor != "bob" || !strings.Contains(tl[2].Detail, "fee to a personal account") {
				t.Errorf("decision event %+v", tl[2])
			}
		})
	}
}
