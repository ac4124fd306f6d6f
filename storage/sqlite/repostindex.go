package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/lokerwatch/lokerwatch"
)

// AdsByKeysN returns, for each key, the first n IDs in ID order of the
// ads indexed under it: AdsByKey for a caller that reads only so many (the
// persona linker's repost candidates), without reading a whole key, with
// one statement prepared for all the keys.
func (s *Store) AdsByKeysN(ctx context.Context, keys []lokerwatch.IndexKey, n int) ([][]string, error) {
	out := make([][]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	st, err := s.r.PrepareContext(ctx, `SELECT ad_id FROM ad_keys WHERE kind = ? AND value = ? ORDER BY ad_id LIMIT ?`)
	if err != nil {
		return nil, fmt.Errorf("ads by key: %w", err)
	}
	defer st.Close()
	for i, key := range keys {
		if out[i], err = adsByKeyN(ctx, st, key, n); err != nil {
			return nil, fmt.Errorf("ads by %s %s: %w", key.Kind, key.Value, err)
		}
	}
	return out, nil
}

func adsByKeyN(ctx context.Context, st *sql.Stmt, key lokerwatch.IndexKey, n int) ([]string, error) {
	rows, err := st.QueryContext(ctx, string(key.Kind), key.Value, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AdKeys returns the stored index keys (lokerwatch.IndexKeys, in its
// order) of those of ids that have any, in one query, so that the persona
// linker can judge repost candidates without decoding whole ads.
func (s *Store) AdKeys(ctx context.Context, ids []string) (map[string][]lokerwatch.IndexKey, error) {
	out := map[string][]lokerwatch.IndexKey{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ad_id, kind, value FROM ad_keys
		WHERE ad_id IN (SELECT value FROM json_each(?)) ORDER BY ad_id, kind, value`, string(list))
	if err != nil {
		return nil, fmt.Errorf("index keys of %d ads: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, kind, value string
		if err := rows.Scan(&id, &kind, &value); err != nil {
			return nil, fmt.Errorf("index keys of %d ads: %w", len(ids), err)
		}
		out[id] = append(out[id], lokerwatch.IndexKey{Kind: lokerwatch.EntityKind(kind), Value: value})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index keys of %d ads: %w", len(ids), err)
	}
	return out, nil
}

// PersonasOfAds returns the persona of each of ids that is in one, in one
// query (the persona linker's batch, to send one repost per persona).
func (s *Store) PersonasOfAds(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT ad_id, persona FROM persona_ads WHERE ad_id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, fmt.Errorf("personas of %d ads: %w", len(ids), err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, fmt.Errorf("personas of %d ads: %w", len(ids), err)
		}
		out[id] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("personas of %d ads: %w", len(ids), err)
	}
	return out, nil
}
