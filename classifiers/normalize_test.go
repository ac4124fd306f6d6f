package classifiers

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Gaji BESAR", "gaji besar"},
		{"k3rja di kmboja g4ji dolar", "kerja di kmboja gaji dolar"},
		{"T3l3gram s0sm3d d1cari 0pen", "telegram sosmed dicari open"},
		{"gaji 15jt, 3x makan, 18jt", "gaji 15jt, 3x makan, 18jt"},
		{"P3MI dan BP2MI, SIP3MI", "p3mi dan bp2mi, sip3mi"},
		{"w h a t s a p p", "whatsapp"},
		{"L O K E R  K-a-m-b-o-j-a", "loker kamboja"},
		{"hub W.A 0812", "hub wa 0812"},
		{"C.S online", "cs online"},
		{"Myan*mar", "myanmar"},
		{"gratiiiis bangeeeet", "gratis banget"},
		{"ｆｕｌｌ ｗｉｄｔｈ", "full width"},
		{"𝐋𝐎𝐊𝐄𝐑 𝓴𝓪𝓶𝓫𝓸𝓳𝓪", "loker kamboja"},
		{"ⓚⓐⓜⓑⓞⓙⓐ", "kamboja"},
		{"КАМВОЈА", "kamboja"}, // Cyrillic look-alikes
		{"ᴋᴇʀᴊᴀ", "kerja"},
		{"zero\u200bwidth\u200d join\ufeff", "zerowidth join"},
		{"caf\u0065\u0301 café", "cafe cafe"},
		{"1️⃣2️⃣3️⃣", "123"},
		{"🇰🇭 Phnom Penh", "flag_kh phnom penh"},
		{"s@lary $1k", "salary $1k"},
		{"hr@gmail.com", "hr@gmail.com"},
		{"US$1,200 NT$27.000", "us$1,200 nt$27.000"},
		{"  many   spaces\n\n here ", "many spaces\nhere"},
		{"Gaji 15–25 juta", "gaji 15-25 juta"},
	}
	for _, c := range cases {
		got := string(Normalize(c.in).Text)
		if got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestNormalizeOffsets checks that every folded word maps back to the
// bytes of the original that produced it.
func TestNormalizeOffsets(t *testing.T) {
	cases := []struct{ in, word, orig string }{
		{"Kerja di K-a-m-b-o-j-a sekarang", "kamboja", "K-a-m-b-o-j-a"},
		{"📢 𝐋𝐎𝐊𝐄𝐑 Thailand", "loker", "𝐋𝐎𝐊𝐄𝐑"},
		{"g4ji 18jt!!", "gaji", "g4ji"},
		{"hubungi W.A 0812", "wa", "W.A"},
		{"visa  TURIIIS ok", "turis", "TURIIIS"},
		{"kerja di 🇰🇭 ok", "flag_kh", "🇰🇭"},
		{"ｆｕｌｌ", "full", "ｆｕｌｌ"},
	}
	for _, c := range cases {
		n := Normalize(c.in)
		i := strings.Index(string(n.Text), c.word)
		if i < 0 {
			t.Errorf("%q: %q not in %q", c.in, c.word, n.Text)
			continue
		}
		if got := n.Original(i, i+len(c.word)); got != c.orig {
			t.Errorf("%q: %q maps back to %q, want %q", c.in, c.word, got, c.orig)
		}
	}
}

func checkNormalized(t *testing.T, in string) {
	n := Normalize(in)
	if len(n.starts) != len(n.Text) || len(n.ends) != len(n.Text) {
		t.Fatalf("offset map length %d/%d for %d bytes", len(n.starts), len(n.ends), len(n.Text))
	}
	prev := int32(0)
	for i := range n.Text {
		s, e := n.starts[i], n.ends[i]
		if s < 0 || e > int32(len(in)) || s > e {
			t.Fatalf("byte %d maps to %d-%d outside 0-%d", i, s, e, len(in))
		}
		if s < prev {
			t.Fatalf("offsets go backwards at %d: %d < %d", i, s, prev)
		}
		prev = s
	}
	if utf8.ValidString(in) && !utf8.Valid(n.Text) {
		t.Fatalf("valid input gave invalid UTF-8 %q", n.Text)
	}
	os, oe := n.Span(0, len(n.Text))
	if os < 0 || oe > len(in) || os > oe {
		t.Fatalf("span of everything %d-%d outside 0-%d", os, oe, len(in))
	}
}

// FuzzNormalize: never panics, offsets stay inside the original and never
// go backwards, valid UTF-8 stays valid. Seeds: testdata/fuzz/FuzzNormalize.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "k3rja di K-a-m-b-o-j-a 🇰🇭", "𝐋𝐎𝐊𝐄𝐑", "\xff\xfe", "a.b.c.d", "1️⃣🔟", "s@l@ry $$$ @@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkNormalized(t, in)
	})
}

// TestHashtagSplit: run-together hashtags are read as the lexicon's words
// when those words cover them whole; anything else is left as written.
func TestHashtagSplit(t *testing.T) {
	e := engine(t)
	for _, c := range []struct{ in, want string }{
		{"#lokerkamboja", "#loker kamboja"},
		{"#KerjaLuarNegeri", "#kerja luar negeri"},
		{"#tanpapengalaman gaji", "#tanpa pengalaman gaji"},
		{"#xyzqwerty", "#xyzqwerty"},     // no words
		{"lokerkamboja", "lokerkamboja"}, // not a hashtag
		{"#loker2025", "#loker2025"},     // digits: left alone
		{"#kamboja", "#kamboja"},         // one word
	} {
		var n Normalized
		normalizeInto(&n, c.in, e.lex.protect, e.lex.vocab)
		if got := string(n.Text); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
		// every output byte still maps into the original
		for i := range n.Text {
			if s, en := n.Span(i, i+1); s < 0 || en > len(c.in) || s > en {
				t.Errorf("%q: byte %d maps to %d-%d", c.in, i, s, en)
			}
		}
	}
}
