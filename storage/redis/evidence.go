package redis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Evidence keys:
//
//	ev:<id>        HASH meta (JSON) and warc (bytes)
//	ev:ad:<adID>   ZSET record IDs by capture time (ms)

// PutEvidence stores a capture and links it to its ads (replacing an
// earlier record with the same ID, links included).
func (s *Store) PutEvidence(ctx context.Context, rec *storage.EvidenceRecord) error {
	if rec == nil || rec.ID == "" {
		return errors.New("put evidence: record without ID")
	}
	op := "put evidence " + rec.ID
	if rec.Digest == "" {
		sum := sha256.Sum256(rec.WARC)
		rec.Digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	meta, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	key := s.k("ev:", rec.ID)
	err = s.watchRetry(ctx, op, func(tx *goredis.Tx) error {
		old, err := s.evidenceMeta(ctx, tx, rec.ID)
		if err != nil && !errors.Is(err, goredis.Nil) {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			if old != nil {
				for _, ad := range old.AdIDs {
					p.ZRem(ctx, s.k("ev:ad:", ad), rec.ID)
				}
			}
			p.HSet(ctx, key, "meta", meta, "warc", rec.WARC)
			for _, ad := range rec.AdIDs {
				p.ZAdd(ctx, s.k("ev:ad:", ad), goredis.Z{Score: float64(ms(rec.CapturedAt)), Member: rec.ID})
			}
			return nil
		})
		return err
	}, key)
	return s.wrap(op, err)
}

func (s *Store) evidenceMeta(ctx context.Context, c goredis.Cmdable, id string) (*storage.EvidenceRecord, error) {
	raw, err := c.HGet(ctx, s.k("ev:", id), "meta").Bytes()
	if err != nil {
		return nil, err
	}
	rec := new(storage.EvidenceRecord)
	if err := json.Unmarshal(raw, rec); err != nil {
		return nil, fmt.Errorf("stored evidence %s: %w", id, err)
	}
	return rec, nil
}

// GetEvidence returns a capture with its WARC bytes.
func (s *Store) GetEvidence(ctx context.Context, id string) (*storage.EvidenceRecord, error) {
	vals, err := s.rdb.HMGet(ctx, s.k("ev:", id), "meta", "warc").Result()
	if err != nil {
		return nil, s.wrap("get evidence "+id, err)
	}
	meta, ok1 := vals[0].(string)
	warc, ok2 := vals[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("get evidence %s: %w", id, lokerwatch.ErrNotFound)
	}
	rec := new(storage.EvidenceRecord)
	if err := json.Unmarshal([]byte(meta), rec); err != nil {
		return nil, fmt.Errorf("get evidence %s: stored record: %w", id, err)
	}
	rec.WARC = []byte(warc)
	return rec, nil
}

// EvidenceForAd returns the captures that hold an ad, oldest first.
func (s *Store) EvidenceForAd(ctx context.Context, adID string) ([]storage.EvidenceRecord, error) {
	ids, err := s.rdb.ZRange(ctx, s.k("ev:ad:", adID), 0, -1).Result()
	if err != nil {
		return nil, s.wrap("evidence for ad "+adID, err)
	}
	out := make([]storage.EvidenceRecord, 0, len(ids))
	for _, id := range ids {
		rec, err := s.GetEvidence(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *rec)
	}
	return out, nil
}

// DeleteEvidence removes a capture and its links.
func (s *Store) DeleteEvidence(ctx context.Context, id string) error {
	op := "delete evidence " + id
	key := s.k("ev:", id)
	err := s.watchRetry(ctx, op, func(tx *goredis.Tx) error {
		old, err := s.evidenceMeta(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			for _, ad := range old.AdIDs {
				p.ZRem(ctx, s.k("ev:ad:", ad), id)
			}
			p.Del(ctx, key)
			return nil
		})
		return err
	}, key)
	return s.wrap(op, err)
}
