package lokerwatch

import (
	"errors"
	"fmt"
	"time"
)

// Verdict is an analyst's decision on a review item.
type Verdict string

const (
	VerdictScam          Verdict = "scam"
	VerdictNonprocedural Verdict = "nonprocedural"
	VerdictTrafficking   Verdict = "trafficking"
	VerdictBenign        Verdict = "benign"
	// VerdictEscalate sends the item to a senior reviewer; it stays open.
	VerdictEscalate Verdict = "escalate"
)

// ParseVerdict checks a verdict given by a user.
func ParseVerdict(s string) (Verdict, error) {
	switch v := Verdict(s); v {
	case VerdictScam, VerdictNonprocedural, VerdictTrafficking, VerdictBenign, VerdictEscalate:
		return v, nil
	}
	return "", fmt.Errorf("unknown verdict %q (want scam, nonprocedural, trafficking, benign or escalate)", s)
}

// Label reads a verdict as a training and measuring label: risky for
// scam, nonprocedural and trafficking, not risky for benign; ok is false
// for escalate (no decision yet) and anything else.
func (v Verdict) Label() (risky, ok bool) {
	switch v {
	case VerdictScam, VerdictNonprocedural, VerdictTrafficking:
		return true, true
	case VerdictBenign:
		return false, true
	}
	return false, false
}

// ReviewStatus is where a review item stands.
type ReviewStatus string

const (
	StatusPending ReviewStatus = "pending" // waiting in the queue
	StatusClaimed ReviewStatus = "claimed" // held by an analyst with a live lease
	StatusDecided ReviewStatus = "decided"
)

// ReviewItem is a flagged ad waiting for, or having had, a human decision.
// There is exactly one item per ad.
type ReviewItem struct {
	ID         string       `json:"id"`
	AdID       string       `json:"ad_id"`
	URL        string       `json:"url"`
	Title      string       `json:"title"`
	Source     string       `json:"source"`
	Lang       string       `json:"lang,omitempty"`
	Score      int          `json:"score"`
	Category   Category     `json:"category"`
	Status     ReviewStatus `json:"status"`
	CreatedAt  time.Time    `json:"created_at"`
	Claimant   string       `json:"claimant,omitempty"`
	LeaseUntil time.Time    `json:"lease_until,omitzero"`
	Verdict    Verdict      `json:"verdict,omitempty"`
	Reviewer   string       `json:"reviewer,omitempty"`
	DecidedAt  time.Time    `json:"decided_at,omitzero"`
	Note       string       `json:"note,omitempty"`
	// Cluster is the repost cluster the item's ad belongs to (ads whose
	// SimHash fingerprints are within a few bits), set when it is queued;
	// "" for an ad without a fingerprint, alone in its cluster.
	Cluster string `json:"cluster,omitempty"`
	// ClusterSize is how many items of the cluster matched a grouped
	// listing (storage.ReviewFilter.Group); 0 otherwise.
	ClusterSize int `json:"cluster_size,omitempty"`
}

// ClusterKey is the key items are grouped under: the cluster, or the
// item's own ID when it has none.
func (it *ReviewItem) ClusterKey() string {
	if it.Cluster != "" {
		return it.Cluster
	}
	return "item:" + it.ID
}

// Decision is one analyst decision. Decisions are appended, never
// overwritten: a later decision on the same item supersedes the earlier one
// and both stay in the history.
type Decision struct {
	ItemID    string    `json:"item_id"`
	AdID      string    `json:"ad_id"`
	Verdict   Verdict   `json:"verdict"`
	Reviewer  string    `json:"reviewer"`
	Note      string    `json:"note,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
	// Amend must be set to decide an item that already has a verdict.
	Amend bool `json:"amend,omitempty"`
	// Remote is the client address, when the decision came over HTTP.
	Remote string `json:"remote,omitempty"`
}

// AuditEvent is one entry of the append-only audit log.
type AuditEvent struct {
	ID     string    `json:"id,omitempty"` // assigned by the store
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // user name, or "system"/worker id
	Action string    `json:"action"` // e.g. review.claim, review.decide, user.login, purge
	Object string    `json:"object"` // e.g. review item or ad id
	Remote string    `json:"remote,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Errors the stores return; callers test them with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrNotClaimant    = errors.New("item is claimed by another reviewer or the lease expired")
	ErrAlreadyDecided = errors.New("item already decided (amend to change the verdict)")
	ErrEmpty          = errors.New("nothing to claim")
	ErrLeaseLost      = errors.New("lease lost")
)
