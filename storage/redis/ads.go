package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Ad keys:
//
//	ad:<id>              STRING ad JSON
//	ads:time             ZSET id by LastSeen (ms): ScanAds order
//	ads:flagged          ZSET id by LastSeen, flagged ads only
//	ads:src:<source>     ZSET id by LastSeen, per source
//	idx:<kind>:<value>   SET of ad IDs (lokerwatch.IndexKeys)
//	adm:<id>             STRING what PutAd needs of the stored ad (adwrite.go)
//
// An ad and its indexes change together in one Lua script (PutAd, see
// adwrite.go) or, to delete, a WATCH/MULTI transaction.

func (s *Store) idxKey(k lokerwatch.IndexKey) string {
	return s.k("idx:", string(k.Kind), ":", k.Value)
}

func flagged(ad *lokerwatch.Ad) bool { return ad.Assessment != nil && ad.Assessment.Flagged }

// watchRetry runs a WATCH transaction until it commits without a
// concurrent change to the watched keys.
func (s *Store) watchRetry(ctx context.Context, op string, fn func(*goredis.Tx) error, keys ...string) error {
	for attempt := 0; ; attempt++ {
		err := s.rdb.Watch(ctx, fn, keys...)
		if !errors.Is(err, goredis.TxFailedErr) {
			return err
		}
		if attempt == 50 {
			return fmt.Errorf("%s: too much contention on %v", op, keys)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// GetAd returns one ad.
func (s *Store) GetAd(ctx context.Context, id string) (*lokerwatch.Ad, error) {
	raw, err := s.rdb.Get(ctx, s.k("ad:", id)).Bytes()
	if err != nil {
		return nil, s.wrap("get ad "+id, err)
	}
	ad := new(lokerwatch.Ad)
	if err := json.Unmarshal(raw, ad); err != nil {
		return nil, fmt.Errorf("get ad %s: stored JSON: %w", id, err)
	}
	return ad, nil
}

// scanPage is how many ads ScanAds holds in memory at once.
const scanPage = 256

// ScanAds streams matching ads oldest first (by LastSeen), a page at a
// time: memory stays constant however many ads there are.
func (s *Store) ScanAds(ctx context.Context, f storage.AdFilter, fn func(*lokerwatch.Ad) error) error {
	key := s.k("ads:time")
	switch {
	case f.Source != "":
		key = s.k("ads:src:", f.Source)
	case f.FlaggedOnly:
		key = s.k("ads:flagged")
	}
	lo := "-inf"
	if !f.Since.IsZero() {
		lo = strconv.FormatInt(ms(f.Since), 10)
	}
	hi := "+inf"
	if !f.Until.IsZero() {
		hi = "(" + strconv.FormatInt(ms(f.Until), 10)
	}
	// Keyset paging: continue from the last score, skipping the members
	// with that score already seen (ZSETs order equal scores by member).
	var skip int64
	sent := 0
	for {
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, goredis.ZRangeArgs{
			Key: key, Start: lo, Stop: hi, ByScore: true, Offset: skip, Count: scanPage,
		}).Result()
		if err != nil {
			return s.wrap("scan ads", err)
		}
		if len(zs) == 0 {
			return nil
		}
		ids := make([]string, len(zs))
		for i, z := range zs {
			ids[i] = s.k("ad:", z.Member.(string))
		}
		vals, err := s.rdb.MGet(ctx, ids...).Result()
		if err != nil {
			return s.wrap("scan ads", err)
		}
		for i, v := range vals {
			str, ok := v.(string)
			if !ok {
				continue // deleted meanwhile
			}
			ad := new(lokerwatch.Ad)
			if err := json.Unmarshal([]byte(str), ad); err != nil {
				s.log.Warn("redis store: skipping unreadable ad", "key", ids[i], "err", err)
				continue
			}
			if (f.FlaggedOnly && !flagged(ad)) || (f.Source != "" && ad.Source != f.Source) {
				continue
			}
			if err := fn(ad); err != nil {
				return err
			}
			sent++
			if f.Limit > 0 && sent >= f.Limit {
				return nil
			}
		}
		last := zs[len(zs)-1].Score
		if newLo := strconv.FormatFloat(last, 'f', -1, 64); newLo != lo {
			lo = newLo
			skip = 0
		}
		for _, z := range zs {
			if z.Score == last {
				skip++
			}
		}
		if len(zs) < scanPage {
			return nil
		}
	}
}

// AdsByKey returns the IDs of ads indexed under key, sorted.
func (s *Store) AdsByKey(ctx context.Context, key lokerwatch.IndexKey) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, s.idxKey(key)).Result()
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("ads by %s %s", key.Kind, key.Value), err)
	}
	slices.Sort(ids)
	return ids, nil
}

// CountAds counts all and flagged ads.
func (s *Store) CountAds(ctx context.Context) (int64, int64, error) {
	var total, fl *goredis.IntCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		total = p.ZCard(ctx, s.k("ads:time"))
		fl = p.ZCard(ctx, s.k("ads:flagged"))
		return nil
	})
	if err != nil {
		return 0, 0, s.wrap("count ads", err)
	}
	return total.Val(), fl.Val(), nil
}

// DeleteAd removes an ad and its index entries.
func (s *Store) DeleteAd(ctx context.Context, id string) error {
	op := "delete ad " + id
	key := s.k("ad:", id)
	err := s.watchRetry(ctx, op, func(tx *goredis.Tx) error {
		raw, err := tx.Get(ctx, key).Bytes()
		if err != nil {
			return err
		}
		old := new(lokerwatch.Ad)
		if err := json.Unmarshal(raw, old); err != nil {
			old = nil
		}
		// The meta record lists the index keys too (and is all there is
		// when the JSON is unreadable).
		var meta adMeta
		if cur, err := tx.Get(ctx, s.k("adm:", id)).Result(); err == nil {
			meta, _ = parseAdMeta(cur)
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Del(ctx, key, s.k("adm:", id))
			p.ZRem(ctx, s.k("ads:time"), id)
			p.ZRem(ctx, s.k("ads:flagged"), id)
			if old != nil {
				p.ZRem(ctx, s.k("ads:src:", old.Source), id)
				for _, k := range lokerwatch.IndexKeys(old) {
					p.SRem(ctx, s.idxKey(k), id)
				}
			}
			if meta.Source != "" && (old == nil || old.Source != meta.Source) {
				p.ZRem(ctx, s.k("ads:src:", meta.Source), id)
			}
			for _, k := range meta.Keys {
				p.SRem(ctx, s.k(k), id)
			}
			return nil
		})
		return err
	}, key)
	return s.wrap(op, err)
}
