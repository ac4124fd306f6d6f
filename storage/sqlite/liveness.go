package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/lokerwatch/lokerwatch/storage"
)

// livenessSchema holds the workers' heartbeats and the deaths counted
// against requests. It is created on every open (IF NOT EXISTS), apart
// from the versioned schema, so that stores of any version get it.
const livenessSchema = `
CREATE TABLE IF NOT EXISTS workers (
	worker     TEXT PRIMARY KEY,
	beat_until INTEGER NOT NULL,           -- heartbeat deadline (ns)
	max_deaths INTEGER NOT NULL,
	inflight   TEXT NOT NULL DEFAULT ''    -- tokens in flight at the last beat, space-separated
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS workers_beat ON workers(beat_until);
CREATE TABLE IF NOT EXISTS frontier_deaths (
	url       TEXT PRIMARY KEY,
	queued_at INTEGER NOT NULL,            -- the visit the deaths belong to (frontier.queued_at)
	n         INTEGER NOT NULL             -- workers that died while it was in flight
) WITHOUT ROWID;
`

// Queries of reapDead, run by every claim (lapsedWorkers) and, rarely, for
// a dead worker.
const (
	lapsedWorkers = `DELETE FROM workers WHERE beat_until < ? RETURNING worker, max_deaths, inflight`
	workerLeases  = `SELECT url, token, host, queued_at FROM frontier WHERE state = 'inflight' AND worker = ?`
)

func (s *Store) createLiveness(ctx context.Context) error {
	return s.write(ctx, "create worker tables", func(tx *txn) error {
		_, err := tx.Tx.ExecContext(ctx, livenessSchema)
		return err
	})
}

// Heartbeat says the worker is alive for b.TTL.
func (s *Store) Heartbeat(ctx context.Context, b storage.Beat) error {
	maxd := b.MaxDeaths
	if maxd < 1 {
		maxd = storage.DefaultMaxDeaths
	}
	return s.write(ctx, "heartbeat of "+b.Worker, func(tx *txn) error {
		if b.TTL <= 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM workers WHERE worker = ?`, b.Worker)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workers (worker, beat_until, max_deaths, inflight) VALUES (?, ?, ?, ?)
			ON CONFLICT(worker) DO UPDATE SET beat_until = excluded.beat_until, max_deaths = excluded.max_deaths,
			inflight = excluded.inflight`, b.Worker, ns(s.now().Add(b.TTL)), maxd, strings.Join(b.InFlight, " "))
		return err
	})
}

// reapDead reclaims the leases of workers whose heartbeat lapsed: each
// request back at its place, or dead when it was in flight at the
// max_deaths-th death of its worker.
func (s *Store) reapDead(ctx context.Context, tx *txn, now int64) (int, error) {
	type dead struct {
		worker   string
		maxd     int
		inflight map[string]bool
	}
	rows, err := tx.QueryContext(ctx, lapsedWorkers, now)
	if err != nil {
		return 0, err
	}
	var ds []dead
	for rows.Next() {
		var d dead
		var toks string
		if err := rows.Scan(&d.worker, &d.maxd, &toks); err != nil {
			rows.Close()
			return 0, err
		}
		d.inflight = map[string]bool{}
		for _, t := range strings.Fields(toks) {
			d.inflight[t] = true
		}
		ds = append(ds, d)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	n := 0
	var hosts []string
	ended := map[string]int{}
	for _, d := range ds {
		type held struct {
			url, token, host string
			queuedAt         int64
		}
		var hs []held
		rows, err := tx.QueryContext(ctx, workerLeases, d.worker)
		if err != nil {
			return 0, err
		}
		for rows.Next() {
			var h held
			if err := rows.Scan(&h.url, &h.token, &h.host, &h.queuedAt); err != nil {
				rows.Close()
				return 0, err
			}
			hs = append(hs, h)
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		for _, h := range hs {
			died := 0
			if d.inflight[h.token] {
				// Deaths of an earlier visit (one that ended, acked or
				// failed, before the URL was queued again) do not count:
				// counting per visit spares the ack a write.
				if err := tx.QueryRowContext(ctx, `INSERT INTO frontier_deaths (url, queued_at, n) VALUES (?, ?, 1)
					ON CONFLICT(url) DO UPDATE SET n = CASE WHEN queued_at = excluded.queued_at THEN n + 1 ELSE 1 END,
					queued_at = excluded.queued_at RETURNING n`, h.url, h.queuedAt).Scan(&died); err != nil {
					return 0, err
				}
			}
			if died >= d.maxd {
				if _, err := tx.ExecContext(ctx, `DELETE FROM frontier_deaths WHERE url = ?`, h.url); err != nil {
					return 0, err
				}
				_, err = tx.ExecContext(ctx, `UPDATE frontier SET state = 'dead', token = '', worker = '', lease_until = 0,
					reason = ?, failed_at = ? WHERE url = ?`, storage.DiedReason(died), now, h.url)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE frontier SET state = 'queued', token = '', worker = '', lease_until = 0
					WHERE url = ?`, h.url)
			}
			if err != nil {
				return 0, fmt.Errorf("reclaim %s of dead worker %s: %w", h.url, d.worker, err)
			}
			if ended[h.host] == 0 {
				hosts = append(hosts, h.host)
			}
			ended[h.host]++
			n++
		}
	}
	return n, freeHosts(ctx, tx, hosts, ended)
}
