package persona_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// plainStore hides the store's batch methods (AdsByKeysN, AdKeys,
// LinkPersonas): the linker then reads candidates whole and links ad by
// ad, as it did before they existed.
type plainStore struct{ persona.Store }

// TestLinkAllAsOneByOne: linking each batch of stored ads with LinkAll
// (candidates from the index, one store step per batch) puts the ads into
// the same personas as linking them one by one from whole ads, on both
// stores — with a repost group larger than the candidates read per band,
// a template filled in by two recruiters, a contactless copy of it that
// would bridge them, and a contact shared across texts.
func TestLinkAllAsOneByOne(t *testing.T) {
	e := engine(t)
	tplBig := "Dibutuhkan admin media sosial di kantor perusahaan online Sihanoukville, gaji 18 juta per bulan, tiket dan visa ditanggung, mess gratis, makan tiga kali sehari, tidak perlu pengalaman, usia 18 sampai 35 tahun, berangkat bulan depan bersama rombongan dari Jakarta. "
	tplTwo := "Dibutuhkan operator komputer untuk perusahaan investasi online di Myawaddy, gaji 20 juta per bulan, tiket dan visa ditanggung, mess gratis, makan tiga kali sehari, tidak perlu pengalaman, usia 18 sampai 35 tahun. Hubungi "
	var ads []*lokerwatch.Ad
	for i := 0; i < 90; i++ { // more than the 64 candidates read per band
		ads = append(ads, newAd(e, fmt.Sprintf("big-%02d", i), "loker-board", i%7, "Admin media sosial", tplBig))
	}
	for i := 0; i < 6; i++ {
		ads = append(ads, newAd(e, fmt.Sprintf("tpl-a-%d", i), "loker-board", i, "Operator komputer", tplTwo+"WA 0817-7777-1111"))
		ads = append(ads, newAd(e, fmt.Sprintf("tpl-b-%d", i), "tg-channel", i, "Operator komputer", tplTwo+"WA 0818-8888-2222"))
	}
	ads = append(ads, newAd(e, "tpl-bridge", "rss-feed", 8, "Operator komputer", tplTwo))
	for i, text := range []string{"Kerja pabrik di Taiwan, potongan gaji 6 bulan. WA 0812-4444-5555",
		"Terapis spa Malaysia, berangkat tanpa visa kerja, hubungi 0812 4444 5555",
		"Admin kasino, DP 3 juta ke DANA 0812-4444-5555"} {
		ads = append(ads, newAd(e, fmt.Sprintf("shared-%d", i), "tg-channel", i, "Lowongan", text))
	}
	// A one-off ad and its contactless repost, stored and linked in one
	// batch (the last): the repost joins it though neither was in a
	// persona when the batch began.
	one := "Lowongan terapis spa di Kuala Lumpur untuk wanita usia 20 sampai 30, gaji 12 juta, tanpa potongan, berangkat minggu depan dengan visa kunjungan, paspor diurus agen, tempat tinggal disediakan di dekat lokasi kerja, jam kerja fleksibel dan bonus bulanan, kontrak dua tahun bisa diperpanjang. Hubungi "
	ads = append(ads, newAd(e, "one-off", "loker-board", 9, "Terapis spa Kuala Lumpur", one+"WA 0819-9999-3333"),
		newAd(e, "one-off-repost", "rss-feed", 9, "Terapis spa Kuala Lumpur", one))
	if len(ads)%8 != 4 {
		t.Fatalf("%d ads: the one-off pair is not in one batch", len(ads))
	}
	for _, ad := range ads[:90] {
		if ad.Fingerprint == 0 {
			t.Fatal("no fingerprints")
		}
	}

	ctx := context.Background()
	batched, single := stores(t), stores(t)
	for name := range batched {
		t.Run(name, func(t *testing.T) {
			a, b := batched[name], single[name]
			la := persona.NewLinker(a, persona.Options{Weak: e.LicensedContact})
			lb := persona.NewLinker(plainStore{b}, persona.Options{Weak: e.LicensedContact})
			for from := 0; from < len(ads); from += 8 {
				batch := ads[from:min(from+8, len(ads))]
				var ca, cb []*lokerwatch.Ad
				for _, ad := range batch {
					x, y := *ad, *ad
					ca, cb = append(ca, &x), append(cb, &y)
				}
				put(t, a, ca...)
				put(t, b, cb...)
				if err := la.LinkAll(ctx, ca); err != nil {
					t.Fatal(err)
				}
				for _, ad := range cb {
					if _, err := lb.Link(ctx, ad); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The same partition: two ads share a persona in one store
			// exactly when they do in the other.
			pa, pb := map[string]storage.Persona{}, map[string]storage.Persona{}
			biggest := 0
			for _, ad := range ads {
				pa[ad.ID], pb[ad.ID] = personaOf(t, a, ad.ID), personaOf(t, b, ad.ID)
				if pa[ad.ID].Size != pb[ad.ID].Size {
					t.Errorf("%s: persona of %d ads batched, %d one by one", ad.ID, pa[ad.ID].Size, pb[ad.ID].Size)
				}
				biggest = max(biggest, pa[ad.ID].Size)
			}
			for i, x := range ads {
				for _, y := range ads[i+1:] {
					if (pa[x.ID].ID == pa[y.ID].ID) != (pb[x.ID].ID == pb[y.ID].ID) {
						t.Errorf("%s and %s: one persona batched %v, one by one %v", x.ID, y.ID, pa[x.ID].ID == pa[y.ID].ID, pb[x.ID].ID == pb[y.ID].ID)
					}
				}
			}
			if biggest <= 64 {
				t.Errorf("largest persona has %d ads: the repost group does not exceed the candidates read per band", biggest)
			}
			if pa["tpl-a-0"].ID == pa["tpl-b-0"].ID || pa["tpl-bridge"].Size != 1 {
				t.Errorf("a template filled in by two recruiters was merged (or bridged): %+v %+v %+v", pa["tpl-a-0"], pa["tpl-b-0"], pa["tpl-bridge"])
			}
			if pa["one-off-repost"].ID != pa["one-off"].ID {
				t.Errorf("a repost linked in the batch of its original did not join it: %+v %+v", pa["one-off"], pa["one-off-repost"])
			}
			if pa["shared-0"].ID != pa["shared-2"].ID {
				t.Errorf("a shared contact did not link: %+v %+v", pa["shared-0"], pa["shared-2"])
			}
		})
	}
}
