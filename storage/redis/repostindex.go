package redis

import (
	"context"
	"fmt"
	"slices"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
)

// AdsByKeysN returns, for each key, at most n IDs, in ID order, of the
// ads indexed under it, all in one round trip, for a caller that reads
// only so many (the persona linker's repost candidates). From a small set
// (up to set-max-listpack-entries members) they are the first n of
// AdsByKey; from a larger one, the n of one SSCAN step — which ones is
// Redis's choice — so that a key shared by thousands of ads is not read
// whole for each new one.
func (s *Store) AdsByKeysN(ctx context.Context, keys []lokerwatch.IndexKey, n int) ([][]string, error) {
	out := make([][]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.ScanCmd, len(keys))
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.SScan(ctx, s.idxKey(k), 0, "", int64(n))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("ads by %d keys", len(keys)), err)
	}
	for i, c := range cmds {
		ids, _, err := c.Result()
		if err != nil {
			return nil, s.wrap(fmt.Sprintf("ads by %s %s", keys[i].Kind, keys[i].Value), err)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids) // SSCAN may return a member twice
		if len(ids) > n {
			ids = ids[:n]
		}
		out[i] = ids
	}
	return out, nil
}

// AdKeys returns the index keys (lokerwatch.IndexKeys, in its order) of
// those of ids that have a meta record (adwrite.go), read in one MGET, so
// that the persona linker can judge repost candidates without decoding
// whole ads. Ads without one (stored by an old version, or gone) are left
// out.
func (s *Store) AdKeys(ctx context.Context, ids []string) (map[string][]lokerwatch.IndexKey, error) {
	out := map[string][]lokerwatch.IndexKey{}
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = s.k("adm:", id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil && err != goredis.Nil {
		return nil, s.wrap(fmt.Sprintf("index keys of %d ads", len(ids)), err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok || raw == "" {
			continue
		}
		m, err := parseAdMeta(raw)
		if err != nil {
			continue // left to GetAd, which says what is wrong
		}
		ks := make([]lokerwatch.IndexKey, 0, len(m.Keys))
		for _, k := range m.Keys {
			kind, value, ok := strings.Cut(strings.TrimPrefix(k, "idx:"), ":")
			if !ok {
				continue
			}
			ks = append(ks, lokerwatch.IndexKey{Kind: lokerwatch.EntityKind(kind), Value: value})
		}
		out[ids[i]] = ks
	}
	return out, nil
}

// PersonasOfAds returns the persona of each of ids that is in one, in one
// HMGET of p:ad (the persona linker's batch, to send one repost per
// persona).
func (s *Store) PersonasOfAds(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, s.k("p:ad"), ids...).Result()
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("personas of %d ads", len(ids)), err)
	}
	for i, v := range vals {
		if p, ok := v.(string); ok && p != "" {
			out[ids[i]] = p
		}
	}
	return out, nil
}
