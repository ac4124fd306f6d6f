package crawler

import (
	"context"
	"errors"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// adAcker is a store that stores a page's ads and acks its lease in one
// step — one Redis script, one SQLite transaction — so that an ad page
// costs a claim and that step, not a write per ad plus an ack. Both stores
// implement it; the ads and the ack land together or, when the lease is
// lost (lokerwatch.ErrLeaseLost), neither does.
type adAcker interface {
	PutAdsAck(ctx context.Context, l *storage.Lease, ads []*lokerwatch.Ad, opt storage.AckOptions) ([]storage.PutResult, error)
}

// putAdsAck finishes a page with ads in one store step and reports whether
// it did. Pages with a flagged ad take the step-by-step path: the ad must be
// queued for review and its page archived before the ack, so that a worker
// dying in between leaves the URL to be fetched again rather than a flagged
// ad nobody reviews. Links are queued first for the same reason.
func (j *job) putAdsAck(ads []*lokerwatch.Ad, links []link, etag, lastModified string) bool {
	c := j.c
	st, ok := c.store.(adAcker)
	if !ok || len(ads) == 0 {
		return false
	}
	for _, ad := range ads {
		if isFlagged(ad) {
			return false
		}
	}
	if err := j.addLinks(links); err != nil {
		c.n.errors.Add(1)
		j.log.Error("queue links", "err", err)
		j.fail(true, err.Error(), j.delay)
		return true
	}
	j.keep.stop()
	if j.keep.lost.Load() {
		return true
	}
	res, err := st.PutAdsAck(j.sctx, j.l, ads, storage.AckOptions{HostDelay: j.delay, ETag: etag, LastModified: lastModified})
	c.wake.signal() // the host is free (or resting) again
	switch {
	case errors.Is(err, lokerwatch.ErrLeaseLost):
		// Another worker has the URL now and stores its ads.
		j.log.Warn("ack", "err", err)
		return true
	case err != nil:
		c.n.errors.Add(1)
		j.log.Error("store ads", "err", err)
		j.fail(true, err.Error(), j.delay)
		return true
	}
	for i, ad := range ads {
		j.stored(ad, res[i])
	}
	j.scheduleRecrawl()
	return true
}
