package redis_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

// TestPutAdLegacy: an ad stored by a version without the meta record is
// updated like any other (FirstSeen kept, old index keys dropped), and an
// unreadable one is replaced as new.
func TestPutAdLegacy(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	ctx := ctxT(t)
	rdb, p := s.Client(), s.Prefix()
	t0 := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	legacy := fmt.Sprintf(`{"id":"leg","source":"board","url":"https://a.example/1","title":"Operator","text":"lama",`+
		`"fetched_at":%q,"first_seen":%q,"last_seen":%q,"entities":{"phones":["+6281111"]}}`,
		t0.Format(time.RFC3339), t0.Format(time.RFC3339), t0.Format(time.RFC3339))
	rdb.Set(ctx, p+"ad:leg", legacy, 0)
	rdb.SAdd(ctx, p+"idx:phone:+6281111", "leg")
	rdb.ZAdd(ctx, p+"ads:time", goredis.Z{Score: float64(t0.UnixMilli()), Member: "leg"})
	rdb.Set(ctx, p+"ad:junk", "{not json", 0)

	res, err := s.PutAd(ctx, &lokerwatch.Ad{ID: "leg", Source: "board", URL: "https://a.example/1", Title: "Operator", Text: "baru",
		FetchedAt: t0.Add(time.Hour), Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res != (storage.PutResult{Changed: true}) {
		t.Errorf("legacy ad: %+v, want changed", res)
	}
	got, err := s.GetAd(ctx, "leg")
	if err != nil {
		t.Fatal(err)
	}
	if !got.FirstSeen.Equal(t0) || got.Text != "baru" {
		t.Errorf("legacy ad now: first %v text %q", got.FirstSeen, got.Text)
	}
	if ids, _ := s.AdsByKey(ctx, lokerwatch.IndexKey{Kind: lokerwatch.EntityPhone, Value: "+6281111"}); len(ids) != 0 {
		t.Errorf("legacy phone still indexes %v", ids)
	}
	res, err = s.PutAd(ctx, &lokerwatch.Ad{ID: "junk", Source: "board", Title: "t", Text: "x", FetchedAt: t0})
	if err != nil || !res.New {
		t.Fatalf("unreadable stored ad: %+v, %v; want it replaced as new", res, err)
	}
	if got, err := s.GetAd(ctx, "junk"); err != nil || !got.FirstSeen.Equal(t0) {
		t.Errorf("replaced ad: %+v, %v", got, err)
	}
	if err := s.DeleteAd(ctx, "leg"); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(ctx, p+"adm:leg", p+"idx:phone:+6282222").Result(); n != 0 {
		t.Errorf("DeleteAd left %d of the ad's meta and index keys", n)
	}
}

// TestPutAdRace: writers of the same ad at once agree — one sees it new,
// FirstSeen is the first write's, and the index holds only the last keys.
func TestPutAdRace(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	s := openStore(t, srv, redis.Options{})
	ctx := ctxT(t)
	t0 := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var news []time.Time
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				at := t0.Add(time.Duration(i*5+j+1) * time.Second)
				res, err := s.PutAd(ctx, &lokerwatch.Ad{ID: "same", Source: "board", Title: "t",
					Text: fmt.Sprintf("v%d", i), FetchedAt: at,
					Entities: lokerwatch.Entities{Phones: []string{fmt.Sprintf("+62800%d", i)}}})
				if err != nil {
					errs[i] = err
					return
				}
				if res.New {
					mu.Lock()
					news = append(news, at)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(news) != 1 {
		t.Fatalf("%d writes saw the ad new, want 1", len(news))
	}
	got, err := s.GetAd(ctx, "same")
	if err != nil {
		t.Fatal(err)
	}
	indexed := 0
	for i := 0; i < n; i++ {
		ids, _ := s.AdsByKey(ctx, lokerwatch.IndexKey{Kind: lokerwatch.EntityPhone, Value: fmt.Sprintf("+62800%d", i)})
		indexed += len(ids)
	}
	if indexed != 1 {
		t.Errorf("the ad is indexed under %d phones, want only its last one", indexed)
	}
	if !got.FirstSeen.Equal(news[0]) {
		t.Errorf("first seen %v, want the first write's %v", got.FirstSeen, news[0])
	}
}
