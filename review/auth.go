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
	"slices"
	"strings"
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
// password (and enables it again) and ends its sessions and API tokens. The password is stored as an argon2id hash.
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
	existed := false
	if old, err := st.GetUser(ctx, name); err == nil {
		u.CreatedAt, existed = old.CreatedAt, true
	} else if !errors.Is(err, lokerwatch.ErrNotFound) {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	if err := st.PutUser(ctx, u); err != nil {
		return fmt.Errorf("add user %s: %w", name, err)
	}
	if existed {
		// A new password (or role) ends what the old one opened.
		if _, err := EndSessions(ctx, st, name); err != nil {
			return fmt.Errorf("add user %s: saved, but %w", name, err)
		}
	}
	return nil
}

// tokenPrefix marks API tokens so that they are recognisable in logs and
// secret scanners.
const tokenPrefix = "lwt_"

// DefaultTokenTTL is how long an API token lives unless told otherwise
// (config review.token_ttl).
const DefaultTokenTTL = 90 * 24 * time.Hour

// NewToken creates an API token for scripts that lives DefaultTokenTTL.
func NewToken(ctx context.Context, st Store, name string) (string, error) {
	tok, _, err := NewTokenTTL(ctx, st, name, DefaultTokenTTL)
	return tok, err
}

// NewTokenTTL creates an API token for scripts, used as
// "Authorization: Bearer <token>", that expires after ttl (at most ten
// years). Only a hash of it is stored; the token is shown once. The
// session returned names it: TokenID(sess) is what `user token revoke`
// takes.
func NewTokenTTL(ctx context.Context, st Store, name string, ttl time.Duration) (string, *storage.Session, error) {
	if ttl <= 0 || ttl > 10*365*24*time.Hour {
		return "", nil, fmt.Errorf("new token for %s: lifetime %v out of range (want more than 0, at most 10 years)", name, ttl)
	}
	u, err := st.GetUser(ctx, name)
	if err != nil {
		return "", nil, fmt.Errorf("new token: %w", err) // the store names the user
	}
	if u.Disabled {
		return "", nil, fmt.Errorf("new token for %s: user is disabled", name)
	}
	secret, err := randomString(32)
	if err != nil {
		return "", nil, fmt.Errorf("new token for %s: %w", name, err)
	}
	tok := tokenPrefix + secret
	now := time.Now().UTC()
	sess := &storage.Session{ID: secretID(tok), User: name, CreatedAt: now, Expires: now.Add(ttl), Token: true}
	if err := st.PutSession(ctx, sess); err != nil {
		return "", nil, fmt.Errorf("new token for %s: %w", name, err)
	}
	return tok, sess, nil
}

// TokenID is the public name of an API token: the start of the hash it is
// stored under. It identifies the token without granting anything.
func TokenID(sess *storage.Session) string { return sess.ID[:min(len(sess.ID), 12)] }

// Tokens lists a user's live API tokens.
func Tokens(ctx context.Context, st Store, name string) ([]storage.Session, error) {
	all, err := st.ListSessions(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("tokens of %s: %w", name, err)
	}
	var out []storage.Session
	for _, s := range all {
		if s.Token {
			out = append(out, s)
		}
	}
	return out, nil
}

// RevokeToken ends one API token of user name, given as the token itself
// or as its TokenID (or a longer prefix of its hash).
func RevokeToken(ctx context.Context, st Store, name, which string) (*storage.Session, error) {
	id := strings.ToLower(strings.TrimSpace(which))
	if strings.HasPrefix(which, tokenPrefix) {
		id = secretID(strings.TrimSpace(which))
	}
	if len(id) < 12 {
		return nil, fmt.Errorf("revoke token of %s: %w: give the token or its ID (12 or more hex digits)", name, errBadInput)
	}
	toks, err := Tokens(ctx, st, name)
	if err != nil {
		return nil, err
	}
	var hit []storage.Session
	for _, t := range toks {
		if strings.HasPrefix(t.ID, id) {
			hit = append(hit, t)
		}
	}
	switch len(hit) {
	case 0:
		return nil, fmt.Errorf("revoke token %s of %s: %w", which[:min(len(which), 12)], name, lokerwatch.ErrNotFound)
	case 1:
	default:
		return nil, fmt.Errorf("revoke token %s of %s: %w: the ID names %d tokens; give more of it", id, name, errBadInput, len(hit))
	}
	if err := st.DeleteSession(ctx, hit[0].ID); err != nil {
		return nil, fmt.Errorf("revoke token %s of %s: %w", TokenID(&hit[0]), name, err)
	}
	return &hit[0], nil
}

// EndSessions ends every session and API token of a user: after a
// password change, a role change or disabling, nothing issued before
// works (and enabling the account again revives nothing).
func EndSessions(ctx context.Context, st Store, name string) (int, error) {
	all, err := st.ListSessions(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("end sessions of %s: %w", name, err)
	}
	n := 0
	for _, s := range all {
		if err := st.DeleteSession(ctx, s.ID); err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
			return n, fmt.Errorf("end sessions of %s: %w", name, err)
		}
		n++
	}
	return n, nil
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

// throttle slows down password guessing per (user name, client address)
// pair: after a few failures of one pair, each further attempt of that
// pair must wait a delay that doubles with each failure (backoff, capped),
// while other pairs go on. So an attacker cannot lock out a user who has
// the right password from another address, nor everyone behind one proxy
// address by trying made-up names. It lives in the process; each replica
// of the server keeps its own.
type throttle struct {
	mu      sync.Mutex
	entries map[string]*throttleEntry
	free    int           // failures allowed before backing off
	base    time.Duration // first delay
	max     time.Duration // longest delay
	forget  time.Duration // failures older than this are forgotten
	limit   int           // entries kept before stale ones are pruned
}

type throttleEntry struct {
	fails int
	last  time.Time
	until time.Time
}

func newThrottle() *throttle {
	return &throttle{entries: map[string]*throttleEntry{}, free: 5, base: time.Second, max: 15 * time.Minute,
		forget: time.Hour, limit: 100_000}
}

// pairKey is the throttle key of one user name tried from one address:
// a hash, so that a 60 KB name costs the table 32 bytes like any other.
func pairKey(name, addr string) string {
	h := sha256.Sum256([]byte(strings.ToLower(name) + "\x00" + addr))
	return string(h[:])
}

// begin checks key and, when it may go ahead, counts the attempt as a
// failure at once, in one step under the lock: concurrent attempts cannot
// all pass the check before any of them is counted. ok forgets the count
// when the password was right. It returns how long to wait (0: go ahead).
func (t *throttle) begin(now time.Time, key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e != nil && e.until.After(now) {
		return e.until.Sub(now)
	}
	if e == nil || now.Sub(e.last) > t.forget {
		if len(t.entries) >= t.limit {
			t.prune(now)
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	e.fails++
	e.last = now
	if e.fails >= t.free {
		e.until = now.Add(min(t.base<<min(e.fails-t.free, 20), t.max))
	}
	return 0
}

// undo takes back the failure begin counted, for an attempt that was
// never checked (server busy, store error).
func (t *throttle) undo(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil && e.fails > 0 {
		e.fails--
	}
}

// wait returns how long key is still held back at now (0: go ahead).
func (t *throttle) wait(now time.Time, key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil && e.until.After(now) {
		return e.until.Sub(now)
	}
	return 0
}

// ok forgets the failures of key after a successful login.
func (t *throttle) ok(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// prune drops entries that are neither recent nor holding back; when that
// is not enough (a flood of fresh pairs), the oldest half goes, so memory
// stays bounded.
func (t *throttle) prune(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.last) > t.forget && !e.until.After(now) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < t.limit {
		return
	}
	lasts := make([]time.Time, 0, len(t.entries))
	for _, e := range t.entries {
		lasts = append(lasts, e.last)
	}
	slices.SortFunc(lasts, func(a, b time.Time) int { return a.Compare(b) })
	cut := lasts[len(lasts)/2]
	for k, e := range t.entries {
		if e.last.Before(cut) {
			delete(t.entries, k)
		}
	}
}
