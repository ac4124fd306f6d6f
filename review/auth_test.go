package review

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("s3cret-password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string", h)
	}
	h2, _ := hashPassword("s3cret-password")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	for _, tt := range []struct {
		pw   string
		want bool
	}{{"s3cret-password", true}, {"s3cret-passwort", false}, {"", false}} {
		ok, err := checkPassword(h, tt.pw)
		if err != nil || ok != tt.want {
			t.Errorf("check %q = %v, %v; want %v", tt.pw, ok, err, tt.want)
		}
	}
	salt := strings.Split(h, "$")[4]
	for _, bad := range []string{
		"", "plain", "$2y$10$abcdefghijklmnopqrstuv", // bcrypt
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$AAAA",
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + strings.Split(h, "$")[5],
		"$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + strings.Split(h, "$")[5], // 95 GiB: refused, not allocated
		"$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + strings.Split(h, "$")[5],
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + strings.Split(h, "$")[5],
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$short",
	} {
		if ok, err := checkPassword(bad, "s3cret-password"); ok || err == nil {
			t.Errorf("checkPassword(%q) = %v, %v; want refusal with an error", bad, ok, err)
		}
	}
}

func TestThrottle(t *testing.T) {
	th := newThrottle()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < th.free-1; i++ {
		th.fail(now, "user:a", "ip:1")
	}
	if w := th.wait(now, "user:a", "ip:1"); w != 0 {
		t.Fatalf("locked after %d failures: %v", th.free-1, w)
	}
	th.fail(now, "user:a", "ip:1")
	if w := th.wait(now, "user:a"); w != th.base {
		t.Fatalf("wait after %d failures = %v, want %v", th.free, w, th.base)
	}
	if w := th.wait(now, "user:b", "ip:2"); w != 0 {
		t.Fatalf("other keys locked: %v", w)
	}
	th.fail(now, "user:a")
	if w := th.wait(now, "user:a"); w != 2*th.base {
		t.Fatalf("lock does not double: %v", w)
	}
	for i := 0; i < 20; i++ {
		th.fail(now, "user:a")
	}
	if w := th.wait(now, "user:a"); w != th.max {
		t.Fatalf("lock not capped: %v", w)
	}
	if w := th.wait(now.Add(th.max), "user:a"); w != 0 {
		t.Fatalf("still locked after the lock ran out: %v", w)
	}
	th.ok("user:a")
	th.fail(now, "user:a")
	if w := th.wait(now, "user:a"); w != 0 {
		t.Fatalf("success did not reset the count: %v", w)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/ad/x?y=1": "/ad/x?y=1", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil.example": "/", "javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalise(t *testing.T) {
	for _, in := range []string{"0812-3456-7890", "+62 812 3456 7890", "62 812-3456-7890", "(0812) 3456 7890", "+6281234567890"} {
		got, err := normalisePhone(in)
		if err != nil || got != "+6281234567890" {
			t.Errorf("normalisePhone(%q) = %q, %v", in, got, err)
		}
	}
	if got, err := normalisePhone("+855 12 345 678"); err != nil || got != "+85512345678" {
		t.Errorf("Cambodian number: %q, %v", got, err)
	}
	for _, in := range []string{"abc", "12", ""} {
		if _, err := normalisePhone(in); err == nil {
			t.Errorf("normalisePhone(%q) accepted", in)
		}
	}
	for in, want := range map[string]string{"@HRD_Kamboja": "hrd_kamboja", "https://t.me/hrd_kamboja": "hrd_kamboja", "t.me/HRD_kamboja/12": "hrd_kamboja"} {
		if got := normaliseHandle(in); got != want {
			t.Errorf("normaliseHandle(%q) = %q", in, got)
		}
	}
	for in, want := range map[string]string{"0812-3456-7890": searchPhone, "@hrd": searchHandle, "a.b@example.com": searchEmail,
		"admin online": searchText, "PT Maju": searchText, "t.me/x": searchHandle} {
		if got := guessKind(in); got != want {
			t.Errorf("guessKind(%q) = %q, want %q", in, got, want)
		}
	}
}
