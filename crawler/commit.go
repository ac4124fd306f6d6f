package crawler

import (
	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// finishPage ends a page without flagged ads through the turn: its links
// are queued now, its ads stored and its lease acked with the turn's next
// flush (storage.PageFinisher), so that a page costs a share of one store
// step rather than a write per ad plus an ack. It reports false for pages
// with a flagged ad: those take the step-by-step path, where the ad is
// queued for review and its page archived before the ack, so that a worker
// dying in between leaves the URL to be fetched again rather than a flagged
// ad nobody reviews. Links are queued first for the same reason.
func (j *job) finishPage(ads []*lokerwatch.Ad, links []link, etag, lastModified string) bool {
	c := j.c
	for _, ad := range ads {
		if isFlagged(ad) {
			return false
		}
	}
	if err := j.addLinks(links, ads); err != nil {
		c.n.errors.Add(1)
		j.logger().Error("queue links", "err", err)
		j.fail(true, err.Error(), j.delay)
		return true
	}
	j.t.finish(j, storage.FinishedPage{Lease: j.l, Ads: ads,
		Ack: storage.AckOptions{HostDelay: j.delay, ETag: etag, LastModified: lastModified}})
	return true
}
