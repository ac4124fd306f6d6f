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
		{"declared UTF-8 with invalid bytes stays for the text pass", "text/html; charset=utf-8", "ok \xff\xfe", "ok \xff\xfe"},
	}
	for _, tt := range tests {
		if got := string(htmlUTF8(tt.ct, []byte(tt.body))); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}
