package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// GetRobots returns a cached robots.txt that has not expired.
func (s *Store) GetRobots(ctx context.Context, key string) ([]byte, int, bool, error) {
	var body []byte
	var status int
	err := s.r.QueryRowContext(ctx, `SELECT body, status FROM robots WHERE key = ? AND expires > ?`, key, ns(s.now())).
		Scan(&body, &status)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("get robots %s: %w", key, err)
	}
	return body, status, true, nil
}

// PutRobots caches a robots.txt for ttl.
func (s *Store) PutRobots(ctx context.Context, key string, body []byte, status int, ttl time.Duration) error {
	return s.write(ctx, "put robots "+key, func(tx *txn) error {
		now := s.now()
		if body == nil {
			body = []byte{}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO robots (key, body, status, expires) VALUES (?, ?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET body = excluded.body, status = excluded.status, expires = excluded.expires`,
			key, body, status, ns(now.Add(ttl)))
		if err != nil {
			return err
		}
		// Housekeeping: entries expired for a day go.
		_, err = tx.ExecContext(ctx, `DELETE FROM robots WHERE expires < ?`, ns(now.Add(-24*time.Hour)))
		return err
	})
}

// AppendAudit appends one event; the store assigns its ID (and Time when zero).
func (s *Store) AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error {
	return s.write(ctx, "append audit "+ev.Action, func(tx *txn) error {
		return s.audit(ctx, tx, ev)
	})
}

// ListAudit returns matching events oldest first (append order), or
// newest first with f.Newest; rows are read one at a time up to f.Limit.
func (s *Store) ListAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error) {
	var where []string
	var args []any
	if f.Object != "" {
		where = append(where, "object = ?")
		args = append(args, f.Object)
	}
	if f.Actor != "" {
		where = append(where, "actor = ?")
		args = append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, ns(f.Since))
	}
	q := `SELECT id, time, actor, action, object, remote, detail FROM audit`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id"
	if f.Newest {
		q += " DESC"
	}
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []lokerwatch.AuditEvent
	for rows.Next() {
		var ev lokerwatch.AuditEvent
		var id, at int64
		if err := rows.Scan(&id, &at, &ev.Actor, &ev.Action, &ev.Object, &ev.Remote, &ev.Detail); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		ev.ID, ev.Time = strconv.FormatInt(id, 10), tm(at)
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// PutEvidence stores (or replaces) a capture and links it to its ads.
func (s *Store) PutEvidence(ctx context.Context, rec *storage.EvidenceRecord) error {
	if rec == nil || rec.ID == "" {
		return errors.New("put evidence: missing record ID")
	}
	return s.write(ctx, "put evidence "+rec.ID, func(tx *txn) error {
		warc := rec.WARC
		if warc == nil {
			warc = []byte{}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence (id, url, captured_at, digest, warc) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET url = excluded.url, captured_at = excluded.captured_at,
				digest = excluded.digest, warc = excluded.warc`,
			rec.ID, rec.URL, ns(rec.CapturedAt), rec.Digest, warc); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_ads WHERE evidence_id = ?`, rec.ID); err != nil {
			return err
		}
		for i, ad := range rec.AdIDs {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO evidence_ads (ad_id, evidence_id, pos) VALUES (?, ?, ?)`, ad, rec.ID, i); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) evidenceAds(ctx context.Context, id string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ad_id FROM evidence_ads WHERE evidence_id = ? ORDER BY pos`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var ad string
		if err := rows.Scan(&ad); err != nil {
			return nil, err
		}
		ids = append(ids, ad)
	}
	return ids, rows.Err()
}

// GetEvidence returns a capture by its record ID.
func (s *Store) GetEvidence(ctx context.Context, id string) (*storage.EvidenceRecord, error) {
	rec := storage.EvidenceRecord{ID: id}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT url, captured_at, digest, warc FROM evidence WHERE id = ?`, id).
		Scan(&rec.URL, &at, &rec.Digest, &rec.WARC)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get evidence %s: %w", id, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get evidence %s: %w", id, err)
	}
	rec.CapturedAt = tm(at)
	if rec.AdIDs, err = s.evidenceAds(ctx, id); err != nil {
		return nil, fmt.Errorf("get evidence %s: %w", id, err)
	}
	return &rec, nil
}

// EvidenceForAd returns the captures holding an ad, oldest first.
func (s *Store) EvidenceForAd(ctx context.Context, adID string) ([]storage.EvidenceRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT e.id FROM evidence_ads a JOIN evidence e ON e.id = a.evidence_id
		WHERE a.ad_id = ? ORDER BY e.captured_at, e.id`, adID)
	if err != nil {
		return nil, fmt.Errorf("evidence for ad %s: %w", adID, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("evidence for ad %s: %w", adID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("evidence for ad %s: %w", adID, err)
	}
	out := make([]storage.EvidenceRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := s.GetEvidence(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("evidence for ad %s: %w", adID, err)
		}
		out = append(out, *rec)
	}
	return out, nil
}

// DeleteEvidence removes a capture.
func (s *Store) DeleteEvidence(ctx context.Context, id string) error {
	return s.write(ctx, "delete evidence "+id, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_ads WHERE evidence_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM evidence WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return lokerwatch.ErrNotFound
		}
		return nil
	})
}

// PutUser creates or replaces a user.
func (s *Store) PutUser(ctx context.Context, u *storage.User) error {
	if u == nil || u.Name == "" {
		return errors.New("put user: missing name")
	}
	return s.write(ctx, "put user "+u.Name, func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (name, role, password_hash, created_at, disabled) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT(name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,
				created_at = excluded.created_at, disabled = excluded.disabled`,
			u.Name, string(u.Role), u.PasswordHash, ns(u.CreatedAt), u.Disabled)
		return err
	})
}

const userCols = `name, role, password_hash, created_at, disabled`

func scanUser(row scanner) (*storage.User, error) {
	var u storage.User
	var at int64
	if err := row.Scan(&u.Name, &u.Role, &u.PasswordHash, &at, &u.Disabled); err != nil {
		return nil, err
	}
	u.CreatedAt = tm(at)
	return &u, nil
}

// GetUser returns a user by name.
func (s *Store) GetUser(ctx context.Context, name string) (*storage.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get user %s: %w", name, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", name, err)
	}
	return u, nil
}

// ListUsers returns all users by name.
func (s *Store) ListUsers(ctx context.Context) ([]storage.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []storage.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, *u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// PutSession stores a session and drops expired ones.
func (s *Store) PutSession(ctx context.Context, ss *storage.Session) error {
	if ss == nil || ss.ID == "" {
		return errors.New("put session: missing ID")
	}
	return s.write(ctx, "put session", func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user, csrf, created_at, expires, token) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT(id) DO UPDATE SET user = excluded.user, csrf = excluded.csrf, created_at = excluded.created_at,
				expires = excluded.expires, token = excluded.token`,
			ss.ID, ss.User, ss.CSRF, ns(ss.CreatedAt), ns(ss.Expires), ss.Token); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires != 0 AND expires < ?`, ns(s.now()))
		return err
	})
}

// GetSession returns a live session; ErrNotFound when unknown or expired.
func (s *Store) GetSession(ctx context.Context, id string) (*storage.Session, error) {
	var ss storage.Session
	var created, expires int64
	err := s.r.QueryRowContext(ctx, `SELECT id, user, csrf, created_at, expires, token FROM sessions
		WHERE id = ? AND (expires = 0 OR expires > ?)`, id, ns(s.now())).
		Scan(&ss.ID, &ss.User, &ss.CSRF, &created, &expires, &ss.Token)
	if errors.Is(err, sql.ErrNoRows) {
		// The ID is a hash of a secret: never echo it into errors and logs.
		return nil, fmt.Errorf("get session: %w", lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	ss.CreatedAt, ss.Expires = tm(created), tm(expires)
	return &ss, nil
}

// DeleteSession removes a session (logout); unknown IDs are not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	return s.write(ctx, "delete session", func(tx *txn) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id)
		return err
	})
}

// ListSessions returns a user's live sessions and tokens, oldest first.
func (s *Store) ListSessions(ctx context.Context, user string) ([]storage.Session, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, user, csrf, created_at, expires, token FROM sessions
		WHERE user = ? AND (expires = 0 OR expires > ?) ORDER BY created_at, id`, user, ns(s.now()))
	if err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", user, err)
	}
	defer rows.Close()
	var out []storage.Session
	for rows.Next() {
		var ss storage.Session
		var created, expires int64
		if err := rows.Scan(&ss.ID, &ss.User, &ss.CSRF, &created, &expires, &ss.Token); err != nil {
			return nil, fmt.Errorf("list sessions of %s: %w", user, err)
		}
		ss.CreatedAt, ss.Expires = tm(created), tm(expires)
		out = append(out, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions of %s: %w", user, err)
	}
	return out, nil
}
