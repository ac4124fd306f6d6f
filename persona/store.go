package persona

import (
	"context"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// LinkingStore is a storage.Store that puts every ad it stores into its
// persona, so the crawler (and anything else that stores ads) keeps the
// persona index current without knowing about it. An ad stored but not
// linked (the persona step failed) is logged and counted, never lost:
// Backfill links it again.
type LinkingStore struct {
	storage.Store
	l *Linker
}

// Linking wraps st.
func Linking(st storage.Store, l *Linker) *LinkingStore { return &LinkingStore{Store: st, l: l} }

// Unwrap returns the wrapped store.
func (s *LinkingStore) Unwrap() storage.Store { return s.Store }

func (s *LinkingStore) link(ctx context.Context, ad *lokerwatch.Ad) {
	if _, err := s.l.Link(ctx, ad); err != nil {
		s.l.log.Warn("ad stored but not linked into a persona", "ad", ad.ID, "err", err)
	}
}

// PutAd stores the ad, then links it.
func (s *LinkingStore) PutAd(ctx context.Context, ad *lokerwatch.Ad) (storage.PutResult, error) {
	res, err := s.Store.PutAd(ctx, ad)
	if err == nil {
		s.link(ctx, ad)
	}
	return res, err
}

// FinishPages finishes the pages, then links the ads of those finished,
// all in one store step (Linker.LinkAll).
func (s *LinkingStore) FinishPages(ctx context.Context, pages []storage.FinishedPage) ([]storage.PageResult, error) {
	res, err := s.Store.FinishPages(ctx, pages)
	if err != nil {
		return res, err
	}
	var ads []*lokerwatch.Ad
	for i, r := range res {
		if r.Err != nil || i >= len(pages) {
			continue
		}
		ads = append(ads, pages[i].Ads...)
	}
	if err := s.l.LinkAll(ctx, ads); err != nil {
		s.l.log.Warn("ads stored but not all linked into their personas", "ads", len(ads), "err", err)
	}
	return res, nil
}
