package crawler

import (
	"strings"
	"testing"
)

func TestHTMLUTF8(t *testing.T) {
	long := strings.Repeat("a", 2000)
	tests := []struct {
		name, ct, body, want string
	}{
		{"header charset", "text/html; charset=ISO-8859-1", "<p>Jalan Sudirman, caf\xe9</p>", "<p>Jalan Sudirman, café</p>"},
		{"meta charset", "text/html", `<meta charset="windows-1252"><p>gaji 5.000 ` + "\x96 7.000 \x93bersih\x94", `<meta charset="windows-1252"><p>gaji 5.000 – 7.000 “bersih”`},
		{"undeclared UTF-8 after the first KiB", "text/html", "<p>" + long + "Kerja 🇰🇭 ke Kamboja</p>", "<p>" + long + "Kerja 🇰🇭 ke Kamboja</p>"},
		{"undeclared, not UTF-8", "text/html", "<p>caf\xe9 " + long + "</p>", "<p>café " + long + "</p>"},
		{"declared UTF-8 with invalid bytes", "text/html; charset=utf-8", "ok \xff\xfe", "ok \uFFFD"},
		{"undeclared UTF-8 with a stray byte", "text/html", "<p>Kerja ke Kamboja — gaji \xa0 🇰🇭 ✓</p>", "<p>Kerja ke Kamboja — gaji \uFFFD 🇰🇭 ✓</p>"},
		{"declared ISO-8859-1 in meta", "text/html", "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"><p>S\xe3o Paulo", `<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1"><p>São Paulo`},
		{"header wins over meta", "text/html; charset=windows-1252", "<meta charset=\"utf-8\"><p>\x80 100", `<meta charset="utf-8"><p>€ 100`},
		{"BOM wins", "text/html; charset=windows-1252", "\xef\xbb\xbf<p>caf\xc3\xa9", "<p>café"},
	}
	for _, tt := range tests {
		if got := string(htmlUTF8(tt.ct, []byte(tt.body))); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"ok":                     "ok",
		"a\x00b\x01c\x7f":        "abc",
		"line\nnext\ttab\r":      "line\nnext\ttab",
		"bad \xff\xfe utf8":      "bad  utf8",
		"\u0085next-line \u200b": "next-line \u200b",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
}
