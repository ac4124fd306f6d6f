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
