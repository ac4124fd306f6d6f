package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Keys of ad identity (issue 19, key layout version 2):
//
//	schema           STRING key layout version ("2"; absent: version 1)
//	adurl            HASH URL -> ID of ads stored under a version-1 ID
//	dropped          HASH "<source>\x00<reason>" -> links dropped by crawl limits
//
// Version 1 named an ad by its source and URL, so a page found by two
// sources was two ads. From version 2 an ad with its own page is named by
// its URL alone (lokerwatch.PageAdID). Ads stored before keep their IDs
// (review items, decisions and evidence name them); adurl sends later
// sightings of their URL to them: of ads sharing a URL, the one with a
// decided review item, then one with any, then the first seen. The others
// stay; nothing is deleted.
const keyLayout = 2

// Migrate brings the store's keys to this version's layout; OpenURL calls
// it. It is idempotent and safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	v, err := s.rdb.Get(ctx, s.k("schema")).Int()
	if err != nil && !isNil(err) {
		return s.wrap("get key layout version", err)
	}
	if v > keyLayout {
		return fmt.Errorf("redis store: key layout version %d is newer than this lokerwatch understands (%d); upgrade lokerwatch", v, keyLayout)
	}
	if v == keyLayout {
		return nil
	}
	type cand struct {
		id                string
		decided, reviewed bool
		first             time.Time
	}
	best := map[string]cand{}
	better := func(a, b cand) bool {
		if a.decided != b.decided {
			return a.decided
		}
		if a.reviewed != b.reviewed {
			return a.reviewed
		}
		if !a.first.Equal(b.first) {
			return a.first.Before(b.first)
		}
		return a.id < b.id
	}
	iter := s.rdb.Scan(ctx, 0, s.k("ad:*"), 500).Iterator()
	for iter.Next(ctx) {
		id := strings.TrimPrefix(iter.Val(), s.k("ad:"))
		ad, err := s.GetAd(ctx, id)
		if err != nil {
			if errors.Is(err, lokerwatch.ErrNotFound) {
				continue
			}
			s.log.Warn("redis store: migration skips an unreadable ad", "id", id, "err", err)
			continue
		}
		if ad.URL == "" || strings.Contains(ad.URL, "#") || ad.ID == lokerwatch.PageAdID(ad.URL) {
			continue
		}
		status, err := s.rdb.HGet(ctx, s.k("rv:item:", id), "status").Result()
		if err != nil && !isNil(err) {
			return s.wrap("migrate ads", err)
		}
		c := cand{id: id, decided: status == string(lokerwatch.StatusDecided), reviewed: status != "", first: ad.FirstSeen}
		if b, ok := best[ad.URL]; !ok || better(c, b) {
			best[ad.URL] = c
		}
	}
	if err := iter.Err(); err != nil {
		return s.wrap("migrate ads", err)
	}
	if len(best) > 0 {
		kv := make([]any, 0, 2*len(best))
		for u, c := range best {
			kv = append(kv, u, c.id)
		}
		if err := s.rdb.HSet(ctx, s.k("adurl"), kv...).Err(); err != nil {
			return s.wrap("migrate ads", err)
		}
	}
	return s.wrap("set key layout version", s.rdb.Set(ctx, s.k("schema"), strconv.Itoa(keyLayout), 0).Err())
}

// resolveIDs gives ads of their own page the ID they were stored under by
// a version-1 store (adurl), if any.
func (s *Store) resolveIDs(ctx context.Context, ws []*adWrite) error {
	switch s.urlIndex.Load() {
	case 0:
		n, err := s.rdb.Exists(ctx, s.k("adurl")).Result()
		if err != nil {
			return err
		}
		s.urlIndex.Store(1 + int32(n)) // 1: none, 2: present
		if n == 0 {
			return nil
		}
	case 1:
		return nil
	}
	var urls []string
	var pos []*adWrite
	for _, w := range ws {
		if w.in.URL != "" && !strings.Contains(w.in.URL, "#") {
			urls = append(urls, w.in.URL)
			pos = append(pos, w)
		}
	}
	if len(urls) == 0 {
		return nil
	}
	ids, err := s.rdb.HMGet(ctx, s.k("adurl"), urls...).Result()
	if err != nil {
		return err
	}
	for i, v := range ids {
		if id, ok := v.(string); ok && id != "" {
			pos[i].in.ID = id
			pos[i].a.ID = id
		}
	}
	return nil
}

// MarkRemoved marks the ad of the page url as gone.
func (s *Store) MarkRemoved(ctx context.Context, url string, at time.Time) (bool, error) {
	op := "put removed " + url
	id, err := s.rdb.HGet(ctx, s.k("adurl"), url).Result()
	if isNil(err) {
		id, err = lokerwatch.PageAdID(url), nil
	}
	if err != nil {
		return false, s.wrap(op, err)
	}
	found := false
	key := s.k("ad:", id)
	err = s.watchRetry(ctx, op, func(tx *goredis.Tx) error {
		raw, err := tx.Get(ctx, key).Bytes()
		if isNil(err) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		var ad lokerwatch.Ad
		if err := json.Unmarshal(raw, &ad); err != nil {
			return fmt.Errorf("stored ad %s: %w", id, err)
		}
		if !ad.RemovedAt.IsZero() {
			return nil
		}
		ad.RemovedAt = at.UTC()
		data, err := json.Marshal(&ad)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Set(ctx, key, data, 0)
			return nil
		})
		return err
	}, key)
	if err != nil {
		return false, s.wrap(op, err)
	}
	return found, nil
}

// AddDroppedLinks adds to the dropped-link totals.
func (s *Store) AddDroppedLinks(ctx context.Context, counts []storage.DroppedLinks) error {
	if len(counts) == 0 {
		return nil
	}
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, d := range counts {
			p.HIncrBy(ctx, s.k("dropped"), d.Source+"\x00"+d.Reason, d.N)
		}
		return nil
	})
	return s.wrap("put dropped links", err)
}

// DroppedLinks returns the dropped-link totals.
func (s *Store) DroppedLinks(ctx context.Context) ([]storage.DroppedLinks, error) {
	m, err := s.rdb.HGetAll(ctx, s.k("dropped")).Result()
	if err != nil {
		return nil, s.wrap("get dropped links", err)
	}
	out := make([]storage.DroppedLinks, 0, len(m))
	for k, v := range m {
		src, reason, _ := strings.Cut(k, "\x00")
		n, _ := strconv.ParseInt(v, 10, 64)
		out = append(out, storage.DroppedLinks{Source: src, Reason: reason, N: n})
	}
	storage.SortDroppedLinks(out)
	return out, nil
}
