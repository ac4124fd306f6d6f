package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

const alertCols = `key, channel, item_id, payload, state, attempts, not_before, token, last_error, created_at, sent_at`

func scanAlert(row scanner) (*storage.Alert, error) {
	var a storage.Alert
	var state string
	var nb, created, sent int64
	if err := row.Scan(&a.Key, &a.Channel, &a.ItemID, &a.Payload, &state, &a.Attempts, &nb, &a.Token,
		&a.LastError, &created, &sent); err != nil {
		return nil, err
	}
	a.State = storage.AlertState(state)
	a.NotBefore, a.CreatedAt, a.SentAt = tm(nb), tm(created), tm(sent)
	return &a, nil
}

// AddAlerts inserts the alerts not in the outbox yet.
func (s *Store) AddAlerts(ctx context.Context, alerts []storage.Alert) ([]string, error) {
	var added []string
	err := s.write(ctx, "add alerts", func(tx *txn) error {
		added = added[:0]
		now := ns(s.now())
		for _, a := range alerts {
			if a.Key == "" {
				return fmt.Errorf("alert for item %q has no key", a.ItemID)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO alerts (key, channel, item_id, payload, not_before, created_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, a.Key, a.Channel, a.ItemID, a.Payload, now, now)
			if err != nil {
				return fmt.Errorf("alert %s: %w", a.Key, err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				added = append(added, a.Key)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// DueAlerts lists pending alerts whose time has come.
func (s *Store) DueAlerts(ctx context.Context, limit int) ([]string, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM alerts WHERE state = 'pending' AND not_before <= ?
		ORDER BY not_before, key LIMIT ?`, ns(s.now()), limit)
	if err != nil {
		return nil, fmt.Errorf("due alerts: %w", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("due alerts: %w", err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due alerts: %w", err)
	}
	return keys, nil
}

// ClaimAlert holds a pending, due alert for ttl.
func (s *Store) ClaimAlert(ctx context.Context, key string, ttl time.Duration) (*storage.Alert, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("claim alert %s: lease must be positive, got %v", key, ttl)
	}
	var a *storage.Alert
	err := s.write(ctx, "claim alert "+key, func(tx *txn) error {
		now := s.now()
		var err error
		a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return lokerwatch.ErrNotFound
		}
		if err != nil {
			return err
		}
		if a.State != storage.AlertPending || a.NotBefore.After(now) {
			return lokerwatch.ErrEmpty
		}
		a.Token = newToken()
		a.NotBefore = now.Add(ttl)
		_, err = tx.ExecContext(ctx, `UPDATE alerts SET token = ?, not_before = ? WHERE key = ?`, a.Token, ns(a.NotBefore), key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// endAlert changes a claimed alert if a.Token still holds it.
func (s *Store) endAlert(ctx context.Context, what string, a *storage.Alert, q string, args ...any) error {
	return s.write(ctx, what+" "+a.Key, func(tx *txn) error {
		var state, token string
		err := tx.QueryRowContext(ctx, `SELECT state, token FROM alerts WHERE key = ?`, a.Key).Scan(&state, &token)
		if errors.Is(err, sql.ErrNoRows) {
			return lokerwatch.ErrNotFound
		}
		if err != nil {
			return err
		}
		if a.Token == "" || token != a.Token || state != string(storage.AlertPending) {
			return lokerwatch.ErrLeaseLost
		}
		_, err = tx.ExecContext(ctx, q, append(args, a.Key)...)
		return err
	})
}

// AlertSent marks the alert delivered.
func (s *Store) AlertSent(ctx context.Context, a *storage.Alert) error {
	return s.endAlert(ctx, "alert sent", a, `UPDATE alerts SET state = 'sent', token = '', sent_at = ?, last_error = '' WHERE key = ?`, ns(s.now()))
}

// RetryAlert puts the alert back, due after delay.
func (s *Store) RetryAlert(ctx context.Context, a *storage.Alert, delay time.Duration, reason string) error {
	return s.endAlert(ctx, "retry alert", a, `UPDATE alerts SET token = '', attempts = attempts + 1, not_before = ?, last_error = ? WHERE key = ?`,
		ns(s.now().Add(max(delay, 0))), reason)
}

// AlertDead gives the alert up.
func (s *Store) AlertDead(ctx context.Context, a *storage.Alert, reason string) error {
	return s.endAlert(ctx, "give up alert", a, `UPDATE alerts SET state = 'dead', token = '', attempts = attempts + 1, last_error = ? WHERE key = ?`, reason)
}

// GetAlert reads one alert.
func (s *Store) GetAlert(ctx context.Context, key string) (*storage.Alert, error) {
	a, err := scanAlert(s.r.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get alert %s: %w", key, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get alert %s: %w", key, err)
	}
	a.Token = ""
	return a, nil
}

// AlertStats counts alerts by state.
func (s *Store) AlertStats(ctx context.Context) (storage.AlertStats, error) {
	var st storage.AlertStats
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM alerts GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("alert stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return st, fmt.Errorf("alert stats: %w", err)
		}
		switch storage.AlertState(state) {
		case storage.AlertPending:
			st.Pending = n
		case storage.AlertSent:
			st.Sent = n
		case storage.AlertDead:
			st.Dead = n
		}
	}
	return st, rows.Err()
}
