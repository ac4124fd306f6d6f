package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// An item whose lease has lapsed is stored as 'claimed' until something
// touches it, but is pending in every answer (see statusArms).

const itemCols = `id, ad_id, url, title, source, lang, score, category, status, created_at,
	claimant, lease_until, verdict, reviewer, decided_at, note`

type scanner interface{ Scan(dest ...any) error }

func scanItem(row scanner, now time.Time) (*lokerwatch.ReviewItem, error) {
	var it lokerwatch.ReviewItem
	var created, lease, decided int64
	if err := row.Scan(&it.ID, &it.AdID, &it.URL, &it.Title, &it.Source, &it.Lang, &it.Score, &it.Category, &it.Status,
		&created, &it.Claimant, &lease, &it.Verdict, &it.Reviewer, &decided, &it.Note); err != nil {
		return nil, err
	}
	it.CreatedAt, it.LeaseUntil, it.DecidedAt = tm(created), tm(lease), tm(decided)
	if it.Status == lokerwatch.StatusClaimed && lease < ns(now) {
		it.Status, it.Claimant, it.LeaseUntil = lokerwatch.StatusPending, "", time.Time{}
	}
	return &it, nil
}

func (s *Store) audit(ctx context.Context, tx *txn, ev lokerwatch.AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = s.now()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (time, actor, action, object, remote, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		ns(ev.Time), ev.Actor, ev.Action, ev.Object, ev.Remote, ev.Detail)
	return err
}

// loadItem reads an item inside a write transaction, raw (a lapsed claim
// still shows as claimed so that callers can log its expiry).
func loadItem(ctx context.Context, tx *txn, id string) (*lokerwatch.ReviewItem, error) {
	it, err := scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE id = ?`, id), time.Time{})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lokerwatch.ErrNotFound
	}
	return it, err
}

// expire logs and clears a lapsed claim.
func (s *Store) expire(ctx context.Context, tx *txn, it *lokerwatch.ReviewItem, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET status = 'pending', claimant = '', lease_until = 0 WHERE id = ?`, it.ID); err != nil {
		return err
	}
	if err := s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: "system", Action: "review.expire", Object: it.ID,
		Detail: "claimant=" + it.Claimant}); err != nil {
		return err
	}
	it.Status, it.Claimant, it.LeaseUntil = lokerwatch.StatusPending, "", time.Time{}
	return nil
}

// lapsed reports whether it is claimed with a lease that ran out.
func lapsed(it *lokerwatch.ReviewItem, now time.Time) bool {
	return it.Status == lokerwatch.StatusClaimed && it.LeaseUntil.Before(now)
}

// SerialWrites reports that the store makes its changes one at a time (one
// writer connection), so callers may queue writers fairly themselves; the
// review desk does.
func (s *Store) SerialWrites() bool { return true }

// Enqueue adds the ad's review item once.
func (s *Store) Enqueue(ctx context.Context, ad *lokerwatch.Ad) (*lokerwatch.ReviewItem, bool, error) {
	if ad == nil || ad.ID == "" {
		return nil, false, errors.New("enqueue: missing ad ID")
	}
	score, cat := 0, lokerwatch.CategoryNone
	if ad.Assessment != nil {
		score, cat = ad.Assessment.Score, ad.Assessment.Category
	}
	var it *lokerwatch.ReviewItem
	created := false
	err := s.write(ctx, "enqueue ad "+ad.ID, func(tx *txn) error {
		created = false
		now := s.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO review_items (id, ad_id, url, title, source, lang, score, category, status, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING`,
			ad.ID, ad.ID, ad.URL, ad.Title, ad.Source, ad.Lang, score, cat, ns(now))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			created = true
			if err := s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: "system", Action: "review.enqueue",
				Object: ad.ID, Detail: fmt.Sprintf("score=%d category=%s", score, cat)}); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE review_items SET score = ?, category = ?
			WHERE ad_id = ? AND status != 'decided'`, score, cat, ad.ID); err != nil {
			return err
		}
		it, err = scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE ad_id = ?`, ad.ID), now)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return it, created, nil
}

// filterWhere is the condition of f's selection other than its status,
// as " AND ..." terms.
func filterWhere(f storage.ReviewFilter) (string, []any) {
	var b strings.Builder
	var args []any
	if f.Category != "" {
		b.WriteString(" AND category = ?")
		args = append(args, string(f.Category))
	}
	if f.Source != "" {
		b.WriteString(" AND source = ?")
		args = append(args, f.Source)
	}
	if f.Lang != "" {
		b.WriteString(" AND lang = ?")
		args = append(args, f.Lang)
	}
	if !f.Since.IsZero() {
		b.WriteString(" AND created_at >= ?")
		args = append(args, ns(f.Since))
	}
	if !f.Until.IsZero() {
		b.WriteString(" AND created_at < ?")
		args = append(args, ns(f.Until))
	}
	return b.String(), args
}

// statusArm is one part of a status selection that the review_prio index
// (status, score DESC, created_at, id) reads in priority order.
type statusArm struct {
	cond string
	args []any
}

// statusArms splits an effective status into index-ordered parts. A lapsed
// claim is stored as claimed but is pending in every answer; written as one
// "pending OR lapsed" condition, SQLite would read and sort every pending
// item for each page, so the two are read apart and merged (UNION ALL with
// ORDER BY merges sorted inputs and stops at the LIMIT).
func statusArms(st lokerwatch.ReviewStatus, now int64) []statusArm {
	switch st {
	case lokerwatch.StatusPending:
		return []statusArm{{cond: "status = 'pending'"}, {cond: "status = 'claimed' AND lease_until < ?", args: []any{now}}}
	case lokerwatch.StatusClaimed:
		return []statusArm{{cond: "status = 'claimed' AND lease_until >= ?", args: []any{now}}}
	case "":
		return []statusArm{{cond: "status = 'pending'"}, {cond: "status = 'claimed'"}, {cond: "status = 'decided'"}}
	}
	return []statusArm{{cond: "status = ?", args: []any{string(st)}}}
}

// listQuery selects itemCols matching f in priority order, paged.
func listQuery(f storage.ReviewFilter, now int64) (string, []any) {
	fw, fargs := filterWhere(f)
	var b strings.Builder
	var args []any
	for i, a := range statusArms(f.Status, now) {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT " + itemCols + " FROM review_items WHERE " + a.cond + fw)
		args = append(append(args, a.args...), fargs...)
	}
	b.WriteString(priorityOrder)
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = -1
		}
		b.WriteString(" LIMIT ? OFFSET ?")
		args = append(args, limit, max(f.Offset, 0))
	}
	return b.String(), args
}

const priorityOrder = ` ORDER BY score DESC, created_at, id`

func (s *Store) claim(ctx context.Context, tx *txn, it *lokerwatch.ReviewItem, reviewer string, now time.Time, ttl time.Duration) error {
	if lapsed(it, now) {
		if err := s.expire(ctx, tx, it, now); err != nil {
			return err
		}
	}
	until := now.Add(ttl)
	if _, err := tx.ExecContext(ctx, `UPDATE review_items SET status = 'claimed', claimant = ?, lease_until = ? WHERE id = ?`,
		reviewer, ns(until), it.ID); err != nil {
		return err
	}
	it.Status, it.Claimant, it.LeaseUntil = lokerwatch.StatusClaimed, reviewer, until
	return s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: reviewer, Action: "review.claim", Object: it.ID,
		Detail: "lease=" + ttl.String()})
}

// ClaimNext claims the highest-priority pending item matching f.
func (s *Store) ClaimNext(ctx context.Context, reviewer string, ttl time.Duration, f storage.ReviewFilter) (*lokerwatch.ReviewItem, error) {
	if reviewer == "" {
		return nil, errors.New("claim next review item: missing reviewer")
	}
	var it *lokerwatch.ReviewItem
	err := s.write(ctx, "claim next review item for "+reviewer, func(tx *txn) error {
		it = nil
		now := s.now()
		// Lapsed claims go back first (and are logged), so the pick below
		// reads the priority index of pending items only.
		if _, err := s.reapClaims(ctx, tx, now); err != nil {
			return err
		}
		fw, args := filterWhere(f)
		var err error
		it, err = scanItem(tx.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE status = 'pending'`+fw+priorityOrder+` LIMIT 1`, args...), time.Time{})
		if errors.Is(err, sql.ErrNoRows) {
			it = nil
			return nil
		}
		if err != nil {
			return err
		}
		return s.claim(ctx, tx, it, reviewer, now, ttl)
	})
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, lokerwatch.ErrEmpty
	}
	return it, nil
}

// ClaimItem claims one item by ID.
func (s *Store) ClaimItem(ctx context.Context, id, reviewer string, ttl time.Duration) (*lokerwatch.ReviewItem, error) {
	if reviewer == "" {
		return nil, fmt.Errorf("claim review item %s: missing reviewer", id)
	}
	var it *lokerwatch.ReviewItem
	err := s.write(ctx, "claim review item "+id, func(tx *txn) error {
		now := s.now()
		var err error
		if it, err = loadItem(ctx, tx, id); err != nil {
			return err
		}
		switch {
		case it.Status == lokerwatch.StatusDecided:
			return lokerwatch.ErrAlreadyDecided
		case it.Status == lokerwatch.StatusClaimed && it.Claimant != reviewer && !lapsed(it, now):
			return fmt.Errorf("held by %s: %w", it.Claimant, lokerwatch.ErrNotClaimant)
		}
		return s.claim(ctx, tx, it, reviewer, now, ttl)
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// held loads an item and checks that reviewer holds a live claim on it.
func held(ctx context.Context, tx *txn, id, reviewer string, now time.Time) (*lokerwatch.ReviewItem, error) {
	it, err := loadItem(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if it.Status != lokerwatch.StatusClaimed || it.Claimant != reviewer || lapsed(it, now) {
		return nil, lokerwatch.ErrNotClaimant
	}
	return it, nil
}

// RenewItem extends reviewer's lease on id.
func (s *Store) RenewItem(ctx context.Context, id, reviewer string, ttl time.Duration) error {
	return s.write(ctx, "renew review item "+id, func(tx *txn) error {
		now := s.now()
		if _, err := held(ctx, tx, id, reviewer, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE review_items SET lease_until = ? WHERE id = ?`, ns(now.Add(ttl)), id); err != nil {
			return err
		}
		return s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: reviewer, Action: "review.renew", Object: id,
			Detail: "lease=" + ttl.String()})
	})
}

// ReleaseItem puts a claimed item back in the queue at its priority.
func (s *Store) ReleaseItem(ctx context.Context, id, reviewer string) error {
	return s.write(ctx, "release review item "+id, func(tx *txn) error {
		now := s.now()
		if _, err := held(ctx, tx, id, reviewer, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE review_items SET status = 'pending', claimant = '', lease_until = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: reviewer, Action: "review.release", Object: id})
	})
}

// Decide records a decision; see storage.ReviewQueue.
func (s *Store) Decide(ctx context.Context, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error) {
	if _, err := lokerwatch.ParseVerdict(string(d.Verdict)); err != nil {
		return nil, fmt.Errorf("decide review item %s: %w", d.ItemID, err)
	}
	if d.Reviewer == "" {
		return nil, fmt.Errorf("decide review item %s: missing reviewer", d.ItemID)
	}
	var it *lokerwatch.ReviewItem
	err := s.write(ctx, "decide review item "+d.ItemID, func(tx *txn) error {
		now := s.now()
		var err error
		if it, err = loadItem(ctx, tx, d.ItemID); err != nil {
			return err
		}
		amend := it.Status == lokerwatch.StatusDecided
		switch {
		case amend && !d.Amend:
			return lokerwatch.ErrAlreadyDecided
		case it.Status == lokerwatch.StatusClaimed && it.Claimant != d.Reviewer && !lapsed(it, now):
			return fmt.Errorf("held by %s: %w", it.Claimant, lokerwatch.ErrNotClaimant)
		case lapsed(it, now):
			if err := s.expire(ctx, tx, it, now); err != nil {
				return err
			}
		}
		status := lokerwatch.StatusDecided
		if d.Verdict == lokerwatch.VerdictEscalate {
			status = lokerwatch.StatusPending
		}
		// DecidedAt is the store's clock: the record of when, not the client's word.
		d.DecidedAt, d.AdID, d.Amend = now, it.AdID, amend
		if _, err := tx.ExecContext(ctx, `UPDATE review_items SET status = ?, claimant = '', lease_until = 0,
			verdict = ?, reviewer = ?, decided_at = ?, note = ? WHERE id = ?`,
			string(status), string(d.Verdict), d.Reviewer, ns(now), d.Note, it.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO decisions (item_id, ad_id, verdict, reviewer, note, decided_at, amend, remote)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, it.ID, it.AdID, string(d.Verdict), d.Reviewer, d.Note, ns(now), amend, d.Remote); err != nil {
			return err
		}
		action, detail := "review.decide", "verdict="+string(d.Verdict)
		if amend {
			action, detail = "review.amend", fmt.Sprintf("verdict=%s previous=%s", d.Verdict, it.Verdict)
		}
		if err := s.audit(ctx, tx, lokerwatch.AuditEvent{Time: now, Actor: d.Reviewer, Action: action, Object: it.ID,
			Remote: d.Remote, Detail: detail}); err != nil {
			return err
		}
		it.Status, it.Claimant, it.LeaseUntil = status, "", time.Time{}
		it.Verdict, it.Reviewer, it.DecidedAt, it.Note = d.Verdict, d.Reviewer, now, d.Note
		return nil
	})
	if err != nil {
		return nil, err
	}
	return it, nil
}

// GetItem returns an item by ID.
func (s *Store) GetItem(ctx context.Context, id string) (*lokerwatch.ReviewItem, error) {
	it, err := scanItem(s.r.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE id = ?`, id), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("review item %s: %w", id, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get review item %s: %w", id, err)
	}
	return it, nil
}

// ItemForAd returns the review item of an ad.
func (s *Store) ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error) {
	it, err := scanItem(s.r.QueryRowContext(ctx, `SELECT `+itemCols+` FROM review_items WHERE ad_id = ?`, adID), s.now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("review item for ad %s: %w", adID, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("review item for ad %s: %w", adID, err)
	}
	return it, nil
}

// readStmt returns q prepared on the read pool, kept with the writer's
// statements (under a key of its own) so that Close closes it too. The
// queue page runs the same few queries all day, and parsing them cost as
// much as running them. It must not be called while a transaction holds
// the connection of an in-memory store (one connection for everything).
func (s *Store) readStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	key := "read\x00" + q
	s.mu.Lock()
	st := s.stmts[key]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := s.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	if old, dup := s.stmts[key]; dup {
		st.Close()
		return old, nil
	}
	s.stmts[key] = st
	return st, nil
}

// ListItems returns items by priority (score desc, then oldest first).
func (s *Store) ListItems(ctx context.Context, f storage.ReviewFilter) ([]lokerwatch.ReviewItem, error) {
	now := s.now()
	q, args := listQuery(f, ns(now))
	st, err := s.readStmt(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	defer rows.Close()
	var out []lokerwatch.ReviewItem
	for rows.Next() {
		it, err := scanItem(rows, now)
		if err != nil {
			return nil, fmt.Errorf("list review items: %w", err)
		}
		out = append(out, *it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list review items: %w", err)
	}
	return out, nil
}

// CountItems counts items by effective status: stored statuses from the
// review_prio index, then lapsed claims (review_lease) moved to pending.
func (s *Store) CountItems(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error) {
	out := map[lokerwatch.ReviewStatus]int64{
		lokerwatch.StatusPending: 0, lokerwatch.StatusClaimed: 0, lokerwatch.StatusDecided: 0,
	}
	byStatus, err := s.readStmt(ctx, `SELECT status, COUNT(*) FROM review_items GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	lapsedQ, err := s.readStmt(ctx, `SELECT COUNT(*) FROM review_items WHERE status = 'claimed' AND lease_until < ?`)
	if err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	// One read transaction, so the lapsed count matches the status counts.
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.StmtContext(ctx, byStatus).QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count review items: %w", err)
		}
		out[lokerwatch.ReviewStatus(st)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	var lapsedN int64
	if err := tx.StmtContext(ctx, lapsedQ).QueryRowContext(ctx, ns(s.now())).Scan(&lapsedN); err != nil {
		return nil, fmt.Errorf("count review items: %w", err)
	}
	out[lokerwatch.StatusPending] += lapsedN
	out[lokerwatch.StatusClaimed] -= lapsedN
	return out, nil
}

// Decisions returns an item's decision history, oldest first.
func (s *Store) Decisions(ctx context.Context, itemID string) ([]lokerwatch.Decision, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT item_id, ad_id, verdict, reviewer, note, decided_at, amend, remote
		FROM decisions WHERE item_id = ? ORDER BY id`, itemID)
	if err != nil {
		return nil, fmt.Errorf("decisions of %s: %w", itemID, err)
	}
	defer rows.Close()
	var out []lokerwatch.Decision
	for rows.Next() {
		var d lokerwatch.Decision
		var at int64
		if err := rows.Scan(&d.ItemID, &d.AdID, &d.Verdict, &d.Reviewer, &d.Note, &at, &d.Amend, &d.Remote); err != nil {
			return nil, fmt.Errorf("decisions of %s: %w", itemID, err)
		}
		d.DecidedAt = tm(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("decisions of %s: %w", itemID, err)
	}
	return out, nil
}

// ReapClaims returns items with expired leases to the queue.
func (s *Store) ReapClaims(ctx context.Context) (int, error) {
	n := 0
	err := s.write(ctx, "reap review claims", func(tx *txn) error {
		var err error
		n, err = s.reapClaims(ctx, tx, s.now())
		return err
	})
	return n, err
}

func (s *Store) reapClaims(ctx context.Context, tx *txn, now time.Time) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+itemCols+` FROM review_items
		WHERE status = 'claimed' AND lease_until < ?`, ns(now))
	if err != nil {
		return 0, err
	}
	var items []*lokerwatch.ReviewItem
	for rows.Next() {
		it, err := scanItem(rows, time.Time{})
		if err != nil {
			rows.Close()
			return 0, err
		}
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, it := range items {
		if err := s.expire(ctx, tx, it, now); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// OldestPending returns when the oldest pending item was queued (zero when
// none is pending); the metrics collector reports its age.
func (s *Store) OldestPending(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(m) FROM (
		SELECT MIN(created_at) AS m FROM review_items WHERE status = 'pending'
		UNION ALL SELECT MIN(created_at) FROM review_items WHERE status = 'claimed' AND lease_until < ?)`, ns(s.now())).Scan(&v)
	if err != nil {
		return time.Time{}, fmt.Errorf("oldest pending review item: %w", err)
	}
	return tm(v.Int64), nil
}
