// Package storage defines what the crawler, the review desk and the exporter
// need from a store. storage/sqlite (embedded, the default) and storage/redis
// (distributed) implement every interface here, and storage/storagetest
// holds the one conformance suite both must pass.
package storage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// MaxTurn bounds the requests of one ClaimRequests call, in every store.
const MaxTurn = 256

// TurnLen is how many requests a store hands out for a turn of n asked
// (ClaimRequests, ContinueTurn): n below 1 is 1, n above MaxTurn is MaxTurn.
func TurnLen(n int) int { return min(max(n, 1), MaxTurn) }

// Store is everything lokerwatch keeps.
type Store interface {
	Frontier
	PageFinisher
	RobotsCache
	Ads
	ReviewQueue
	Audit
	Evidence
	Users
	LinkDrops
	Personas
	Cases
	Outbox
	// Ping reports whether the store is reachable (used by /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// Request is a URL waiting in, or taken from, the frontier. URL is already
// canonical (crawler.Canonical) when it reaches the store.
type Request struct {
	URL    string `json:"url"`
	Source string `json:"source"` // source name from the config
	Depth  int    `json:"depth"`
	// Kind tells the crawler what to expect: "seed", "listing" (pagination,
	// channel and feed pages, revisited by a source's `every`) or "page".
	Kind string `json:"kind,omitempty"`
	// NotBefore delays the request (back-off, scheduled recrawl).
	NotBefore time.Time `json:"not_before,omitzero"`
	// Revisit bypasses the seen set (scheduled recrawl of listing pages). A
	// URL already queued or in flight is still not queued twice.
	Revisit bool `json:"revisit,omitempty"`
	// Recur marks a page its source will revisit (ad_every): as for seeds
	// and listings, FrontierStats then moves it out of done when the
	// revisit is queued instead of counting it done once per visit.
	Recur bool `json:"recur,omitempty"`
	// Attempts counts earlier failed tries; set by the store.
	Attempts int `json:"attempts,omitempty"`
	// ETag and LastModified from the previous fetch, for conditional GETs;
	// set by the store on ClaimRequest when it knows them.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
}

// Lease is a claimed request. The worker extends it while fetching and ends
// it with Ack or Fail; an expired lease is returned to the queue by ReapRequests.
type Lease struct {
	Request
	Token  string    `json:"token"`
	Host   string    `json:"host"` // politeness key: host[:port] of URL
	Worker string    `json:"worker"`
	Until  time.Time `json:"until"`
}

// AckOptions are set by the worker when a fetch is over.
type AckOptions struct {
	// HostDelay is how long the host must rest before its next fetch by any
	// worker: max(crawl.host_delay, robots Crawl-delay) capped.
	HostDelay time.Duration
	// ETag and LastModified are kept for the next conditional fetch.
	ETag, LastModified string
}

// FailOptions say what to do with a request that failed.
type FailOptions struct {
	Reason string
	// Retry requeues the request with exponential back-off until
	// MaxAttempts tries were made; then it is dead. Without Retry the failure
	// is permanent (404, refused by the guard or robots.txt, …).
	Retry       bool
	MaxAttempts int
	// HostDelay rests the host (e.g. Retry-After on a 429 or 503).
	HostDelay time.Duration
}

// Beat is one heartbeat of a worker.
type Beat struct {
	Worker string
	TTL    time.Duration
	// InFlight lists the tokens of the leases the worker is working on
	// now; the rest of its leases are waiting their turn.
	InFlight []string
	// MaxDeaths is how many workers may die while a URL is in flight
	// before it is dead (below 1: DefaultMaxDeaths).
	MaxDeaths int
}

// DefaultMaxDeaths is Beat.MaxDeaths when it is not set.
const DefaultMaxDeaths = 3

// DiedReason is the reason of a request that was in flight when its
// worker died Beat.MaxDeaths times.
func DiedReason(n int) string {
	return fmt.Sprintf("in flight when its worker died %d times", n)
}

// FrontierStats counts the frontier's states.
type FrontierStats struct {
	Queued   int64 `json:"queued"`
	InFlight int64 `json:"in_flight"`
	Done     int64 `json:"done"`
	Failed   int64 `json:"failed"`
	Dead     int64 `json:"dead"`
	// OldestQueued is when the oldest queued request was added (zero when none).
	OldestQueued time.Time `json:"oldest_queued,omitzero"`
}

// Finished reports whether a crawl is over: nothing queued, nothing in flight.
func (s FrontierStats) Finished() bool { return s.Queued == 0 && s.InFlight == 0 }

// FailedRequest is a request that failed for good, with its reason.
type FailedRequest struct {
	Request
	Reason   string    `json:"reason"`
	Dead     bool      `json:"dead"` // retries exhausted (else permanent failure)
	FailedAt time.Time `json:"failed_at"`
}

// Frontier is the shared crawl queue: per-host queues under one politeness
// schedule, leases, retries and a seen set checked when a URL is added.
type Frontier interface {
	// Add queues the requests whose URL was not seen before (or that are
	// Revisit and not already queued or in flight) and returns how many were
	// queued. Adding is idempotent across workers.
	Add(ctx context.Context, reqs ...Request) (int, error)
	// Seen reports whether a canonical URL was ever added.
	Seen(ctx context.Context, url string) (bool, error)
	// ClaimRequest takes the next request whose host is free (no fetch in flight,
	// host delay passed) and whose NotBefore passed, with a lease of ttl.
	// It returns lokerwatch.ErrEmpty when nothing is ready now; Stats tells
	// whether anything is still to come. It is ClaimRequests with n = 1.
	ClaimRequest(ctx context.Context, worker string, ttl time.Duration) (*Lease, error)
	// ClaimRequests gives the worker a turn at one free host: up to n of
	// its ready requests, oldest ready first, each with its own lease of ttl.
	// The host stays busy — no claim by anyone gets another of its URLs —
	// until every lease of the turn has ended (Ack, Fail, Release, or expired
	// and reaped). The worker fetches them one after the other and rests the
	// host between them itself, so politeness holds however many workers
	// there are, and a page costs a fraction of a round trip to the store.
	// It returns lokerwatch.ErrEmpty when nothing is ready now. n below 1
	// is taken as 1 and n above MaxTurn as MaxTurn.
	ClaimRequests(ctx context.Context, worker string, ttl time.Duration, n int) ([]*Lease, error)
	// ContinueTurn lengthens the worker's turn at held.Host by up to n more
	// of the host's ready requests (leased as ClaimRequests does), so that
	// a host with much to fetch is not left idle between turns. It does so
	// only while held, a lease of the turn, is still the worker's and no
	// other host is ready to be claimed: a waiting host gets its turn
	// first. It returns lokerwatch.ErrEmpty when the turn cannot go on
	// (wrapping lokerwatch.ErrLeaseLost when held is no longer held).
	// n is bounded as in ClaimRequests.
	ContinueTurn(ctx context.Context, worker string, ttl time.Duration, held *Lease, n int) ([]*Lease, error)
	// Extend renews leases for ttl from now and sets their Until. When any
	// of them expired and was reaped or was taken by another worker, it
	// still extends the others and returns an error wrapping
	// lokerwatch.ErrLeaseLost.
	Extend(ctx context.Context, ttl time.Duration, leases ...*Lease) error
	// Release gives back leases not worked on (a worker stopping, a turn
	// cut short): each request is queued again where it was, without
	// counting an attempt, and the host is free once its turn is over.
	// Leases already lost are skipped.
	Release(ctx context.Context, leases ...*Lease) error
	// Ack marks the request done and rests its host.
	Ack(ctx context.Context, l *Lease, opt AckOptions) error
	// Fail records a failed fetch: requeued with back-off, dead, or failed.
	Fail(ctx context.Context, l *Lease, opt FailOptions) error
	// ReapRequests returns expired leases to the queue and frees their
	// hosts, and reclaims every lease of a worker whose heartbeat lapsed
	// (see Heartbeat). Claims do the same before they look for work.
	ReapRequests(ctx context.Context) (int, error)
	// Heartbeat says the worker is alive until b.TTL from now (store
	// time). Once a worker has beaten, its heartbeat rules its leases:
	// when it lapses, all of them are reclaimed at the next claim or reap
	// — the requests queued again where they were, no attempt counted —
	// however long the leases themselves still run; a worker that beats
	// keeps its leases as long as it extends them. The requests named in
	// b.InFlight (being fetched or extracted when the worker beat) count
	// one worker death each; one that reaches b.MaxDeaths deaths is dead
	// with reason DiedReason. A TTL of 0 ends the heartbeat (a worker
	// leaving after giving its leases back).
	Heartbeat(ctx context.Context, b Beat) error
	FrontierStats(ctx context.Context) (FrontierStats, error)
	// ListFailed returns failed and dead requests, newest first.
	ListFailed(ctx context.Context, limit int) ([]FailedRequest, error)
}

// FinishedPage is a fetched page whose ads are to be stored and whose
// lease is to be acked in the same step.
type FinishedPage struct {
	Lease *Lease
	Ads   []*lokerwatch.Ad
	Ack   AckOptions
}

// PageResult is what FinishPages did with one page.
type PageResult struct {
	// Puts has one PutResult per ad, in order (nil when Err is set).
	Puts []PutResult
	// Err wraps lokerwatch.ErrLeaseLost when the page's lease was lost:
	// then none of its ads were written and another worker has the URL.
	Err error
}

// PageFinisher ends fetched pages in one store step — one Redis script,
// one SQLite transaction — however many there are: for each page whose
// lease still holds, its ads are stored (as PutAd) and its lease acked (as
// Ack), both or neither. It is the crawler's path for pages without
// flagged ads; a page with a flagged ad is queued for review and archived
// before its ack, step by step.
type PageFinisher interface {
	// FinishPages returns one result per page. An error means nothing was
	// written (the store failed, or an ad has no ID).
	FinishPages(ctx context.Context, pages []FinishedPage) ([]PageResult, error)
}

// DroppedLinks counts the links of a source that crawls left out by a
// crawl limit (max_depth, a trap, …), for `status`.
type DroppedLinks struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
	N      int64  `json:"links"`
}

// SortDroppedLinks orders counts by source, then reason.
func SortDroppedLinks(ds []DroppedLinks) {
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Source != ds[j].Source {
			return ds[i].Source < ds[j].Source
		}
		return ds[i].Reason < ds[j].Reason
	})
}

// LinkDrops keeps the dropped-link counts of every crawl, summed.
type LinkDrops interface {
	// AddDroppedLinks adds each count to its source and reason's total.
	AddDroppedLinks(ctx context.Context, counts []DroppedLinks) error
	// DroppedLinks returns the totals, sorted (SortDroppedLinks).
	DroppedLinks(ctx context.Context) ([]DroppedLinks, error)
}

// RobotsCache keeps robots.txt answers shared by all workers.
type RobotsCache interface {
	// GetRobots returns the cached robots.txt of a scheme://host[:port]
	// key; found is false when absent or expired.
	GetRobots(ctx context.Context, key string) (body []byte, status int, found bool, err error)
	PutRobots(ctx context.Context, key string, body []byte, status int, ttl time.Duration) error
}

// PutResult tells what PutAd did.
type PutResult struct {
	New     bool // first time this ad ID was stored
	Changed bool // content differs from the stored version (false when New)
}

// AdFilter selects ads. Zero values select everything.
type AdFilter struct {
	FlaggedOnly bool
	Source      string
	Since       time.Time // FetchedAt (last seen) at or after
	Until       time.Time // before
	Limit       int
}

// Ads keeps every ad found, indexed by the entities that link ads.
type Ads interface {
	// PutAd inserts or updates an ad by its ID, keeping FirstSeen and
	// setting LastSeen, and indexes lokerwatch.IndexKeys(ad). It records
	// ad.Source among the ad's Sources (first and last seen per source).
	// An ad read from its own page keeps its content when the same ad
	// comes again from elsewhere (a feed item linking to it): then only
	// the sighting is recorded. An ad of its own page (URL without a
	// fragment) stored under another ID by an older version keeps that
	// ID: PutAd sets ad.ID to it. FirstSeen, LastSeen and Sources are set
	// on the ad passed in.
	PutAd(ctx context.Context, ad *lokerwatch.Ad) (PutResult, error)
	GetAd(ctx context.Context, id string) (*lokerwatch.Ad, error)
	// ScanAds calls fn for each matching ad, oldest first, streaming so that
	// exports run in constant memory. An error from fn stops the scan.
	ScanAds(ctx context.Context, f AdFilter, fn func(*lokerwatch.Ad) error) error
	// AdsByKey returns the IDs of ads indexed under key (see lokerwatch.IndexKeys).
	AdsByKey(ctx context.Context, key lokerwatch.IndexKey) ([]string, error)
	CountAds(ctx context.Context) (total, flagged int64, err error)
	// MarkRemoved sets RemovedAt (when not set yet) on the ad whose own
	// page is url, found gone on a revisit; false when there is no such
	// ad. Storing the ad again (its page is back) clears it.
	MarkRemoved(ctx context.Context, url string, at time.Time) (bool, error)
	DeleteAd(ctx context.Context, id string) error
}

// ReviewFilter selects review items. Zero values select everything.
type ReviewFilter struct {
	Status   lokerwatch.ReviewStatus // "" for all
	Category lokerwatch.Category
	Source   string
	Lang     string
	Since    time.Time // CreatedAt at or after
	Until    time.Time
	Limit    int
	Offset   int
}

// ReviewQueue is the analysts' queue: highest score first, ties oldest
// first; one item per ad; claims with leases; decisions appended to history
// and every change to the audit log.
type ReviewQueue interface {
	// Enqueue adds the ad's review item once; later calls for the same ad
	// return the existing item with created=false (and refresh its score
	// while it is still pending).
	Enqueue(ctx context.Context, ad *lokerwatch.Ad) (item *lokerwatch.ReviewItem, created bool, err error)
	// ClaimNext claims the highest-priority pending item matching f (Status
	// is ignored) for reviewer; lokerwatch.ErrEmpty when there is none.
	ClaimNext(ctx context.Context, reviewer string, ttl time.Duration, f ReviewFilter) (*lokerwatch.ReviewItem, error)
	// ClaimItem claims one item by ID: ErrNotClaimant when another reviewer holds
	// a live lease, ErrAlreadyDecided when it is decided.
	ClaimItem(ctx context.Context, id, reviewer string, ttl time.Duration) (*lokerwatch.ReviewItem, error)
	// RenewItem extends reviewer's lease on id; ErrNotClaimant if not held.
	RenewItem(ctx context.Context, id, reviewer string, ttl time.Duration) error
	// ReleaseItem puts a claimed item back in the queue at its priority.
	ReleaseItem(ctx context.Context, id, reviewer string) error
	// Decide records a decision. The reviewer must hold the claim, or the
	// item must be pending and unclaimed (it is then claimed and decided
	// at once). Deciding a decided item needs d.Amend. Escalate keeps the
	// item pending.
	Decide(ctx context.Context, d lokerwatch.Decision) (*lokerwatch.ReviewItem, error)
	GetItem(ctx context.Context, id string) (*lokerwatch.ReviewItem, error)
	ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error)
	// ListItems returns items by priority (score desc, then oldest first).
	ListItems(ctx context.Context, f ReviewFilter) ([]lokerwatch.ReviewItem, error)
	CountItems(ctx context.Context) (map[lokerwatch.ReviewStatus]int64, error)
	// Decisions returns an item's decision history, oldest first.
	Decisions(ctx context.Context, itemID string) ([]lokerwatch.Decision, error)
	// ReapClaims returns items with expired leases to the queue.
	ReapClaims(ctx context.Context) (int, error)
}

// AuditFilter selects audit events.
type AuditFilter struct {
	Object string
	Actor  string
	Since  time.Time
	Limit  int
	// Newest returns the Limit newest matching events, newest first
	// (without it, the Limit oldest, oldest first). The store reads no
	// more than it returns, so a huge log costs a bounded page.
	Newest bool
}

// Audit is the append-only log of who did what.
type Audit interface {
	AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error
	// ListAudit returns matching events oldest first (newest first with
	// f.Newest).
	ListAudit(ctx context.Context, f AuditFilter) ([]lokerwatch.AuditEvent, error)
}

// EvidenceRecord is a capture of one HTTP exchange as WARC records.
type EvidenceRecord struct {
	ID         string    `json:"id"` // WARC-Record-ID of the response record
	URL        string    `json:"url"`
	AdIDs      []string  `json:"ad_ids"`
	CapturedAt time.Time `json:"captured_at"`
	// WARC holds the records (request, response, metadata), each its own
	// gzip member, concatenated: a valid .warc.gz on its own.
	WARC []byte `json:"-"`
	// Digest is "sha256:<hex>" of WARC.
	Digest string `json:"digest"`
}

// Evidence keeps raw captures of pages that yielded flagged ads.
type Evidence interface {
	PutEvidence(ctx context.Context, rec *EvidenceRecord) error
	GetEvidence(ctx context.Context, id string) (*EvidenceRecord, error)
	// EvidenceForAd returns the captures that hold an ad, oldest first.
	EvidenceForAd(ctx context.Context, adID string) ([]EvidenceRecord, error)
	DeleteEvidence(ctx context.Context, id string) error
}

// Role is what a user may do.
type Role string

const (
	RoleAnalyst      Role = "analyst"
	RoleInvestigator Role = "investigator"
	RoleAdmin        Role = "admin"
)

// User is an account of the review desk.
type User struct {
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"` // argon2id, PHC string format
	CreatedAt    time.Time `json:"created_at"`
	Disabled     bool      `json:"disabled,omitempty"`
}

// Session is a logged-in browser session or an API token. ID is a hash of
// the secret the client holds, never the secret itself.
type Session struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	CSRF      string    `json:"csrf,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Expires   time.Time `json:"expires"` // zero: never (API tokens)
	Token     bool      `json:"token,omitempty"`
}

// Users keeps accounts, sessions and API tokens.
type Users interface {
	PutUser(ctx context.Context, u *User) error
	GetUser(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	PutSession(ctx context.Context, s *Session) error
	// GetSession returns ErrNotFound for unknown or expired sessions.
	GetSession(ctx context.Context, id string) (*Session, error)
	DeleteSession(ctx context.Context, id string) error
	// ListSessions returns the live sessions and API tokens of a user (to
	// list and revoke tokens, and to end them all when the password changes
	// or the account is disabled).
	ListSessions(ctx context.Context, user string) ([]Session, error)
}
