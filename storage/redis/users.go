package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// User keys: user:<name> (JSON with the password hash), users (SET of
// names), sess:<id> (JSON, expiring with the session via a Redis TTL).

type userRec struct {
	storage.User
	PasswordHash string `json:"password_hash"`
}

// PutUser creates or replaces an account.
func (s *Store) PutUser(ctx context.Context, u *storage.User) error {
	if u == nil || u.Name == "" {
		return errors.New("put user: no name")
	}
	data, err := json.Marshal(userRec{User: *u, PasswordHash: u.PasswordHash})
	if err != nil {
		return fmt.Errorf("put user %s: %w", u.Name, err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, s.k("user:", u.Name), data, 0)
		p.SAdd(ctx, s.k("users"), u.Name)
		return nil
	})
	return s.wrap("put user "+u.Name, err)
}

func decodeUser(raw []byte) (*storage.User, error) {
	var r userRec
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, err
	}
	u := r.User
	u.PasswordHash = r.PasswordHash
	return &u, nil
}

// GetUser returns one account.
func (s *Store) GetUser(ctx context.Context, name string) (*storage.User, error) {
	raw, err := s.rdb.Get(ctx, s.k("user:", name)).Bytes()
	if err != nil {
		return nil, s.wrap("get user "+name, err)
	}
	u, err := decodeUser(raw)
	if err != nil {
		return nil, fmt.Errorf("get user %s: stored record: %w", name, err)
	}
	return u, nil
}

// ListUsers returns all accounts by name.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	names, err := s.rdb.SMembers(ctx, s.k("users")).Result()
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	slices.Sort(names)
	out := make([]storage.User, 0, len(names))
	for _, n := range names {
		u, err := s.GetUser(ctx, n)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

// PutSession stores a session; Redis expires it at s.Expires.
func (s *Store) PutSession(ctx context.Context, sess *storage.Session) error {
	if sess == nil || sess.ID == "" {
		return errors.New("put session: no ID")
	}
	data, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	key := s.k("sess:", sess.ID)
	if sess.Expires.IsZero() {
		err = s.rdb.Set(ctx, key, data, 0).Err()
	} else if time.Until(sess.Expires) <= 0 {
		err = s.rdb.Del(ctx, key).Err() // already over
	} else {
		err = s.rdb.SetArgs(ctx, key, data, goredis.SetArgs{ExpireAt: sess.Expires}).Err()
	}
	return s.wrap("put session of "+sess.User, err)
}

// GetSession returns a live session; ErrNotFound when unknown or expired.
func (s *Store) GetSession(ctx context.Context, id string) (*storage.Session, error) {
	raw, err := s.rdb.Get(ctx, s.k("sess:", id)).Bytes()
	if err != nil {
		return nil, s.wrap("get session", err)
	}
	sess := new(storage.Session)
	if err := json.Unmarshal(raw, sess); err != nil {
		return nil, fmt.Errorf("get session: stored record: %w", err)
	}
	if !sess.Expires.IsZero() && !time.Now().Before(sess.Expires) {
		return nil, fmt.Errorf("get session: expired: %w", lokerwatch.ErrNotFound)
	}
	return sess, nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.wrap("delete session", s.rdb.Del(ctx, s.k("sess:", id)).Err())
}

// ListSessions returns a user's live sessions and tokens, oldest first.
// Sessions are keyed by the hash of their secret alone, so this scans the
// session keys: it runs on rare admin actions (token list and revoke,
// password change, disable), never per request.
func (s *Store) ListSessions(ctx context.Context, user string) ([]storage.Session, error) {
	var out []storage.Session
	iter := s.rdb.Scan(ctx, 0, s.k("sess:")+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, s.wrap("list sessions of "+user, err)
	}
	for len(keys) > 0 {
		n := min(len(keys), 500)
		vals, err := s.rdb.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return nil, s.wrap("list sessions of "+user, err)
		}
		keys = keys[n:]
		for _, v := range vals {
			raw, ok := v.(string)
			if !ok {
				continue // expired meanwhile
			}
			var sess storage.Session
			if err := json.Unmarshal([]byte(raw), &sess); err != nil {
				return nil, fmt.Errorf("list sessions of %s: stored record: %w", user, err)
			}
			if sess.User != user || (!sess.Expires.IsZero() && !time.Now().Before(sess.Expires)) {
				continue
			}
			out = append(out, sess)
		}
	}
	slices.SortFunc(out, func(a, b storage.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
