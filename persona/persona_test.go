package persona_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// stores opens each real backend for a test.
func stores(t *testing.T) map[string]storage.Store {
	t.Helper()
	ctx := context.Background()
	out := map[string]storage.Store{}
	sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	out["sqlite"] = sq
	srv := redistest.Start(t, redistest.Config{})
	rs, err := redis.OpenURL(ctx, srv.URL(), redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	out["redis"] = rs
	return out
}

func engine(t *testing.T) *classifiers.Engine {
	t.Helper()
	e, err := classifiers.New(classifiers.Options{Registry: "testdata/registry.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var day0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func newAd(e *classifiers.Engine, id, source string, day int, title, text string) *lokerwatch.Ad {
	ad := &lokerwatch.Ad{ID: id, Source: source, URL: "https://" + source + ".example/" + id, FetchedAt: day0.AddDate(0, 0, day), Title: title, Text: text}
	e.Classify(ad)
	classifiers.FillTrail(ad)
	return ad
}

func put(t *testing.T, st storage.Store, ads ...*lokerwatch.Ad) {
	t.Helper()
	for _, ad := range ads {
		if _, err := st.PutAd(context.Background(), ad); err != nil {
			t.Fatal(err)
		}
	}
}

func personaOf(t *testing.T, st storage.Store, id string) storage.Persona {
	t.Helper()
	p, err := st.PersonaOf(context.Background(), id)
	if err != nil {
		t.Fatalf("persona of %s: %v", id, err)
	}
	return p
}

func TestPersonas(t *testing.T) {
	e := engine(t)
	for name, raw := range stores(t) {
		t.Run(name, func(t *testing.T) {
			l := persona.NewLinker(raw, persona.Options{Weak: e.LicensedContact})
			st := persona.Linking(raw, l)

			// One account written two ways on two sources: one persona.
			a := newAd(e, "bank-a", "loker-board", 0, "Admin kasino Kamboja gaji 15 juta",
				"Berangkat cepat, bayar DP 5 juta ke rekening BCA 1234567890 a.n. Hendra Wijaya. WA 0812-1111-2222")
			b := newAd(e, "bank-b", "tg-channel", 2, "CS online Sihanoukville",
				"Proses 2 minggu. Transfer ke Bank Central Asia 123-456-7890 (atas nama HENDRA WIJAYA), hubungi @rekrut_cepat")
			put(t, st, a, b)
			pa, pb := personaOf(t, st, "bank-a"), personaOf(t, st, "bank-b")
			if pa.ID != pb.ID || pa.Size != 2 || len(pa.Sources) != 2 {
				t.Fatalf("account did not join the ads: %+v / %+v", pa, pb)
			}

			// Two recruiters quoting the licensed agency's hotline stay apart.
			h1 := newAd(e, "hotline-1", "loker-board", 3, "Lowongan pabrik Taiwan",
				"Resmi terdaftar, info kantor pusat 021-5550-1234. Daftar lewat WA 0813-3333-4444")
			h2 := newAd(e, "hotline-2", "tg-channel", 4, "Kerja restoran Jepang",
				"Kantor pusat 021 5550 1234 (resmi). Biaya proses via DANA 0815-5555-6666")
			put(t, st, h1, h2)
			if personaOf(t, st, "hotline-1").ID == personaOf(t, st, "hotline-2").ID {
				t.Fatal("a licensed agency's hotline merged two recruiters")
			}

			// A common template with different contacts: two personas; a
			// contactless repost of that template joins neither (it would
			// bridge them); a contactless repost of a one-off ad joins it.
			tpl := "Dibutuhkan operator komputer untuk perusahaan investasi online di Myawaddy, gaji 20 juta per bulan, tiket dan visa ditanggung, mess gratis, makan tiga kali sehari, tidak perlu pengalaman, usia 18 sampai 35 tahun. Hubungi "
			t1 := newAd(e, "tpl-1", "loker-board", 5, "Operator komputer Myawaddy", tpl+"WA 0817-7777-1111")
			t2 := newAd(e, "tpl-2", "tg-channel", 6, "Operator komputer Myawaddy", tpl+"WA 0818-8888-2222")
			rp := newAd(e, "tpl-repost", "rss-feed", 7, "Operator komputer Myawaddy", tpl)
			if t1.Fingerprint == 0 || t2.Fingerprint == 0 {
				t.Fatal("no fingerprints")
			}
			put(t, st, t1, t2, rp)
			if personaOf(t, st, "tpl-1").ID == personaOf(t, st, "tpl-2").ID {
				t.Fatal("a common template merged two recruiters")
			}
			if got := personaOf(t, st, "tpl-repost"); got.Size != 1 {
				t.Fatalf("an ambiguous repost joined %+v", got)
			}
			one := "Lowongan terapis spa di Kuala Lumpur untuk wanita usia 20 sampai 30, gaji 12 juta, tanpa potongan, berangkat minggu depan dengan visa kunjungan, paspor diurus agen, tempat tinggal disediakan di dekat lokasi kerja, jam kerja fleksibel dan bonus bulanan, kontrak dua tahun bisa diperpanjang. Hubungi "
			u := newAd(e, "one-off", "loker-board", 5, "Terapis spa Kuala Lumpur", one+"WA 0819-9999-3333")
			ur := newAd(e, "one-off-repost", "rss-feed", 7, "Terapis spa Kuala Lumpur", one)
			put(t, st, u, ur)
			if got := personaOf(t, st, "one-off-repost"); got.ID != "one-off" || got.Size != 2 {
				t.Fatalf("a repost without contacts did not join its original: %+v", got)
			}

			// Adding an ad that names both accounts merges, incrementally.
			m := newAd(e, "merge", "rss-feed", 8, "Kerja Kamboja", "DP ke BCA 1234567890, atau WA 0813 3333 4444")
			put(t, st, m)
			pm := personaOf(t, st, "merge")
			if pm.ID != pa.ID || pm.Size != 4 {
				t.Fatalf("merge persona %+v, want %s with 4 ads", pm, pa.ID)
			}
			if got := personaOf(t, st, "hotline-1"); got.ID != pm.ID {
				t.Fatalf("hotline-1 in %s after the merge, want %s", got.ID, pm.ID)
			}
			if personaOf(t, st, "hotline-2").ID == pm.ID {
				t.Fatal("hotline-2 merged through the licensed hotline")
			}

			g, err := persona.BuildGraph(context.Background(), raw, l, pm.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			var ads, banks int
			for _, n := range g.Nodes {
				switch n.Kind {
				case "ad":
					ads++
				case "bank":
					banks++
				}
				if n.Kind == "phone" && n.Label == "+622155501234" {
					t.Error("the weak hotline is drawn as a link")
				}
			}
			if ads != 4 || banks != 1 {
				t.Fatalf("graph: %d ads, %d bank nodes: %+v", ads, banks, g.Nodes)
			}
			svg := string(persona.SVG(g))
			if !strings.Contains(svg, `href="/entities/bank/bca:1234567890"`) || strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
				t.Fatalf("svg: %s", svg)
			}
		})
	}
}

// Hostile titles are escaped in the SVG.
func TestSVGEscapes(t *testing.T) {
	g := persona.Graph{Nodes: []persona.Node{{ID: "ad:x", Kind: "ad", Label: `<script>alert(1)</script>"`, Href: `/ad/x"onload="x`}}}
	svg := string(persona.SVG(g))
	if strings.Contains(svg, "<script>") || strings.Contains(svg, `x"onload`) {
		t.Fatalf("unescaped: %s", svg)
	}
}

func TestRepostLinks(t *testing.T) {
	k := func(v string) lokerwatch.IndexKey { return lokerwatch.IndexKey{Kind: lokerwatch.EntityPhone, Value: v} }
	for i, tc := range []struct {
		a, b []lokerwatch.IndexKey
		want bool
	}{
		{nil, nil, true},
		{[]lokerwatch.IndexKey{k("1")}, nil, true},
		{[]lokerwatch.IndexKey{k("1")}, []lokerwatch.IndexKey{k("2")}, false},
		{[]lokerwatch.IndexKey{k("1"), k("3")}, []lokerwatch.IndexKey{k("2"), k("3")}, true},
	} {
		if got := persona.RepostLinks(tc.a, tc.b); got != tc.want {
			t.Errorf("case %d: got %v", i, got)
		}
	}
	_ = fmt.Sprint
}
