package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// scanPage is how many ads ScanAds reads per query; no connection is held
// while fn runs, so fn may use the store.
const scanPage = 256

// PutAd inserts or updates an ad, keeping FirstSeen and setting LastSeen
// (FetchedAt, or now), and replaces its index keys.
func (s *Store) PutAd(ctx context.Context, ad *lokerwatch.Ad) (storage.PutResult, error) {
	var res storage.PutResult
	if ad == nil || ad.ID == "" {
		return res, errors.New("put ad: missing ad ID")
	}
	err := s.write(ctx, "put ad "+ad.ID, func(tx *txn) error {
		var err error
		res, err = s.putAd(ctx, tx, ad)
		return err
	})
	return res, err
}

// FinishPages stores each page's ads and acks its lease in one
// transaction. A page whose lease is lost gets an ErrLeaseLost result and
// nothing of it is written; the other pages are still finished.
func (s *Store) FinishPages(ctx context.Context, pages []storage.FinishedPage) ([]storage.PageResult, error) {
	if len(pages) == 0 {
		return nil, nil
	}
	for i, p := range pages {
		if p.Lease == nil {
			return nil, fmt.Errorf("finish pages: page %d has no lease", i)
		}
		for _, ad := range p.Ads {
			if ad == nil || ad.ID == "" {
				return nil, fmt.Errorf("finish pages: page %s: ad without ID", p.Lease.URL)
			}
		}
	}
	out := make([]storage.PageResult, len(pages))
	what := "finish page " + pages[0].Lease.URL
	if len(pages) > 1 {
		what = fmt.Sprintf("finish %d pages", len(pages))
	}
	err := s.write(ctx, what, func(tx *txn) error {
		acks := s.newAckBatch()
		for i, p := range pages {
			// The ack first: it checks the lease before anything is written.
			err := acks.ack(ctx, tx, p.Lease, p.Ack)
			if errors.Is(err, lokerwatch.ErrLeaseLost) {
				out[i] = storage.PageResult{Err: fmt.Errorf("finish page %s: %w", p.Lease.URL, err)}
				continue
			}
			if err != nil {
				return fmt.Errorf("ack %s: %w", p.Lease.URL, err)
			}
			puts := make([]storage.PutResult, len(p.Ads))
			for j, ad := range p.Ads {
				if puts[j], err = s.putAd(ctx, tx, ad); err != nil {
					return fmt.Errorf("put ad %s: %w", ad.ID, err)
				}
			}
			out[i] = storage.PageResult{Puts: puts}
		}
		return acks.flush(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putAd is PutAd inside a write transaction.
func (s *Store) putAd(ctx context.Context, tx *txn, ad *lokerwatch.Ad) (res storage.PutResult, err error) {
	if s.urlIndex && !strings.Contains(ad.URL, "#") {
		// Ads stored by schema version 1 are named by source and URL.
		var id string
		err = tx.QueryRowContext(ctx, `SELECT ad_id FROM ad_urls WHERE url = ?`, ad.URL).Scan(&id)
		switch {
		case err == nil:
			ad.ID = id
		case !errors.Is(err, sql.ErrNoRows):
			return res, err
		}
	}
	lastSeen := ad.FetchedAt
	if lastSeen.IsZero() {
		lastSeen = s.now()
	}
	hash := ad.ContentHash()
	var firstSeen int64
	var oldHash string
	var ownPage bool
	err = tx.QueryRowContext(ctx, `SELECT first_seen, content_hash, own_page FROM ads WHERE id = ?`, ad.ID).Scan(&firstSeen, &oldHash, &ownPage)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res.New = true
		firstSeen = ns(lastSeen)
	case err != nil:
		return res, err
	default:
		res.Changed = oldHash != hash
	}
	if res.New {
		ad.Sources = nil
	} else if ad.Sources, err = s.adSources(ctx, tx, ad.ID); err != nil {
		return res, err
	}
	ad.Sources = lokerwatch.AddSighting(ad.Sources, ad.Source, tm(ns(lastSeen)))
	// The ad's row first: ad_sources refers to it.
	defer func() {
		if err == nil && ad.Source != "" {
			_, err = tx.ExecContext(ctx, `INSERT INTO ad_sources (ad_id, source, first_seen, last_seen) VALUES (?, ?, ?, ?)
				ON CONFLICT(ad_id, source) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
				ad.ID, ad.Source, ns(lastSeen), ns(lastSeen))
		}
	}()
	ad.FirstSeen, ad.LastSeen = tm(firstSeen), tm(ns(lastSeen))
	if !res.New && ownPage && !ad.OwnPage() {
		// The stored ad is its page's own; this one only links to it.
		res.Changed = false
		err = s.recordSighting(ctx, tx, ad)
		return res, err
	}
	ad.RemovedAt = time.Time{}
	data, err := json.Marshal(ad)
	if err != nil {
		return res, err
	}
	flagged, score := false, 0
	if ad.Assessment != nil {
		flagged, score = ad.Assessment.Flagged, ad.Assessment.Score
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ads (id, source, flagged, score, first_seen, last_seen, content_hash, data, own_page, removed_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
		ON CONFLICT(id) DO UPDATE SET source = excluded.source, flagged = excluded.flagged, score = excluded.score,
			last_seen = excluded.last_seen, content_hash = excluded.content_hash, data = excluded.data,
			own_page = excluded.own_page, removed_at = 0`,
		ad.ID, ad.Source, flagged, score, firstSeen, ns(lastSeen), hash, data, ad.OwnPage()); err != nil {
		return res, err
	}
	if !res.New { // a new ad has no keys to replace
		if _, err := tx.ExecContext(ctx, `DELETE FROM ad_keys WHERE ad_id = ?`, ad.ID); err != nil {
			return res, err
		}
	}
	for _, k := range lokerwatch.IndexKeys(ad) {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO ad_keys (kind, value, ad_id) VALUES (?, ?, ?)`,
			string(k.Kind), k.Value, ad.ID); err != nil {
			return res, err
		}
	}
	return res, nil
}

// recordSighting updates the stored ad's LastSeen and Sources only.
func (s *Store) recordSighting(ctx context.Context, tx *txn, ad *lokerwatch.Ad) error {
	var data []byte
	if err := tx.QueryRowContext(ctx, `SELECT data FROM ads WHERE id = ?`, ad.ID).Scan(&data); err != nil {
		return err
	}
	old, err := decodeAd(ad.ID, data)
	if err != nil {
		return err
	}
	old.Sources, old.LastSeen = ad.Sources, ad.LastSeen
	if data, err = json.Marshal(old); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE ads SET last_seen = ?, data = ? WHERE id = ?`, ns(ad.LastSeen), data, ad.ID)
	return err
}

func (s *Store) adSources(ctx context.Context, tx *txn, id string) ([]lokerwatch.Sighting, error) {
	rows, err := tx.QueryContext(ctx, `SELECT source, first_seen, last_seen FROM ad_sources WHERE ad_id = ? ORDER BY first_seen, source`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []lokerwatch.Sighting
	for rows.Next() {
		var sg lokerwatch.Sighting
		var first, last int64
		if err := rows.Scan(&sg.Source, &first, &last); err != nil {
			return nil, err
		}
		sg.FirstSeen, sg.LastSeen = tm(first), tm(last)
		out = append(out, sg)
	}
	return out, rows.Err()
}

// MarkRemoved marks the ad of the page url as gone.
func (s *Store) MarkRemoved(ctx context.Context, url string, at time.Time) (bool, error) {
	found := false
	err := s.write(ctx, "mark ad removed "+url, func(tx *txn) error {
		id := lokerwatch.PageAdID(url)
		var mapped string
		err := tx.QueryRowContext(ctx, `SELECT ad_id FROM ad_urls WHERE url = ?`, url).Scan(&mapped)
		switch {
		case err == nil:
			id = mapped
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var data []byte
		var removed int64
		err = tx.QueryRowContext(ctx, `SELECT data, removed_at FROM ads WHERE id = ?`, id).Scan(&data, &removed)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		if removed != 0 {
			return nil
		}
		ad, err := decodeAd(id, data)
		if err != nil {
			return err
		}
		ad.RemovedAt = at.UTC()
		if data, err = json.Marshal(ad); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE ads SET removed_at = ?, data = ? WHERE id = ?`, ns(at), data, id)
		return err
	})
	return found, err
}

// AddDroppedLinks adds to the dropped-link totals.
func (s *Store) AddDroppedLinks(ctx context.Context, counts []storage.DroppedLinks) error {
	if len(counts) == 0 {
		return nil
	}
	return s.write(ctx, "add dropped links", func(tx *txn) error {
		for _, d := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO dropped_links (source, reason, n) VALUES (?, ?, ?)
				ON CONFLICT(source, reason) DO UPDATE SET n = n + excluded.n`, d.Source, d.Reason, d.N); err != nil {
				return err
			}
		}
		return nil
	})
}

// DroppedLinks returns the dropped-link totals.
func (s *Store) DroppedLinks(ctx context.Context) ([]storage.DroppedLinks, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT source, reason, n FROM dropped_links ORDER BY source, reason`)
	if err != nil {
		return nil, fmt.Errorf("dropped links: %w", err)
	}
	defer rows.Close()
	var out []storage.DroppedLinks
	for rows.Next() {
		var d storage.DroppedLinks
		if err := rows.Scan(&d.Source, &d.Reason, &d.N); err != nil {
			return nil, fmt.Errorf("dropped links: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dropped links: %w", err)
	}
	return out, nil
}

func decodeAd(id string, data []byte) (*lokerwatch.Ad, error) {
	var ad lokerwatch.Ad
	if err := json.Unmarshal(data, &ad); err != nil {
		return nil, fmt.Errorf("decode stored ad %s: %w", id, err)
	}
	return &ad, nil
}

// GetAd returns an ad by ID.
func (s *Store) GetAd(ctx context.Context, id string) (*lokerwatch.Ad, error) {
	var data []byte
	err := s.r.QueryRowContext(ctx, `SELECT data FROM ads WHERE id = ?`, id).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("get ad %s: %w", id, lokerwatch.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get ad %s: %w", id, err)
	}
	return decodeAd(id, data)
}

// ScanAds calls fn for each matching ad by LastSeen then ID, a page at a time.
func (s *Store) ScanAds(ctx context.Context, f storage.AdFilter, fn func(*lokerwatch.Ad) error) error {
	var where []string
	var args []any
	if f.FlaggedOnly {
		where = append(where, "flagged = 1")
	}
	if f.Source != "" {
		where = append(where, "source = ?")
		args = append(args, f.Source)
	}
	if !f.Since.IsZero() {
		where = append(where, "last_seen >= ?")
		args = append(args, ns(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "last_seen < ?")
		args = append(args, ns(f.Until))
	}
	// A row value, not an OR, so that SQLite seeks the index to the cursor.
	where = append(where, "(last_seen, id) > (?, ?)")
	q := `SELECT id, last_seen, data FROM ads WHERE ` + strings.Join(where, " AND ") + ` ORDER BY last_seen, id LIMIT ?`

	var afterSeen int64 = -1 << 63
	afterID := ""
	left := f.Limit
	for {
		page := scanPage
		if f.Limit > 0 {
			if left <= 0 {
				return nil
			}
			page = min(page, left)
		}
		type row struct {
			id   string
			data []byte
		}
		var batch []row
		rows, err := s.r.QueryContext(ctx, q, append(args, afterSeen, afterID, page)...)
		if err != nil {
			return fmt.Errorf("scan ads: %w", err)
		}
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &afterSeen, &r.data); err != nil {
				rows.Close()
				return fmt.Errorf("scan ads: %w", err)
			}
			afterID = r.id
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("scan ads: %w", err)
		}
		for _, r := range batch {
			ad, err := decodeAd(r.id, r.data)
			if err != nil {
				return fmt.Errorf("scan ads: %w", err)
			}
			if err := fn(ad); err != nil {
				return err
			}
		}
		left -= len(batch)
		if len(batch) < page {
			return nil
		}
	}
}

// AdsByKey returns the IDs of ads indexed under key, sorted.
func (s *Store) AdsByKey(ctx context.Context, key lokerwatch.IndexKey) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ad_id FROM ad_keys WHERE kind = ? AND value = ? ORDER BY ad_id`,
		string(key.Kind), key.Value)
	if err != nil {
		return nil, fmt.Errorf("ads by %s %s: %w", key.Kind, key.Value, err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("ads by %s %s: %w", key.Kind, key.Value, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ads by %s %s: %w", key.Kind, key.Value, err)
	}
	return ids, nil
}

// CountAds counts all and flagged ads.
func (s *Store) CountAds(ctx context.Context) (total, flagged int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(flagged), 0) FROM ads`).Scan(&total, &flagged)
	if err != nil {
		return 0, 0, fmt.Errorf("count ads: %w", err)
	}
	return total, flagged, nil
}

// DeleteAd removes an ad and its index keys.
func (s *Store) DeleteAd(ctx context.Context, id string) error {
	return s.write(ctx, "delete ad "+id, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ad_keys WHERE ad_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ad_urls WHERE ad_id = ?`, id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM ads WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return lokerwatch.ErrNotFound
		}
		return nil
	})
}
