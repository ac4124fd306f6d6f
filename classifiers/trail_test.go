package classifiers

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

func trailValues(body, kind string) []string {
	var out []string
	for _, e := range ExtractTrail(body) {
		if e.Kind == kind {
			out = append(out, e.Value)
		}
	}
	return out
}

func TestExtractTrail(t *testing.T) {
	tests := []struct {
		name, kind, body string
		want             []string // nil: nothing of kind may be found
	}{
		// Bank accounts.
		{"bca plain", "bank", "bayar DP 5 juta ke rekening BCA 1234567890 a.n. Hendra Wijaya", []string{"bca:1234567890"}},
		{"bca dashes", "bank", "Transfer ke BCA: 123-456-7890 (a/n HENDRA WIJAYA)", []string{"bca:1234567890"}},
		{"bca long name spaces", "bank", "Bank Central Asia no rek 123 456 7890", []string{"bca:1234567890"}},
		{"number before name", "bank", "kirim ke 1234567890 (BCA) ya", []string{"bca:1234567890"}},
		{"bri 15", "bank", "Rek BRI 0123-01-012345-50-1 an. Siti", []string{"bri:012301012345501"}},
		{"mandiri 13", "bank", "mandiri 1230007654321 atas nama Budi Santoso", []string{"mandiri:1230007654321"}},
		{"bni and bsi", "bank", "BNI 0987654321 atau BSI 7123456789", []string{"bni:0987654321", "bsi:7123456789"}},
		{"cimb niaga", "bank", "CIMB Niaga 7060 1234 5678 00", []string{"cimb:70601234567800"}},
		{"foreign aba", "bank", "deposit to ABA Bank 000 123 456 account name SOK DARA", []string{"aba:000123456"}},
		{"foreign kbank", "bank", "Kasikorn 123-4-56789-0", []string{"kbank:1234567890"}},
		{"bca wrong length refused", "bank", "rekening BCA 123456789012", nil},
		{"too short refused", "bank", "BCA 12345", nil},
		{"money not account", "bank", "biaya mandiri Rp 25.000.000.000", nil},
		{"amount in juta", "bank", "mandiri 1234567891234 juta", nil},
		{"phone after bank name", "bank", "BCA / WA 081234567890", nil},
		{"mandiri as a word", "bank", "kerja mandiri tanpa biaya", nil},
		// E-wallets.
		{"dana", "ewallet", "DANA: 0812-3456-7890", []string{"dana:+6281234567890"}},
		{"ovo +62", "ewallet", "bisa OVO +62 812 3456 7890", []string{"ovo:+6281234567890"}},
		{"gopay", "ewallet", "Go-Pay 081234567890 a.n. Rina", []string{"gopay:+6281234567890"}},
		{"shopeepay", "ewallet", "ShopeePay 0813 1111 2222", []string{"shopeepay:+6281311112222"}},
		{"dana the word", "ewallet", "dana talangan 5 juta tanpa jaminan", nil},
		{"ewallet too short", "ewallet", "DANA 0812345", nil},
		// Crypto.
		{"tron usdt", "crypto", "USDT TRC20: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", []string{"tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}},
		{"tron bad checksum", "crypto", "USDT TRC20: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u", nil},
		{"tron too short", "crypto", "USDT TRC20: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjL", nil},
		{"btc legacy", "crypto", "BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", []string{"btc:1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}},
		{"btc p2sh", "crypto", "BTC 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", []string{"btc:3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}},
		{"btc legacy bad", "crypto", "BTC 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", nil},
		{"bech32 v0", "crypto", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", []string{"btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}},
		{"bech32 upper", "crypto", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", []string{"btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"}},
		{"bech32m taproot", "crypto", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", []string{"btc:bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"}},
		{"bech32 bad checksum", "crypto", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", nil},
		{"bech32 mixed case", "crypto", "bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", nil},
		{"bech32m as v0 refused", "crypto", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kpkvhgf", nil},
		{"erc20 eip55", "crypto", "ERC20 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", []string{"eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}},
		{"erc20 lower", "crypto", "ERC20 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", []string{"eth:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}},
		{"erc20 bad eip55", "crypto", "ERC20 0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", nil},
		{"erc20 too short", "crypto", "ERC20 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", nil},
		// Profiles.
		{"facebook url", "profile", "cek https://www.facebook.com/Loker.Kamboja.Resmi/ ya", []string{"facebook:loker.kamboja.resmi"}},
		{"facebook mobile id", "profile", "m.facebook.com/profile.php?id=100089123456789", []string{"facebook:id/100089123456789"}},
		{"facebook group", "profile", "join facebook.com/groups/lokerluarnegeri", []string{"facebook:groups/lokerluarnegeri"}},
		{"facebook share refused", "profile", "facebook.com/share/p/abc123", nil},
		{"instagram url", "profile", "instagram.com/kerja.thailand_vip.", []string{"instagram:kerja.thailand_vip"}},
		{"instagram handle", "profile", "follow IG: @Kerja.Thailand_VIP", []string{"instagram:kerja.thailand_vip"}},
		{"tiktok url", "profile", "https://www.tiktok.com/@lokerjepang88?lang=id", []string{"tiktok:lokerjepang88"}},
		{"tiktok handle", "profile", "TikTok @lokerjepang88", []string{"tiktok:lokerjepang88"}},
		{"handle too short", "profile", "IG: @ab", nil},
		{"ig without marker", "profile", "ig kerja bagus", nil},
		{"email not profile", "profile", "fb: hr@kerja.com", nil},
		// Domains.
		{"domain url", "domain", "daftar di https://www.Kerja-Asia.com/apply", []string{"kerja-asia.com"}},
		{"domain bare", "domain", "info: lokerkamboja.id atau rekrut.co.id", []string{"lokerkamboja.id", "rekrut.co.id"}},
		{"email domain is not a site", "domain", "kirim cv ke hrd@kerja-asia.com", nil},
		{"platforms are not domains", "domain", "wa.me/6281234567890 t.me/lokerjob facebook.com/x", nil},
		{"times and amounts", "domain", "jam 08.00 gaji 5.000.000 a.n. Budi", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trailValues(tt.body, tt.kind)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("%s in %q: got %q, want %q", tt.kind, tt.body, got, tt.want)
			}
		})
	}
}

func TestExtractTrailSpansAndHolder(t *testing.T) {
	body := "Lowongan Kamboja\nbayar DP 5 juta ke rekening BCA 123-456-7890 a.n. Hendra Wijaya, lalu kirim bukti.\nUSDT TRC20 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
	ents := ExtractTrail(body)
	var bank, crypto *Entity
	for i := range ents {
		switch ents[i].Kind {
		case "bank":
			bank = &ents[i]
		case "crypto":
			crypto = &ents[i]
		}
	}
	if bank == nil || crypto == nil {
		t.Fatalf("entities: %+v", ents)
	}
	if got := body[bank.Start:bank.End]; got != "BCA 123-456-7890 a.n. Hendra Wijaya" {
		t.Errorf("bank span %q", got)
	}
	if bank.Holder != "Hendra Wijaya" {
		t.Errorf("holder %q", bank.Holder)
	}
	if got := body[crypto.Start:crypto.End]; got != "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t" {
		t.Errorf("crypto span %q", got)
	}
}

// One account written three ways is one entity.
func TestFillTrailNormalises(t *testing.T) {
	ad := &lokerwatch.Ad{Title: "Loker", Text: "Rekening BCA 1234567890 a.n. HENDRA WIJAYA. Atau bca 123-456-7890. Atau Bank Central Asia 123 456 7890 (a.n. hendra wijaya)"}
	FillTrail(ad)
	if !slices.Equal(ad.Entities.Accounts, []string{"bca:1234567890"}) {
		t.Fatalf("accounts %q", ad.Entities.Accounts)
	}
	if ad.Entities.Holders["bca:1234567890"] != "Hendra Wijaya" {
		t.Fatalf("holders %v", ad.Entities.Holders)
	}
	keys := lokerwatch.IndexKeys(ad)
	if !slices.Contains(keys, lokerwatch.IndexKey{Kind: lokerwatch.EntityBank, Value: "bca:1234567890"}) {
		t.Fatalf("index keys %v", keys)
	}
}

// Hostile input: no panic, spans inside the body.
func FuzzExtractTrail(f *testing.F) {
	for _, s := range []string{"BCA 1234567890 a.n. X", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "facebook.com/profile.php?id=", "DANA +", "IG: @", strings.Repeat("9", 200), "a.n.", "www."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range ExtractTrail(s) {
			if e.Start < 0 || e.End > len(s) || e.Start > e.End || e.Value == "" {
				t.Fatalf("bad entity %+v in %q", e, s)
			}
		}
	})
}

// An account number the phone extractor misreads as a foreign phone is
// dropped from the phones.
func TestFillTrailDropsAccountAsPhone(t *testing.T) {
	e := engine(t)
	ad := &lokerwatch.Ad{Title: "Loker", Text: "DP ke rekening BCA 4471 209 385 a.n. Hendra Wijaya. Info WA 0857-2210-4418"}
	e.Classify(ad)
	FillTrail(ad)
	if slices.Contains(ad.Entities.Phones, "+4471209385") || !slices.Contains(ad.Entities.Phones, "+6285722104418") {
		t.Fatalf("phones %q", ad.Entities.Phones)
	}
	if !slices.Equal(ad.Entities.Accounts, []string{"bca:4471209385"}) {
		t.Fatalf("accounts %q", ad.Entities.Accounts)
	}
}

// `lokerwatch classify` prints the money trail with the other entities.
func TestClassifyJSONLCarriesTrail(t *testing.T) {
	in := `{"id":"1","title":"Loker Kamboja","text":"DP ke BCA 123-456-7890 a.n. Hendra Wijaya atau USDT TRC20 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t, IG: @kerja.kamboja"}` + "\n"
	var out strings.Builder
	if _, err := engine(t).ClassifyJSONL(context.Background(), strings.NewReader(in), &out, &strings.Builder{}, false); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Entities lokerwatch.Entities `json:"entities"`
	}
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	e := got.Entities
	if !slices.Equal(e.Accounts, []string{"bca:1234567890"}) || e.Holders["bca:1234567890"] != "Hendra Wijaya" ||
		!slices.Equal(e.Crypto, []string{"tron:TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"}) || !slices.Equal(e.Profiles, []string{"instagram:kerja.kamboja"}) {
		t.Fatalf("entities %+v", e)
	}
}
