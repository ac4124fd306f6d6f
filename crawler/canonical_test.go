package crawler

import "testing"

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTP://Example.COM:80/a/b?z=1&a=2#frag", "http://example.com/a/b?a=2&z=1"},
		{"https://example.com:443", "https://example.com/"},
		{"https://example.com:8443/x", "https://example.com:8443/x"},
		{"https://user:pw@example.com/x", "https://example.com/x"},
		{"https://example.com/job/1?utm_source=fb&utm_medium=x&id=7", "https://example.com/job/1?id=7"},
		{"https://example.com/?fbclid=abc&gclid=def&q=loker", "https://example.com/?q=loker"},
		{"https://example.com/?PHPSESSID=1&sid=2&JSESSIONID=3&page=2", "https://example.com/?page=2"},
		{"https://example.com/job/1;jsessionid=ABC123?x=1", "https://example.com/job/1?x=1"},
		{"https://example.com/a/./b/../c/", "https://example.com/a/c/"},
		{"https://example.com/a/..", "https://example.com/"},
		{"https://example.com/%7euser/%2f%41", "https://example.com/~user/%2FA"},
		{"https://example.com/?q=a+b&q=a%20a", "https://example.com/?q=a+a&q=a+b"},
		{"https://example.com/?&&a=1&", "https://example.com/?a=1"},
		{"https://example.com./x", "https://example.com/x"},
		{"https://lowongan.例え.jp/x", "https://lowongan.xn--r8jz45g.jp/x"},
		{"http://[::1]:8080/x", "http://[::1]:8080/x"},
		{"http://127.0.0.1:0080/", "http://127.0.0.1/"},
		{"  https://t.me/s/lokerln?before=120  ", "https://t.me/s/lokerln?before=120"},
	}
	for _, tt := range tests {
		got, err := Canonical(tt.in)
		if err != nil {
			t.Errorf("Canonical(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Canonical(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Canonical forms are fixed points.
		if again, err := Canonical(got); err != nil || again != got {
			t.Errorf("Canonical(%q) = %q, %v; not idempotent", got, again, err)
		}
	}
}

func TestCanonicalRejects(t *testing.T) {
	for _, in := range []string{
		"", "mailto:a@b.c", "javascript:alert(1)", "ftp://example.com/x", "/relative/path",
		"https://", "http://%zz/", "https:opaque", "http://./",
	} {
		if got, err := Canonical(in); err == nil {
			t.Errorf("Canonical(%q) = %q, want an error", in, got)
		}
	}
}
