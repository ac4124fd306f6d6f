package review

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// ParseRole checks a role given by a user.
func ParseRole(s string) (storage.Role, error) {
	switch r := storage.Role(s); r {
	case storage.RoleAnalyst, storage.RoleInvestigator, storage.RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q (want analyst, investigator or admin)", s)
}

// roleRank orders roles: each role may do everything the ones below it may.
func roleRank(r storage.Role) int {
	switch r {
	case storage.RoleAnalyst:
		return 1
	case storage.RoleInvestigator:
		return 2
	case storage.RoleAdmin:
		return 3
	}
	return 0
}

// allows reports whether a user with role have may do what needs role need.
func allows(have, need storage.Role) bool {
	return roleRank(have) > 0 && roleRank(have) >= roleRank(need)
}

var userNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// MinPasswordLen is the shortest password AddUser accepts.
const MinPasswordLen = 10

// AddUser creates a user or, when the name exists, sets its role and
// password (and enables it again). The password is stored as an argon2id hash.
func AddUser(ctx context.Context, st Store, name string, role storage.Role, password string) error {
	if !userNameRE.MatchString(name) {
		return fmt.Errorf("add user %q: name must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", name)
	}
	if _, err := ParseRole(string(role)); err != nil {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	if len(password) < MinPasswordLen {
		return fmt.Errorf("add user %s: password must be at least %d characters", name, MinPasswordLen)
	}
	if len(password) > 1024 {
		return fmt.Errorf("add user %s: password longer than 1024 bytes", name)
	}
	h, err := hashPassword(password)
	if err != nil {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	u := &storage.User{Name: name, Role: role, PasswordHash: h, CreatedAt: time.Now().UTC()}
	if old, err := st.GetUser(ctx, name); err == nil {
		u.CreatedAt = old.CreatedAt
	} else if !errors.Is(err, lokerwatch.ErrNotFound) {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	if err := st.PutUser(ctx, u); err != nil {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	return nil
}

// tokenPrefix marks API tokens so that they are recognisable in logs and
// secret scanners.
const tokenPrefix = "lwt_"

// NewToken creates an API token for scripts, used as
// "Authorization: Bearer <token>". Only a hash of it is stored; the token
// is shown once.
func NewToken(ctx context.Context, st Store, name string) (string, error) {
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return "", fmt.Errorf("new token for %s: %w", name, err)
	}
	if u.Disabled {
		return "", fmt.Errorf("new token for %s: user is disabled", name)
	}
	secret, err := randomString(32)
	if err != nil {
		return "", fmt.Errorf("new token for %s: %w", name, err)
	}
	tok := tokenPrefix + secret
	sess := &storage.Session{ID: secretID(tok), User: name, CreatedAt: time.Now().UTC(), Token: true}
	if err := st.PutSession(ctx, sess); err != nil {
		return "", fmt.Errorf("new token for %s: %w", name, err)
	}
	return tok, nil
}

// randomString returns n random bytes, base64url without padding.
func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretID is the store key of a session secret or API token: its SHA-256.
// A stolen database thus holds no usable credential.
func secretID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// throttle slows down password guessing: after a few failures for one user
// name or one client address, further attempts are refused for a while,
// doubling with each failure. It lives in the process; each replica of the
// server keeps its own.
type throttle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
	free    int           // failures allowed before locking
	base    time.Duration // first lock
	max     time.Duration // longest lock
	forget  time.Duration // failures older than this are forgotten
}

type throttleEntry struct {
	fails int
	last  time.Time
	until time.Time
}

func newThrottle() *throttle {
	return &throttle{entries: map[string]*throttleEntry{}, free: 5, base: 30 * time.Second, max: 15 * time.Minute, forget: time.Hour}
}

// wait returns how long the keys are still locked at now (0: go ahead).
func (t *throttle) wait(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if e := t.entries[k]; e != nil && e.until.After(now) {
			d = max(d, e.until.Sub(now))
		}
	}
	return d
}

// fail records a failed attempt for each key.
func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) > 100_000 {
		t.prune(now)
	}
	for _, k := range keys {
		e := t.entries[k]
		if e == nil || now.Sub(e.last) > t.forget {
			e = &throttleEntry{}
			t.entries[k] = e
		}
		e.fails++
		e.last = now
		if e.fails >= t.free {
			lock := t.base << min(e.fails-t.free, 10)
			e.until = now.Add(min(lock, t.max))
		}
	}
}

// ok forgets the failures of keys after a successful login.
func (t *throttle) ok(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.entries, k)
	}
}

func (t *throttle) prune(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.last) > t.forget && !e.until.After(now) {
			delete(t.entries, k)
		}
	}
}
