package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// personaStats is the JSON of personas.stats.
type personaStats struct {
	Categories map[lokerwatch.Category]int `json:"categories,omitempty"`
	Sources    map[string]int              `json:"sources,omitempty"`
}

func scanPersona(row interface{ Scan(...any) error }) (storage.Persona, error) {
	var p storage.Persona
	var first, last int64
	var stats string
	if err := row.Scan(&p.ID, &p.Size, &first, &last, &stats); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return p, lokerwatch.ErrNotFound
		}
		return p, err
	}
	p.FirstSeen, p.LastSeen = tm(first), tm(last)
	var st personaStats
	if err := json.Unmarshal([]byte(stats), &st); err != nil {
		return p, fmt.Errorf("persona %s: stats: %w", p.ID, err)
	}
	p.Categories, p.Sources = st.Categories, st.Sources
	return p, nil
}

const personaCols = `id, size, first_seen, last_seen, stats`

// LinkPersona joins the ad to its persona and merges the personas it
// links, in one transaction: the smaller persona's ads and keys are
// relabelled to the larger (union by size), so each ad is relabelled
// O(log n) times over the index's life.
func (s *Store) LinkPersona(ctx context.Context, l storage.PersonaLink) (storage.Persona, error) {
	var out storage.Persona
	if l.AdID == "" {
		return out, errors.New("link persona: missing ad ID")
	}
	err := s.write(ctx, "link persona of "+l.AdID, func(tx *txn) error {
		var err error
		out, err = s.linkPersona(ctx, tx, l)
		return err
	})
	return out, err
}

// LinkPersonas links ads as LinkPersona does, one after the other, in one
// transaction (the persona linker's step after FinishPages: one commit
// for a batch of pages' ads instead of one per ad). On an error nothing is
// linked.
func (s *Store) LinkPersonas(ctx context.Context, ls []storage.PersonaLink) ([]storage.Persona, error) {
	for i, l := range ls {
		if l.AdID == "" {
			return nil, fmt.Errorf("link personas: link %d: missing ad ID", i)
		}
	}
	if len(ls) == 0 {
		return nil, nil
	}
	out := make([]storage.Persona, len(ls))
	err := s.write(ctx, fmt.Sprintf("link personas of %d ads", len(ls)), func(tx *txn) error {
		for i, l := range ls {
			p, err := s.linkPersona(ctx, tx, l)
			if err != nil {
				return fmt.Errorf("ad %s: %w", l.AdID, err)
			}
			out[i] = p
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// linkPersona is LinkPersona inside a write transaction.
func (s *Store) linkPersona(ctx context.Context, tx *txn, l storage.PersonaLink) (storage.Persona, error) {
	var out storage.Persona
	err := func() error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT persona FROM persona_ads WHERE ad_id = ?`, l.AdID).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		targets := map[string]bool{}
		if cur != "" {
			targets[cur] = true
		}
		owner := make([]string, len(l.Keys)) // persona holding each key now
		for i, k := range l.Keys {
			var p string
			err := tx.QueryRowContext(ctx, `SELECT persona FROM persona_keys WHERE kind = ? AND value = ?`, string(k.Kind), k.Value).Scan(&p)
			if err == nil {
				targets[p] = true
				owner[i] = p
			} else if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		if len(l.Ads) > 0 {
			// The reposts' personas, in one query (there may be dozens).
			ids, err := json.Marshal(l.Ads)
			if err != nil {
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT DISTINCT persona FROM persona_ads WHERE ad_id IN (SELECT value FROM json_each(?))`, string(ids))
			if err != nil {
				return err
			}
			for rows.Next() {
				var p string
				if err := rows.Scan(&p); err != nil {
					rows.Close()
					return err
				}
				targets[p] = true
			}
			if err := rows.Close(); err != nil {
				return err
			}
			if err := rows.Err(); err != nil {
				return err
			}
		}
		var ps []storage.Persona
		for id := range targets {
			p, err := scanPersona(tx.QueryRowContext(ctx, `SELECT `+personaCols+` FROM personas WHERE id = ?`, id))
			if err != nil {
				return fmt.Errorf("persona %s: %w", id, err)
			}
			ps = append(ps, p)
		}
		sort.Slice(ps, func(i, j int) bool {
			if ps[i].Size != ps[j].Size {
				return ps[i].Size > ps[j].Size
			}
			return ps[i].ID < ps[j].ID
		})
		var root storage.Persona
		if len(ps) == 0 {
			root = storage.Persona{ID: l.AdID}
		} else {
			root = ps[0]
		}
		if root.Categories == nil {
			root.Categories = map[lokerwatch.Category]int{}
		}
		if root.Sources == nil {
			root.Sources = map[string]int{}
		}
		for _, o := range ps[min(1, len(ps)):] {
			for _, q := range []string{
				`UPDATE persona_ads SET persona = ? WHERE persona = ?`,
				`UPDATE persona_keys SET persona = ? WHERE persona = ?`,
				`UPDATE persona_merged SET into_id = ? WHERE into_id = ?`,
			} {
				if _, err := tx.ExecContext(ctx, q, root.ID, o.ID); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO persona_merged (id, into_id) VALUES (?, ?)`, o.ID, root.ID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM personas WHERE id = ?`, o.ID); err != nil {
				return err
			}
			root.Size += o.Size
			for c, n := range o.Categories {
				root.Categories[c] += n
			}
			for src, n := range o.Sources {
				root.Sources[src] += n
			}
			root.FirstSeen = minTime(root.FirstSeen, o.FirstSeen)
			root.LastSeen = maxTime(root.LastSeen, o.LastSeen)
		}
		if cur == "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO persona_ads (ad_id, persona) VALUES (?, ?)`, l.AdID, root.ID); err != nil {
				return err
			}
			root.Size++
			root.Categories[l.Category]++
			if l.Source != "" {
				root.Sources[l.Source]++
			}
		}
		root.FirstSeen = minTime(root.FirstSeen, l.FirstSeen)
		root.LastSeen = maxTime(root.LastSeen, l.LastSeen)
		for i, k := range l.Keys {
			if owner[i] == root.ID {
				continue // already the root's (merged personas' keys were relabelled above)
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO persona_keys (kind, value, persona) VALUES (?, ?, ?)`, string(k.Kind), k.Value, root.ID); err != nil {
				return err
			}
		}
		stats, err := json.Marshal(personaStats{Categories: root.Categories, Sources: root.Sources})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO personas (`+personaCols+`) VALUES (?, ?, ?, ?, ?)`,
			root.ID, root.Size, ns(root.FirstSeen), ns(root.LastSeen), string(stats)); err != nil {
			return err
		}
		out = root
		return nil
	}()
	return out, err
}

func minTime(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// PersonaOf returns the persona an ad is in.
func (s *Store) PersonaOf(ctx context.Context, adID string) (storage.Persona, error) {
	p, err := scanPersona(s.r.QueryRowContext(ctx, `SELECT p.id, p.size, p.first_seen, p.last_seen, p.stats
		FROM persona_ads a JOIN personas p ON p.id = a.persona WHERE a.ad_id = ?`, adID))
	if err != nil {
		return p, fmt.Errorf("persona of ad %s: %w", adID, err)
	}
	return p, nil
}

// resolvePersona follows a merged persona's forward (one hop).
func (s *Store) resolvePersona(ctx context.Context, id string) (string, error) {
	var into string
	err := s.r.QueryRowContext(ctx, `SELECT into_id FROM persona_merged WHERE id = ?`, id).Scan(&into)
	switch {
	case err == nil:
		return into, nil
	case errors.Is(err, sql.ErrNoRows):
		return id, nil
	default:
		return "", err
	}
}

// GetPersona returns a persona, following merges.
func (s *Store) GetPersona(ctx context.Context, id string) (storage.Persona, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return storage.Persona{}, fmt.Errorf("get persona %s: %w", id, err)
	}
	p, err := scanPersona(s.r.QueryRowContext(ctx, `SELECT `+personaCols+` FROM personas WHERE id = ?`, rid))
	if err != nil {
		return p, fmt.Errorf("get persona %s: %w", id, err)
	}
	return p, nil
}

// PersonaAds lists member ads in join order.
func (s *Store) PersonaAds(ctx context.Context, id string, limit int) ([]string, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("persona ads %s: %w", id, err)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ad_id FROM persona_ads WHERE persona = ? ORDER BY seq LIMIT ?`, rid, limit)
	if err != nil {
		return nil, fmt.Errorf("persona ads %s: %w", id, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PersonaKeys lists the keys that link a persona, by kind and value.
func (s *Store) PersonaKeys(ctx context.Context, id string, limit int) ([]lokerwatch.IndexKey, error) {
	rid, err := s.resolvePersona(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("persona keys %s: %w", id, err)
	}
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, value FROM persona_keys WHERE persona = ? ORDER BY kind, value LIMIT ?`, rid, limit)
	if err != nil {
		return nil, fmt.Errorf("persona keys %s: %w", id, err)
	}
	defer rows.Close()
	var out []lokerwatch.IndexKey
	for rows.Next() {
		var k lokerwatch.IndexKey
		var kind string
		if err := rows.Scan(&kind, &k.Value); err != nil {
			return nil, err
		}
		k.Kind = lokerwatch.EntityKind(kind)
		out = append(out, k)
	}
	return out, rows.Err()
}
