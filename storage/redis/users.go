package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
