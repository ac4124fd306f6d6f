package redis_test

import (
	"context"
	"errors"
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

func TestPutAdsAck(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	checkPutAdsAck(t, openStore(t, srv, redis.Options{}))
}

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

// adAckStore is the store as the crawler's fast path sees it.
type adAckStore interface {
	storage.Store
	PutAdsAck(ctx context.Context, l *storage.Lease, ads []*lokerwatch.Ad, opt storage.AckOptions) ([]storage.PutResult, error)
}

// checkPutAdsAck: a page's ads and its ack land together (new and changed
// ads told apart, FirstSeen kept, index keys replaced, the URL done), and
// with the lease lost neither does.
func checkPutAdsAck(t *testing.T, s adAckStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := &lokerwatch.Ad{ID: "old", Source: "board", URL: "https://a.example/job/1", Title: "Operator", Text: "gaji UMK",
		FetchedAt: t0, Entities: lokerwatch.Entities{Phones: []string{"+6281111"}}}
	if _, err := s.PutAd(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add(ctx, storage.Request{URL: "https://a.example/jobs", Source: "board", Kind: "page"},
		storage.Request{URL: "https://b.example/jobs", Source: "board", Kind: "page"}); err != nil {
		t.Fatal(err)
	}
	claim := func() *storage.Lease {
		l, err := s.ClaimRequest(ctx, "w", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := claim()
	edited := &lokerwatch.Ad{ID: "old", Source: "board", URL: old.URL, Title: "Operator", Text: "gaji 30 juta",
		FetchedAt: t0.Add(time.Hour), Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
	fresh := &lokerwatch.Ad{ID: "new", Source: "board", URL: "https://a.example/job/2", Title: "Admin", Text: "kerja di kantor",
		FetchedAt: t0.Add(time.Hour), Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
	res, err := s.PutAdsAck(ctx, l, []*lokerwatch.Ad{edited, fresh}, storage.AckOptions{ETag: `"v1"`})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0] != (storage.PutResult{Changed: true}) || res[1] != (storage.PutResult{New: true}) {
		t.Fatalf("results = %+v, want changed then new", res)
	}
	got, err := s.GetAd(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if !got.FirstSeen.Equal(t0) || !got.LastSeen.Equal(t0.Add(time.Hour)) || got.Text != "gaji 30 juta" {
		t.Errorf("stored ad: first %v last %v text %q", got.FirstSeen, got.LastSeen, got.Text)
	}
	if !edited.FirstSeen.Equal(t0) {
		t.Errorf("ad passed in has FirstSeen %v, want %v", edited.FirstSeen, t0)
	}
	if ids, _ := s.AdsByKey(ctx, lokerwatch.IndexKey{Kind: lokerwatch.EntityPhone, Value: "+6281111"}); len(ids) != 0 {
		t.Errorf("old phone still indexes %v", ids)
	}
	if ids, _ := s.AdsByKey(ctx, lokerwatch.IndexKey{Kind: lokerwatch.EntityPhone, Value: "+6282222"}); len(ids) != 2 {
		t.Errorf("new phone indexes %v, want both ads", ids)
	}
	st, err := s.FrontierStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Done != 1 || st.InFlight != 0 || st.Queued != 1 {
		t.Errorf("frontier after the ack: %+v", st)
	}

	// Lease lost: another worker got the URL after this lease expired.
	l = claim()
	if err := s.Ack(ctx, l, storage.AckOptions{}); err != nil {
		t.Fatal(err)
	}
	lost := &lokerwatch.Ad{ID: "lost", Source: "board", URL: "https://b.example/job/1", Title: "x", Text: "y", FetchedAt: t0}
	if _, err := s.PutAdsAck(ctx, l, []*lokerwatch.Ad{lost}, storage.AckOptions{}); !errors.Is(err, lokerwatch.ErrLeaseLost) {
		t.Fatalf("PutAdsAck on a lost lease: %v, want ErrLeaseLost", err)
	}
	if _, err := s.GetAd(ctx, "lost"); !errors.Is(err, lokerwatch.ErrNotFound) {
		t.Errorf("ad of a lost lease was stored (GetAd: %v)", err)
	}
	if _, err := s.PutAdsAck(ctx, l, []*lokerwatch.Ad{{Title: "no id"}}, storage.AckOptions{}); err == nil {
		t.Error("PutAdsAck took an ad without ID")
	}
}
