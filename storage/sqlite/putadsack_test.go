package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

func TestPutAdsAck(t *testing.T) {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkPutAdsAck(t, s)
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
