package classifiers

import (
	"math"
	"slices"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func TestPhones(t *testing.T) {
	cases := []struct {
		text     string
		phones   []string
		whatsapp []string
	}{
		{"Hub: 0813 1111 3378.", []string{"+6281311113378"}, nil},
		{"WA 0813-1111-9470 ya", []string{"+6281311119470"}, []string{"+6281311119470"}},
		{"Contact +62 813 1111 2953", []string{"+6281311112953"}, nil},
		{"telp 62813.1111.2953", []string{"+6281311112953"}, nil},
		{"Call +855 12 345 678 now", []string{"+85512345678"}, nil},
		{"Myanmar +95 9 123 456 789", []string{"+959123456789"}, nil},
		{"Laos +856 20 5555 1234", []string{"+8562055551234"}, nil},
		{"Thai +66 81 234 5678, PH +63 917 123 4567, VN +84 91 234 5678",
			[]string{"+66812345678", "+639171234567", "+84912345678"}, nil},
		{"hubungi W.A nol delapan satu tiga – satu satu satu satu – tujuh dua nol satu", []string{"+6281311117201"}, []string{"+6281311117201"}},
		{"klik wa.me/6281399990001 sekarang", []string{"+6281399990001"}, []string{"+6281399990001"}},
		{"https://api.whatsapp.com/send?phone=6281234567890&text=hi", []string{"+6281234567890"}, []string{"+6281234567890"}},
		{"Gaji 15.000.000, usia 18-35, tahun 2024", nil, nil},
		{"WA 0813-1111-xxxx (disamarkan)", nil, nil},
		{"gaji 25.000–40.000 peso", nil, nil},
	}
	e := engine(t)
	for _, c := range cases {
		ad := &lokerwatch.Ad{Title: "x", Text: c.text}
		e.Classify(ad)
		if !slices.Equal(ad.Entities.Phones, c.phones) {
			t.Errorf("%q: phones %v, want %v", c.text, ad.Entities.Phones, c.phones)
		}
		if !slices.Equal(ad.Entities.WhatsApp, c.whatsapp) {
			t.Errorf("%q: whatsapp %v, want %v", c.text, ad.Entities.WhatsApp, c.whatsapp)
		}
	}
}

func TestContacts(t *testing.T) {
	cases := []struct {
		text     string
		telegram []string
		emails   []string
	}{
		{"DM @bavet_jobs_hr", []string{"bavet_jobs_hr"}, nil},
		{"join t.me/kerjaabroad0rp", []string{"kerjaabroad0rp"}, nil},
		{"Grup: @kerjaabroad0rp", []string{"kerjaabroad0rp"}, nil},
		{"IG @tokobaju_ku, email hr.jobs@gmail.com", nil, []string{"hr.jobs@gmail.com"}},
		{"lamar ke rekrutmen@ptsinarmaju.co.id", nil, []string{"rekrutmen@ptsinarmaju.co.id"}},
	}
	e := engine(t)
	for _, c := range cases {
		ad := &lokerwatch.Ad{Title: "x", Text: c.text}
		e.Classify(ad)
		if !slices.Equal(ad.Entities.Telegram, c.telegram) {
			t.Errorf("%q: telegram %v, want %v", c.text, ad.Entities.Telegram, c.telegram)
		}
		if !slices.Equal(ad.Entities.Emails, c.emails) {
			t.Errorf("%q: emails %v, want %v", c.text, ad.Entities.Emails, c.emails)
		}
	}
}

func TestSalaries(t *testing.T) {
	e := engine(t)
	usd := e.cur.rates["USD"]
	cases := []struct {
		text string
		idr  float64
	}{
		{"Gaji Rp 15.000.000 per bulan", 15e6},
		{"Gaji Rp15.000.000,- nett", 15e6},
		{"gaji 15jt", 15e6},
		{"gaji 15 JT/bln", 15e6},
		{"gaji 15-25 juta", 25e6},
		{"Gaji 8–12 jt", 12e6},
		{"Rp 1,5 juta", 1.5e6},
		{"Salary $1.200", 1200 * usd},
		{"salary USD 1,000", 1000 * usd},
		{"gaji 1000$ + bonus", 1000 * usd},
		{"$800–$1.500", 1500 * usd},
		{"$1k++ no exp", 1000 * usd},
		{"IDR 18–25 million", 25e6},
		{"Gaji NT$27.000+", 27000 * e.cur.rates["TWD"]},
		{"Gaji RM1.800 + OT", 1800 * e.cur.rates["MYR"]},
		{"bayaran SGD 80/hari", 80 * e.cur.rates["SGD"] * 26},
		{"Upah 25 dolar Brunei/hari", 25 * e.cur.rates["BND"] * 26},
		{"AUD 25/hour", 25 * e.cur.rates["AUD"] * 208},
		{"Gaji 15 juta/minggu", 15e6 * 4.33},
		{"Gaji ¥190.000", 190000 * e.cur.rates["JPY"]},
		{"35,000 THB/month", 35000 * e.cur.rates["THB"]},
		{"Biaya 60 juta, gaji 18 juta", 18e6}, // the fee is not a wage
		{"Hub 0813 1111 3378", 0},
		{"Usia 18-35, tinggi 155 cm", 0},
	}
	for _, c := range cases {
		ad := &lokerwatch.Ad{Title: "x", Text: c.text}
		e.Classify(ad)
		if got := float64(ad.Entities.SalaryIDR); math.Abs(got-c.idr) > 1+c.idr*1e-9 {
			t.Errorf("%q: salary %.0f IDR/month, want %.0f", c.text, got, c.idr)
		}
	}
}

func TestFeesAgesPlaces(t *testing.T) {
	e := engineAllFacts(t) // reads min_age, which no default rule names
	cases := []struct {
		text      string
		fee       int
		minAge    int
		countries []string
		places    []string
	}{
		{"Biaya administrasi Rp7,5 juta dibayar ke saya", 7500000, 0, nil, nil},
		{"DP 10 juta dulu", 10000000, 0, nil, nil},
		{"Usia 17–25, berpenampilan menarik", 0, 17, nil, nil},
		{"umur 15 tahun ke atas boleh", 0, 15, nil, nil},
		{"Girls 16+ welcome", 0, 16, nil, nil},
		{"usia maks. 35 tahun", 0, 0, nil, nil},
		{"Kerja di Sihanoukville, Kamboja", 0, 0, []string{"KH"}, []string{"Sihanoukville"}},
		{"kawasan Segitiga Emas, lewat Chiang Rai", 0, 0, []string{"LA", "TH"}, []string{"Segitiga Emas"}},
		{"Myawaddy dekat Mae Sot", 0, 0, []string{"MM", "TH"}, []string{"Myawaddy", "Mae Sot"}},
		{"penempatan 🇰🇭", 0, 0, []string{"KH"}, nil},
	}
	for _, c := range cases {
		ad := &lokerwatch.Ad{Title: "x", Text: c.text}
		e.Classify(ad)
		st := e.pool.Get().(*state)
		st.run(ad)
		fee, _ := st.env["fee_idr"].(int)
		age, _ := st.env["min_age"].(int)
		e.pool.Put(st)
		if fee != c.fee {
			t.Errorf("%q: fee %d, want %d", c.text, fee, c.fee)
		}
		if age != c.minAge {
			t.Errorf("%q: min age %d, want %d", c.text, age, c.minAge)
		}
		if !slices.Equal(ad.Entities.Countries, c.countries) {
			t.Errorf("%q: countries %v, want %v", c.text, ad.Entities.Countries, c.countries)
		}
		if !slices.Equal(ad.Entities.Places, c.places) {
			t.Errorf("%q: places %v, want %v", c.text, ad.Entities.Places, c.places)
		}
	}
}

func TestAgenciesLicences(t *testing.T) {
	e := engine(t)
	ad := &lokerwatch.Ad{Title: "Rekrutmen", Text: "PT Nawasena Lintas Mahardika (P3MI, SIP3MI No. 09 Tahun 2022) dan LPK Hikari (izin Disnaker No. 563/117/LPK/2022)."}
	e.Classify(ad)
	if !slices.Equal(ad.Entities.Agencies, []string{"PT Nawasena Lintas Mahardika"}) {
		t.Errorf("agencies %v", ad.Entities.Agencies)
	}
	if len(ad.Entities.Licences) != 2 {
		t.Fatalf("licences %v, want two", ad.Entities.Licences)
	}
	if k := licenceKey(ad.Entities.Licences[0]); k != "9/2022" {
		t.Errorf("licence key of %q = %q, want 9/2022", ad.Entities.Licences[0], k)
	}
	if k := licenceKey(ad.Entities.Licences[1]); k != "563/117/2022" {
		t.Errorf("licence key of %q = %q, want 563/117/2022", ad.Entities.Licences[1], k)
	}
}

// FuzzEntities: classification (normalisation, every extractor, rules)
// never panics and every signal span lies inside the body and matches its
// evidence. Seeds: testdata/fuzz/FuzzEntities.
func FuzzEntities(f *testing.F) {
	for _, s := range []string{
		"WA 0813-1111-9470 gaji Rp 15.000.000 usia 17-25 @handle t.me/x wa.me/62812",
		"nol delapan satu tiga satu satu satu satu tujuh dua nol satu",
		"$1k++ NT$27.000 RM1.800 25 dolar brunei/hari 1,5 juta 15-25jt",
		"PT A B C SIP3MI No. 09 Tahun 2022 izin No. 1/2/LPK/3",
		"a@b.c @@ @ .. 9999999999999999999999 1.2.3.4.5.6.7.8",
	} {
		f.Add("title", s)
	}
	e, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, title, text string) {
		ad := &lokerwatch.Ad{Title: title, Text: text}
		e.Classify(ad)
		a := ad.Assessment
		if a == nil {
			t.Fatal("no assessment")
		}
		body := ad.Body()
		for _, s := range a.Signals {
			if s.Rule == "engine.error" {
				t.Fatalf("engine error: %s", s.Description)
			}
			if s.Start < 0 || s.End > len(body) || s.Start > s.End {
				t.Fatalf("signal %s span %d-%d outside 0-%d", s.Rule, s.Start, s.End, len(body))
			}
			if body[s.Start:s.End] != s.Evidence {
				t.Fatalf("signal %s evidence %q != %q", s.Rule, s.Evidence, body[s.Start:s.End])
			}
		}
		if a.Score < 0 || a.Score > 100 {
			t.Fatalf("score %d", a.Score)
		}
	})
}
