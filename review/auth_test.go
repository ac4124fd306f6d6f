package review

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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
	a, other := pairKey("Alice", "10.0.0.1"), pairKey("alice", "10.0.0.2")
	if a != pairKey("alice", "10.0.0.1") {
		t.Fatal("pair key is case-sensitive in the name")
	}
	for i := 0; i < th.free-1; i++ {
		if w := th.begin(now, a); w != 0 {
			t.Fatalf("attempt %d held back: %v", i+1, w)
		}
	}
	if w := th.wait(now, a); w != 0 {
		t.Fatalf("held back after %d failures: %v", th.free-1, w)
	}
	th.begin(now, a)
	if w := th.wait(now, a); w != th.base {
		t.Fatalf("wait after %d failures = %v, want %v", th.free, w, th.base)
	}
	if w := th.begin(now, a); w != th.base {
		t.Fatalf("attempt while held back: %v, want %v", w, th.base)
	}
	// The same name from another address, and other names from this
	// one, are not held back: no lock-out of the owner or of neighbours.
	if w := th.begin(now, other); w != 0 {
		t.Fatalf("same name, other address held back: %v", w)
	}
	if w := th.begin(now, pairKey("bob", "10.0.0.1")); w != 0 {
		t.Fatalf("other name, same address held back: %v", w)
	}
	// Backoff doubles with each failure that gets through, up to max.
	at := now.Add(th.base)
	th.begin(at, a)
	if w := th.wait(at, a); w != 2*th.base {
		t.Fatalf("delay does not double: %v", w)
	}
	for i := 0; i < 40; i++ {
		at = at.Add(th.wait(at, a))
		th.begin(at, a)
	}
	if w := th.wait(at, a); w != th.max {
		t.Fatalf("delay not capped: %v", w)
	}
	th.ok(a)
	if w := th.begin(at, a); w != 0 {
		t.Fatalf("success did not reset the count: %v", w)
	}
}

// TestThrottleAtomic: concurrent attempts of one pair are counted as they
// are let through, so no more than the free ones are checked (issue 20:
// 40 concurrent wrong passwords had 39 checked).
func TestThrottleAtomic(t *testing.T) {
	th := newThrottle()
	now := time.Now()
	var passed atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if th.begin(now, pairKey("alice", "10.0.0.1")) == 0 {
				passed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != int32(th.free) {
		t.Fatalf("%d of 40 concurrent attempts let through, want %d", n, th.free)
	}
}

func TestThrottleBoundedMemory(t *testing.T) {
	th := newThrottle()
	th.limit = 1000
	now := time.Now()
	for i := range 10_000 {
		th.begin(now.Add(time.Duration(i)*time.Millisecond), pairKey(fmt.Sprint("n", i), "10.0.0.1"))
	}
	if n := len(th.entries); n > th.limit {
		t.Fatalf("%d entries kept, limit %d", n, th.limit)
	}
}

func TestSafeNext(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "/"},
		{"/ad/x?y=1", "/ad/x?y=1"},
		{"/search?q=a%20b#top", "/search?q=a%20b#top"},
		{"/", "/"},
		{"//evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/ok\r\nSet-Cookie: x", "/"},
		// Browsers strip tab, LF, CR from URLs and treat \ as /; the rest
		// of the control characters and spaces are refused too.
		{"/\t/evil.example/", "/"},
		{"/\v/evil.example/", "/"},
		{"/\f/evil.example/", "/"},
		{"/\n/evil.example/", "/"},
		{"/\r/evil.example/", "/"},
		{"/\x00/evil.example/", "/"},
		{"/ /evil.example/", "/"},
		{"/\u00a0/evil.example/", "/"},
		{"/\u2028/evil.example/", "/"},
		{"/\u200b/evil.example/", "/"},
		{"/\ufeff/evil.example/", "/"},
		{"/\x7f/evil.example/", "/"},
		{"/\u0085/evil.example/", "/"},
		{"/\xff/evil.example/", "/"},
		{"/%2F/evil.example/", "/"},
		{"/\\/evil.example/", "/"},
		{"\t//evil.example/", "/"},
		{"/" + strings.Repeat("a", 3000), "/"},
	} {
		if got := safeNext(c.in); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.in, got, c.want)
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
