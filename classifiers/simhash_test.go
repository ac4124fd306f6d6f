package classifiers

import "testing"

func TestSimHash(t *testing.T) {
	a := "Dibutuhkan customer service online untuk perusahaan di Phnom Penh. Gaji 12-15 juta per bulan plus bonus. Tidak perlu pengalaman, tiket dan mess ditanggung. Berangkat pakai visa wisata. Minat langsung WA 0813-1111-2087."
	repost := "Dibutuhkan customer service online untuk perusahaan di Phnom Penh. Gaji 13-16 juta per bulan plus bonus. Tidak perlu pengalaman, tiket dan mess ditanggung. Berangkat pakai visa wisata. Minat langsung WA 0857-2222-9999."
	other := "Lowongan kurir motor untuk ekspedisi di Bandung Timur. Gaji UMK plus insentif per paket, BPJS. Syarat punya motor dan SIM C aktif, paham jalan Bandung, usia 20 sampai 40 tahun."
	ha, hr, ho := SimHash(Normalize(a).Text), SimHash(Normalize(repost).Text), SimHash(Normalize(other).Text)
	if d := Distance(ha, hr); d != 0 {
		t.Errorf("repost with a new phone and price: distance %d, want 0", d)
	}
	edited := "Dibutuhkan segera customer service online untuk kantor di Phnom Penh. Gaji 12-15 juta per bulan plus bonus. Tidak perlu pengalaman, tiket dan mess ditanggung. Berangkat pakai visa wisata. Minat langsung WA 0813-1111-2087."
	if d := Distance(ha, SimHash(Normalize(edited).Text)); d > 8 {
		t.Errorf("repost with two words changed: distance %d, want <= 8", d)
	}
	if d := Distance(ha, ho); d < 20 {
		t.Errorf("unrelated distance %d, want >= 20", d)
	}
	if SimHash(Normalize(a).Text) != ha {
		t.Error("SimHash is not deterministic")
	}
	if SimHash(nil) != 0 {
		t.Error("empty text should hash to 0")
	}
	// Case, leetspeak and spacing do not change the fingerprint.
	if SimHash(Normalize("K3RJA   di KAMBOJA gaji DOLAR").Text) != SimHash(Normalize("kerja di kamboja gaji dolar").Text) {
		t.Error("normalisation-equivalent texts hash differently")
	}
}

// simHashPlain is SimHash written the obvious way (one counter per bit, no
// byte lanes), to check the packed counting against.
func simHashPlain(text []byte) uint64 {
	var counts [64]int
	features := 0
	add := func(f uint64) {
		for b := 0; b < 64; b++ {
			counts[b] += int(f >> b & 1)
		}
		features++
	}
	var prev uint64
	havePrev := false
	for i := 0; i < len(text); {
		for i < len(text) && !isWordByte(text[i]) {
			i++
		}
		if i >= len(text) {
			break
		}
		h := uint64(14695981039346656037)
		letters := false
		for ; i < len(text) && isWordByte(text[i]); i++ {
			letters = letters || !isDigitByte(text[i])
			h = (h ^ uint64(text[i])) * 1099511628211
		}
		if !letters {
			continue
		}
		add(mix(h))
		if havePrev {
			add(mix(prev*31 + h))
		}
		prev, havePrev = h, true
	}
	var out uint64
	for b := 0; b < 64; b++ {
		if features > 0 && 2*counts[b] > features {
			out |= 1 << b
		}
	}
	return out
}

func TestSimHashMatchesPlain(t *testing.T) {
	texts := []string{"", "123 456", "satu", "kerja di kamboja gaji dolar"}
	long := ""
	for i := 0; i < 400; i++ { // more than 255 features: the lane counters flush
		long += "kata" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + " "
	}
	texts = append(texts, long, long+long+"akhir")
	for _, a := range benchAds(t) {
		texts = append(texts, a.Title+"\n"+a.Text)
	}
	for _, s := range texts {
		n := Normalize(s).Text
		if got, want := SimHash(n), simHashPlain(n); got != want {
			t.Errorf("SimHash(%.40q) = %016x, plain %016x", s, got, want)
		}
	}
}
