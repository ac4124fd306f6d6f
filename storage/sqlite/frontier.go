package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Retry back-off: backoffBase doubled per failed attempt, capped.
const (
	backoffBase        = time.Second
	backoffMax         = 15 * time.Minute
	defaultMaxAttempts = 3
)

func backoff(attempts int) time.Duration {
	d := backoffBase
	for i := 1; i < attempts && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

const (
	addInsert = `INSERT INTO frontier
		(url, host, source, depth, kind, revisit, state, not_before, ready_at, queued_at)
		VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT(url) DO NOTHING`
	addRequeue = `UPDATE frontier SET
		source = ?, depth = ?, kind = ?, revisit = 1, state = 'queued', not_before = ?, ready_at = ?,
		queued_at = ?, attempts = 0, token = '', worker = '', lease_until = 0, reason = '', failed_at = 0
		WHERE url = ? AND state IN ('done', 'failed', 'dead')`
	addHost = `INSERT INTO hosts (host, next_ready) VALUES (?, ?)
		ON CONFLICT(host) DO UPDATE SET next_ready = CASE
			WHEN next_ready IS NULL OR excluded.next_ready < next_ready THEN excluded.next_ready
			ELSE next_ready END`
)

// Add queues the requests whose URL was not seen (or that are Revisit and
// not queued or in flight). A request without a usable URL is skipped and
// reported in the error; the others are still queued.
func (s *Store) Add(ctx context.Context, reqs ...storage.Request) (int, error) {
	if len(reqs) == 0 {
		return 0, nil
	}
	var bad []error
	queued := 0
	err := s.write(ctx, "add requests", func(tx *txn) error {
		queued, bad = 0, nil
		now := ns(s.now())
		// Each host's schedule is updated once, with its earliest new
		// ready time: a listing's links are mostly of one host.
		var hosts []string
		first := map[string]int64{}
		for i, r := range reqs {
			h, err := hostOf(r.URL)
			if err != nil {
				bad = append(bad, fmt.Errorf("request %d %q: %w", i, r.URL, err))
				continue
			}
			ready := max(now, ns(r.NotBefore))
			res, err := tx.ExecContext(ctx, addInsert, r.URL, h, r.Source, r.Depth, r.Kind, r.Revisit, ns(r.NotBefore), ready, now)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			if n == 0 && r.Revisit {
				res, err = tx.ExecContext(ctx, addRequeue, r.Source, r.Depth, r.Kind, ns(r.NotBefore), ready, now, r.URL)
				if err != nil {
					return err
				}
				n, _ = res.RowsAffected()
			}
			if n == 0 {
				continue
			}
			queued++
			if at, ok := first[h]; !ok || ready < at {
				if !ok {
					hosts = append(hosts, h)
				}
				first[h] = ready
			}
		}
		for _, h := range hosts {
			if _, err := tx.ExecContext(ctx, addHost, h, first[h]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if len(bad) > 0 {
		return queued, fmt.Errorf("add requests: %d skipped: %w", len(bad), errors.Join(bad...))
	}
	return queued, nil
}

// Seen reports whether url was ever added.
func (s *Store) Seen(ctx context.Context, url string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM frontier WHERE url = ?`, url).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("seen %s: %w", url, err)
	}
	return true, nil
}

// refreshHost recomputes a host's earliest queued request.
func refreshHost(ctx context.Context, tx *txn, host string) error {
	_, err := tx.ExecContext(ctx, `UPDATE hosts SET next_ready =
		(SELECT MIN(ready_at) FROM frontier WHERE host = ?1 AND state = 'queued') WHERE host = ?1`, host)
	return err
}

// freeHosts ends leases of hosts: busy drops by the count of each host
// (never below 0) and the host's next ready time is recomputed.
func freeHosts(ctx context.Context, tx *txn, hosts []string, ended map[string]int) error {
	for _, h := range hosts {
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET busy = MAX(busy - ?, 0) WHERE host = ?`, ended[h], h); err != nil {
			return err
		}
		if err := refreshHost(ctx, tx, h); err != nil {
			return err
		}
	}
	return nil
}

// reapRequests returns expired leases to the queue at their old place.
func (s *Store) reapRequests(ctx context.Context, tx *txn, now int64) (int, error) {
	dn, err := s.reapDead(ctx, tx, now)
	if err != nil {
		return 0, err
	}
	rows, err := tx.QueryContext(ctx, `UPDATE frontier SET state = 'queued', token = '', worker = '', lease_until = 0
		WHERE state = 'inflight' AND lease_until < ? RETURNING host`, now)
	if err != nil {
		return 0, err
	}
	var hosts []string
	ended := map[string]int{}
	n := 0
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return 0, err
		}
		if ended[h] == 0 {
			hosts = append(hosts, h)
		}
		ended[h]++
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	return n + dn, freeHosts(ctx, tx, hosts, ended)
}

// ClaimRequest leases the oldest ready request of a free host.
func (s *Store) ClaimRequest(ctx context.Context, worker string, ttl time.Duration) (*storage.Lease, error) {
	ls, err := s.ClaimRequests(ctx, worker, ttl, 1)
	if err != nil {
		return nil, err
	}
	return ls[0], nil
}

const claimTurn = `UPDATE frontier SET state = 'inflight', token = ?1 || '.' || rowid, worker = ?2, lease_until = ?3
	WHERE rowid IN (SELECT rowid FROM frontier WHERE host = ?4 AND state = 'queued' AND ready_at <= ?5
		ORDER BY ready_at, rowid LIMIT ?6)
	RETURNING ready_at, rowid, token, url, source, depth, kind, not_before, revisit, attempts, etag, last_modified`

// ClaimRequests gives the worker a turn at the free host whose first
// request has waited longest: up to n of its ready requests, oldest ready
// first, each with its own lease. The host's busy count is the number of
// leases of the turn; it is free again when the count is back to 0.
// n below 1 is taken as 1 and n above storage.MaxTurn as storage.MaxTurn.
func (s *Store) ClaimRequests(ctx context.Context, worker string, ttl time.Duration, n int) ([]*storage.Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("claim request: lease ttl %v must be positive", ttl)
	}
	n = storage.TurnLen(n)
	var out []*storage.Lease
	err := s.write(ctx, "claim request", func(tx *txn) error {
		out = out[:0]
		now := s.now()
		nowNS := ns(now)
		// Leases of dead workers would otherwise hold their hosts until the
		// next ReapRequests.
		if _, err := s.reapRequests(ctx, tx, nowNS); err != nil {
			return err
		}
		for {
			var host string
			err := tx.QueryRowContext(ctx, pickHost, nowNS).Scan(&host)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			until := now.Add(ttl)
			if out, err = claimTurnOf(ctx, tx, host, worker, newToken(), until, nowNS, n); err != nil {
				return err
			}
			if len(out) == 0 {
				// next_ready was stale; fix it and look again.
				if err := refreshHost(ctx, tx, host); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE hosts SET busy = ? WHERE host = ?`, len(out), host); err != nil {
				return err
			}
			return refreshHost(ctx, tx, host)
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, lokerwatch.ErrEmpty
	}
	return out, nil
}

// ContinueTurn lengthens the worker's turn at held.Host by up to n ready
// requests while held is still the worker's live lease and no other host
// is ready to be claimed.
func (s *Store) ContinueTurn(ctx context.Context, worker string, ttl time.Duration, held *storage.Lease, n int) ([]*storage.Lease, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("continue turn: lease ttl %v must be positive", ttl)
	}
	n = storage.TurnLen(n)
	var out []*storage.Lease
	lost := false
	err := s.write(ctx, "continue turn at "+held.Host, func(tx *txn) error {
		out, lost = out[:0], false
		now := s.now()
		nowNS := ns(now)
		if _, err := s.reapRequests(ctx, tx, nowNS); err != nil {
			return err
		}
		var host string
		err := tx.QueryRowContext(ctx, `SELECT host FROM frontier
			WHERE url = ? AND state = 'inflight' AND token = ? AND worker = ? AND lease_until >= ?`,
			held.URL, held.Token, worker, nowNS).Scan(&host)
		if errors.Is(err, sql.ErrNoRows) {
			lost = true
			return nil
		}
		if err != nil {
			return err
		}
		// A host waiting for a worker goes first; this worker will claim it
		// when its turn ends.
		var waiting int
		err = tx.QueryRowContext(ctx, hostWaiting, nowNS).Scan(&waiting)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if out, err = claimTurnOf(ctx, tx, host, worker, newToken(), now.Add(ttl), nowNS, n); err != nil || len(out) == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET busy = busy + ? WHERE host = ?`, len(out), host); err != nil {
			return err
		}
		return refreshHost(ctx, tx, host)
	})
	switch {
	case err != nil:
		return nil, err
	case lost:
		return nil, fmt.Errorf("continue turn at %s: %w: %w", held.Host, lokerwatch.ErrEmpty, lokerwatch.ErrLeaseLost)
	case len(out) == 0:
		return nil, lokerwatch.ErrEmpty
	}
	return out, nil
}

// A host is ready for a turn (?1: now) when no lease holds it, it has a
// request ready and it is not resting. ClaimRequests picks the one ready
// longest; ContinueTurn only asks whether any is waiting.
const (
	hostReady   = `busy = 0 AND next_ready IS NOT NULL AND next_ready <= ?1 AND rest_until <= ?1`
	pickHost    = `SELECT host FROM hosts WHERE ` + hostReady + ` ORDER BY next_ready LIMIT 1`
	hostWaiting = `SELECT 1 FROM hosts WHERE ` + hostReady + ` LIMIT 1`
)

// claimTurnOf leases up to n ready requests of host, oldest ready first.
func claimTurnOf(ctx context.Context, tx *txn, host, worker, base string, until time.Time, now int64, n int) ([]*storage.Lease, error) {
	rows, err := tx.QueryContext(ctx, claimTurn, base, worker, ns(until), host, now, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type claimed struct {
		ready, rowid int64
		l            *storage.Lease
	}
	var cs []claimed
	for rows.Next() {
		c := claimed{l: &storage.Lease{Host: host, Worker: worker, Until: until}}
		var notBefore int64
		if err := rows.Scan(&c.ready, &c.rowid, &c.l.Token, &c.l.URL, &c.l.Source, &c.l.Depth, &c.l.Kind, &notBefore,
			&c.l.Revisit, &c.l.Attempts, &c.l.ETag, &c.l.LastModified); err != nil {
			return nil, err
		}
		c.l.NotBefore = tm(notBefore)
		cs = append(cs, c)
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	// RETURNING gives the rows in the order they were updated, not in the
	// subquery's.
	slices.SortFunc(cs, func(a, b claimed) int {
		return cmp.Or(cmp.Compare(a.ready, b.ready), cmp.Compare(a.rowid, b.rowid))
	})
	out := make([]*storage.Lease, len(cs))
	for i, c := range cs {
		out[i] = c.l
	}
	return out, nil
}

// Extend renews leases and sets their Until; the lost ones are named in
// an error wrapping lokerwatch.ErrLeaseLost.
func (s *Store) Extend(ctx context.Context, ttl time.Duration, leases ...*storage.Lease) error {
	if len(leases) == 0 {
		return nil
	}
	until := s.now().Add(ttl)
	var lost []int
	err := s.write(ctx, "extend lease of "+leases[0].URL, func(tx *txn) error {
		lost = lost[:0]
		for i, l := range leases {
			res, err := tx.ExecContext(ctx, `UPDATE frontier SET lease_until = ?
				WHERE url = ? AND state = 'inflight' AND token = ?`, ns(until), l.URL, l.Token)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				lost = append(lost, i)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var urls []string
	for i, l := range leases {
		if len(lost) > 0 && lost[0] == i {
			lost = lost[1:]
			urls = append(urls, l.URL)
			continue
		}
		l.Until = until
	}
	if len(urls) > 0 {
		return fmt.Errorf("extend lease of %s: %w", strings.Join(urls, ", "), lokerwatch.ErrLeaseLost)
	}
	return nil
}

// Release gives leases back unworked: each request is queued again at its
// old ready time with its attempts unchanged, and its host's busy count
// drops without a rest. Leases no longer held are skipped.
func (s *Store) Release(ctx context.Context, leases ...*storage.Lease) error {
	if len(leases) == 0 {
		return nil
	}
	return s.write(ctx, fmt.Sprintf("release %d leases", len(leases)), func(tx *txn) error {
		var hosts []string
		ended := map[string]int{}
		for _, l := range leases {
			var host string
			err := tx.QueryRowContext(ctx, `UPDATE frontier SET state = 'queued', token = '', worker = '', lease_until = 0
				WHERE url = ? AND state = 'inflight' AND token = ? RETURNING host`, l.URL, l.Token).Scan(&host)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if ended[host] == 0 {
				hosts = append(hosts, host)
			}
			ended[host]++
		}
		return freeHosts(ctx, tx, hosts, ended)
	})
}

// endLease checks that l is still held, ends it on its host (one lease
// fewer busy) and rests the host for at least delay from now.
// The host comes from the row, not from the caller's copy of the lease.
func endLease(ctx context.Context, tx *txn, l *storage.Lease, now int64, delay time.Duration) (attempts int, host string, err error) {
	err = tx.QueryRowContext(ctx, `SELECT attempts, host FROM frontier WHERE url = ? AND state = 'inflight' AND token = ?`,
		l.URL, l.Token).Scan(&attempts, &host)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", lokerwatch.ErrLeaseLost
	}
	if err != nil {
		return 0, "", err
	}
	// MAX: within a turn a short rest asked by one ack must not cut a long
	// one asked by an earlier fail (a 429's Retry-After).
	_, err = tx.ExecContext(ctx, `UPDATE hosts SET busy = MAX(busy - 1, 0), rest_until = MAX(rest_until, ?) WHERE host = ?`,
		now+int64(max(delay, 0)), host)
	return attempts, host, err
}

// Ack marks the request done, keeps its validators and rests its host.
func (s *Store) Ack(ctx context.Context, l *storage.Lease, opt storage.AckOptions) error {
	return s.write(ctx, "ack "+l.URL, func(tx *txn) error { return s.ack(ctx, tx, l, opt) })
}

// ack is Ack inside a write transaction.
func (s *Store) ack(ctx context.Context, tx *txn, l *storage.Lease, opt storage.AckOptions) error {
	a := s.newAckBatch()
	if err := a.ack(ctx, tx, l, opt); err != nil {
		return err
	}
	return a.flush(ctx, tx)
}

// ackBatch acks leases in one transaction with one statement each, and
// ends them on their hosts once per host (busy count and rest) at flush:
// FinishPages acks a turn's pages, mostly of one host, together.
type ackBatch struct {
	now   int64
	hosts []string
	ended map[string]int
	rest  map[string]int64
}

func (s *Store) newAckBatch() *ackBatch {
	return &ackBatch{now: ns(s.now()), ended: map[string]int{}, rest: map[string]int64{}}
}

// A fetch that brought no validators (e.g. a 304 relayed without them)
// keeps the previous ones. The lease check is the WHERE clause.
const ackLease = `UPDATE frontier SET state = 'done', token = '', worker = '', lease_until = 0,
	etag = CASE WHEN ?1 = '' AND ?2 = '' THEN etag ELSE ?1 END,
	last_modified = CASE WHEN ?1 = '' AND ?2 = '' THEN last_modified ELSE ?2 END
	WHERE url = ?3 AND state = 'inflight' AND token = ?4 RETURNING host`

// ack marks l done (lokerwatch.ErrLeaseLost when it is not held); its host
// is ended at flush.
func (a *ackBatch) ack(ctx context.Context, tx *txn, l *storage.Lease, opt storage.AckOptions) error {
	var host string
	err := tx.QueryRowContext(ctx, ackLease, opt.ETag, opt.LastModified, l.URL, l.Token).Scan(&host)
	if errors.Is(err, sql.ErrNoRows) {
		return lokerwatch.ErrLeaseLost
	}
	if err != nil {
		return err
	}
	if a.ended[host] == 0 {
		a.hosts = append(a.hosts, host)
	}
	a.ended[host]++
	// MAX: within a turn a short rest asked by one ack must not cut a
	// long one asked by an earlier fail (a 429's Retry-After).
	a.rest[host] = max(a.rest[host], a.now+int64(max(opt.HostDelay, 0)))
	return nil
}

// flush ends the acked leases on their hosts.
func (a *ackBatch) flush(ctx context.Context, tx *txn) error {
	for _, h := range a.hosts {
		if _, err := tx.ExecContext(ctx, `UPDATE hosts SET busy = MAX(busy - ?, 0), rest_until = MAX(rest_until, ?) WHERE host = ?`,
			a.ended[h], a.rest[h], h); err != nil {
			return err
		}
	}
	return nil
}

// Fail requeues the request with back-off, or marks it dead or failed.
func (s *Store) Fail(ctx context.Context, l *storage.Lease, opt storage.FailOptions) error {
	return s.write(ctx, "fail "+l.URL, func(tx *txn) error {
		now := s.now()
		attempts, host, err := endLease(ctx, tx, l, ns(now), opt.HostDelay)
		if err != nil {
			return err
		}
		attempts++
		maxAttempts := opt.MaxAttempts
		if maxAttempts <= 0 {
			maxAttempts = defaultMaxAttempts
		}
		if opt.Retry && attempts < maxAttempts {
			ready := ns(now.Add(backoff(attempts)))
			if _, err := tx.ExecContext(ctx, `UPDATE frontier SET state = 'queued', token = '', worker = '', lease_until = 0,
				attempts = ?, reason = ?, not_before = ?, ready_at = ? WHERE url = ?`,
				attempts, opt.Reason, ready, ready, l.URL); err != nil {
				return err
			}
			return refreshHost(ctx, tx, host)
		}
		state := "failed"
		if opt.Retry {
			state = "dead"
		}
		_, err = tx.ExecContext(ctx, `UPDATE frontier SET state = ?, token = '', worker = '', lease_until = 0,
			attempts = ?, reason = ?, failed_at = ? WHERE url = ?`, state, attempts, opt.Reason, ns(now), l.URL)
		return err
	})
}

// ReapRequests returns expired leases to the queue and frees their hosts.
func (s *Store) ReapRequests(ctx context.Context) (int, error) {
	var n int
	err := s.write(ctx, "reap requests", func(tx *txn) error {
		var err error
		n, err = s.reapRequests(ctx, tx, ns(s.now()))
		return err
	})
	return n, err
}

// FrontierStats counts URLs by state.
func (s *Store) FrontierStats(ctx context.Context) (storage.FrontierStats, error) {
	var st storage.FrontierStats
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, fmt.Errorf("frontier stats: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT state, n FROM frontier_counts`)
	if err != nil {
		return st, fmt.Errorf("frontier stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return st, fmt.Errorf("frontier stats: %w", err)
		}
		switch state {
		case "queued":
			st.Queued = n
		case "inflight":
			st.InFlight = n
		case "done":
			st.Done = n
		case "failed":
			st.Failed = n
		case "dead":
			st.Dead = n
		}
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("frontier stats: %w", err)
	}
	var oldest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(queued_at) FROM frontier WHERE state = 'queued'`).Scan(&oldest); err != nil {
		return st, fmt.Errorf("frontier stats: %w", err)
	}
	st.OldestQueued = tm(oldest.Int64)
	return st, nil
}

// ListFailed returns failed and dead requests, newest first; limit <= 0 is all.
func (s *Store) ListFailed(ctx context.Context, limit int) ([]storage.FailedRequest, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT url, source, depth, kind, not_before, revisit, attempts, etag, last_modified,
		reason, state, failed_at FROM frontier WHERE state IN ('failed', 'dead')
		ORDER BY failed_at DESC, url LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list failed requests: %w", err)
	}
	defer rows.Close()
	var out []storage.FailedRequest
	for rows.Next() {
		var f storage.FailedRequest
		var notBefore, failedAt int64
		var state string
		if err := rows.Scan(&f.URL, &f.Source, &f.Depth, &f.Kind, &notBefore, &f.Revisit, &f.Attempts, &f.ETag,
			&f.LastModified, &f.Reason, &state, &failedAt); err != nil {
			return nil, fmt.Errorf("list failed requests: %w", err)
		}
		f.NotBefore, f.FailedAt, f.Dead = tm(notBefore), tm(failedAt), state == "dead"
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list failed requests: %w", err)
	}
	return out, nil
}
