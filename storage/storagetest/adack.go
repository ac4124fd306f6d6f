package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// adAckStore is a store as the crawler's fast path sees it: one step that
// stores a page's ads and acks its lease.
type adAckStore interface {
	storage.Store
	PutAdsAck(ctx context.Context, l *storage.Lease, ads []*lokerwatch.Ad, opt storage.AckOptions) ([]storage.PutResult, error)
}

// testPutAdsAck: the optional PutAdsAck, the crawler's fast path: a page's ads and its ack land together (new and changed
// ads told apart, FirstSeen kept, index keys replaced, the URL done), and
// with the lease lost neither does.
func testPutAdsAck(t *testing.T, store storage.Store) {
	s, ok := store.(adAckStore)
	if !ok {
		t.Skip("store has no PutAdsAck")
	}
	ctx := context.Background()
	base := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := &lokerwatch.Ad{ID: "old", Source: "board", URL: "https://a.example/job/1", Title: "Operator", Text: "gaji UMK",
		FetchedAt: base, Entities: lokerwatch.Entities{Phones: []string{"+6281111"}}}
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
		FetchedAt: base.Add(time.Hour), Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
	fresh := &lokerwatch.Ad{ID: "new", Source: "board", URL: "https://a.example/job/2", Title: "Admin", Text: "kerja di kantor",
		FetchedAt: base.Add(time.Hour), Entities: lokerwatch.Entities{Phones: []string{"+6282222"}}}
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
	if !got.FirstSeen.Equal(base) || !got.LastSeen.Equal(base.Add(time.Hour)) || got.Text != "gaji 30 juta" {
		t.Errorf("stored ad: first %v last %v text %q", got.FirstSeen, got.LastSeen, got.Text)
	}
	if !edited.FirstSeen.Equal(base) {
		t.Errorf("ad passed in has FirstSeen %v, want %v", edited.FirstSeen, base)
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
	lost := &lokerwatch.Ad{ID: "lost", Source: "board", URL: "https://b.example/job/1", Title: "x", Text: "y", FetchedAt: base}
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
