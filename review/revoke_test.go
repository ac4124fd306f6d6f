package review

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Finding 7: password changes and disabling end sessions and tokens,
// re-enabling revives none, tokens expire and can be revoked one by one.
func TestRevocation(t *testing.T) { forEachStore(t, testRevocation) }

func testRevocation(t *testing.T, newStore func(testing.TB) storage.Store) {
	var clock time.Duration // how far the server's clock is ahead
	e := newEnv(t, newStore(t), func(o *Options) { o.Now = func() time.Time { return time.Now().Add(clock) } })
	ctx := context.Background()
	bearer := func(tok string) int {
		req, _ := http.NewRequest("GET", e.ts.URL+"/api/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return e.client(t).do(req).code
	}
	newTok := func(name string, ttl time.Duration) (string, *storage.Session) {
		tok, sess, err := NewTokenTTL(ctx, e.st, name, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok, sess
	}

	// Password reset: the old session and token stop working.
	alice := e.client(t).mustLogin("alice")
	tok, _ := newTok("alice", time.Hour)
	if err := AddUser(ctx, e.st, "alice", storage.RoleAnalyst, "a new password here"); err != nil {
		t.Fatal(err)
	}
	if r := alice.get("/api/me"); r.code != http.StatusUnauthorized {
		t.Errorf("session after password reset: %d", r.code)
	}
	if code := bearer(tok); code != http.StatusUnauthorized {
		t.Errorf("token after password reset: %d", code)
	}

	// Disable, then enable: old tokens stay dead.
	tok, _ = newTok("ivan", time.Hour)
	root := e.client(t).mustLogin("root")
	if r := root.api("POST", "/api/users/ivan/disable", map[string]any{}); r.code != 200 {
		t.Fatalf("disable: %d %s", r.code, r.body)
	}
	if r := root.api("POST", "/api/users/ivan/disable", map[string]any{"enable": true}); r.code != 200 {
		t.Fatalf("enable: %d %s", r.code, r.body)
	}
	if code := bearer(tok); code != http.StatusUnauthorized {
		t.Errorf("token revived by enabling the user again: %d", code)
	}

	// One token revoked by its ID, the other still works.
	t1, s1 := newTok("ivan", time.Hour)
	t2, _ := newTok("ivan", time.Hour)
	if _, err := RevokeToken(ctx, e.st, "ivan", TokenID(s1)); err != nil {
		t.Fatal(err)
	}
	if bearer(t1) != http.StatusUnauthorized || bearer(t2) != http.StatusOK {
		t.Errorf("after revoking t1: t1 %d, t2 %d; want 401, 200", bearer(t1), bearer(t2))
	}
	if _, err := RevokeToken(ctx, e.st, "bob", t2); !errors.Is(err, lokerwatch.ErrNotFound) {
		t.Errorf("revoking ivan's token as bob's: %v", err)
	}
	if _, err := RevokeToken(ctx, e.st, "ivan", t2); err != nil || bearer(t2) != http.StatusUnauthorized {
		t.Errorf("revoke by the token itself: %v, then %d", err, bearer(t2))
	}
	if _, err := RevokeToken(ctx, e.st, "ivan", "abc"); err == nil {
		t.Error("a 3-digit ID accepted")
	}

	// Tokens expire.
	t3, s3 := newTok("ivan", time.Hour)
	if s3.Expires.IsZero() || s3.Expires.Sub(s3.CreatedAt) != time.Hour {
		t.Errorf("token expiry %v after %v", s3.Expires, s3.CreatedAt)
	}
	if code := bearer(t3); code != http.StatusOK {
		t.Fatalf("fresh token: %d", code)
	}
	clock = 2 * time.Hour
	if code := bearer(t3); code != http.StatusUnauthorized {
		t.Errorf("expired token: %d", code)
	}
	if _, _, err := NewTokenTTL(ctx, e.st, "ivan", 0); err == nil {
		t.Error("token without expiry made")
	}
}
