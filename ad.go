// Package lokerwatch holds the domain types that move through the pipeline:
// an Ad found by the crawler, the Assessment the classifiers give it, and the
// review items, decisions and audit events built on them. It is plain data;
// the packages below it (crawler, classifiers, storage, review, evidence) take
// these types and own the behaviour.
package lokerwatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"
)

// Category names what kind of harm an ad points to.
type Category string

const (
	CategoryNone          Category = ""
	CategoryScam          Category = "scam"          // online-scam compound recruitment
	CategoryNonprocedural Category = "nonprocedural" // placement outside the legal P3MI/SISKOP2MI route
	CategoryTrafficking   Category = "trafficking"   // forced labour, debt bondage, exploitation
)

// Categories lists the scored categories in a stable order.
var Categories = []Category{CategoryScam, CategoryNonprocedural, CategoryTrafficking}

// SourceType is the kind of source an ad came from.
type SourceType string

const (
	SourceJobBoard SourceType = "jobboard"
	SourceTelegram SourceType = "telegram"
	SourceRSS      SourceType = "rss"
	SourceHTML     SourceType = "html"
)

// Ad is one job offer (or post) as found on a source.
type Ad struct {
	// ID is stable for the same ad: see AdID.
	ID         string     `json:"id"`
	Source     string     `json:"source"`      // source name from the config
	SourceType SourceType `json:"source_type"` // jobboard, telegram, rss, html
	URL        string     `json:"url"`         // permalink of the ad
	PageURL    string     `json:"page_url"`    // page it was extracted from (may equal URL)
	FetchedAt  time.Time  `json:"fetched_at"`
	// ResponseDigest is "sha256:<hex>" of the response body the ad came from.
	ResponseDigest string `json:"response_digest,omitempty"`

	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Company  string    `json:"company,omitempty"`
	Location string    `json:"location,omitempty"`
	Salary   string    `json:"salary,omitempty"` // as written in the ad / structured data
	PostedAt time.Time `json:"posted_at,omitzero"`
	Lang     string    `json:"lang,omitempty"` // id, en, mixed, or empty when unknown

	// FirstSeen and LastSeen are maintained by the store.
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Sources lists every source that found the ad, with when; kept by
	// the store. Source is the one whose content is stored: an ad's own
	// page wins over a feed item or listing entry that links to it.
	Sources []Sighting `json:"sources,omitempty"`
	// RemovedAt is when a revisit found the ad's page gone (HTTP 404 or
	// 410); zero while it is up.
	RemovedAt time.Time `json:"removed_at,omitzero"`
	// FromPage says the page had no usable structured posting (JSON-LD
	// JobPosting): the ad is the page's own title and main text.
	FromPage bool `json:"from_page,omitempty"`

	Entities   Entities    `json:"entities"`
	Assessment *Assessment `json:"assessment,omitempty"`
	// Fingerprint is a near-duplicate hash (SimHash) of the normalised text;
	// ads whose fingerprints differ in few bits are reposts of one another.
	Fingerprint uint64 `json:"fingerprint,omitempty"`
}

// Body is the text that signal offsets point into: title + "\n" + text.
func (a *Ad) Body() string { return a.Title + "\n" + a.Text }

// ContentHash is a digest of what the ad says, used to tell whether a page
// changed between crawls.
func (a *Ad) ContentHash() string {
	h := sha256.Sum256([]byte(a.Title + "\x00" + a.Text + "\x00" + a.Company + "\x00" + a.Location + "\x00" + a.Salary))
	return hex.EncodeToString(h[:16])
}

// AdID derives the stable ID of an ad from its source and canonical
// permalink, so the same ad crawled twice (or by two workers) is one ad.
func AdID(source, canonicalURL string) string {
	h := sha256.Sum256([]byte(source + "\x00" + canonicalURL))
	return hex.EncodeToString(h[:10])
}

// PageAdID is the ID of an ad with a page of its own, from its canonical
// URL alone: every source that finds the page (a board's listing, its RSS
// feed) finds the same ad. Ads without a permalink of their own (several
// posts on one page, told apart by an anchor) keep AdID(source, …).
func PageAdID(canonicalURL string) string { return AdID("", canonicalURL) }

// OwnPage tells whether the ad was read from its own page (not from a feed
// item or a listing entry that links to it).
func (a *Ad) OwnPage() bool { return a.PageURL == "" || a.PageURL == a.URL }

// Sighting is when one source found an ad.
type Sighting struct {
	Source    string    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
}

// AddSighting records that source found the ad at t: its LastSeen moves
// on, or it is added. The result is ordered by FirstSeen, then source.
func AddSighting(ss []Sighting, source string, t time.Time) []Sighting {
	if source == "" {
		return ss
	}
	for i := range ss {
		if ss[i].Source == source {
			if t.After(ss[i].LastSeen) {
				ss[i].LastSeen = t
			}
			return ss
		}
	}
	ss = append(ss, Sighting{Source: source, FirstSeen: t, LastSeen: t})
	sort.SliceStable(ss, func(i, j int) bool {
		if !ss[i].FirstSeen.Equal(ss[j].FirstSeen) {
			return ss[i].FirstSeen.Before(ss[j].FirstSeen)
		}
		return ss[i].Source < ss[j].Source
	})
	return ss
}

// Entities are the contact points and facts extracted from an ad. Values are
// normalised (phones in E.164, handles lower-case without "@").
type Entities struct {
	Phones    []string `json:"phones,omitempty"`
	WhatsApp  []string `json:"whatsapp,omitempty"`
	Telegram  []string `json:"telegram,omitempty"`
	Emails    []string `json:"emails,omitempty"`
	Countries []string `json:"countries,omitempty"` // ISO 3166-1 alpha-2, upper case
	Places    []string `json:"places,omitempty"`    // cities and hotspots (Sihanoukville, KK Park, …)
	Agencies  []string `json:"agencies,omitempty"`
	Licences  []string `json:"licences,omitempty"`
	// SalaryIDR is the highest salary mentioned, normalised to rupiah per month; 0 when none.
	SalaryIDR int64 `json:"salary_idr,omitempty"`

	// The money trail (classifiers.FillTrail): bank accounts "bca:1234567890",
	// their holders' names as written after "a.n.", e-wallets
	// "dana:+6281234567890", crypto addresses "tron:T…", "eth:0x…", "btc:…",
	// profiles "instagram:handle", "facebook:name", "tiktok:handle", and
	// web domains "example.com".
	Accounts []string          `json:"accounts,omitempty"`
	Holders  map[string]string `json:"holders,omitempty"`
	EWallets []string          `json:"ewallets,omitempty"`
	Crypto   []string          `json:"crypto,omitempty"`
	Profiles []string          `json:"profiles,omitempty"`
	Domains  []string          `json:"domains,omitempty"`
}

// EntityKind names a kind of entity for linking and search.
type EntityKind string

const (
	EntityPhone    EntityKind = "phone"
	EntityWhatsApp EntityKind = "whatsapp"
	EntityTelegram EntityKind = "telegram"
	EntityEmail    EntityKind = "email"
	EntityAgency   EntityKind = "agency"
	EntityBank     EntityKind = "bank"
	EntityEWallet  EntityKind = "ewallet"
	EntityCrypto   EntityKind = "crypto"
	EntityProfile  EntityKind = "profile"
	EntityDomain   EntityKind = "domain"
)

// EntityKinds lists the linkable kinds in the order pages show them.
var EntityKinds = []EntityKind{EntityPhone, EntityWhatsApp, EntityTelegram, EntityEmail, EntityBank, EntityEWallet, EntityCrypto, EntityProfile, EntityDomain, EntityAgency}

// Linkable returns the entities that link ads to each other, by kind.
func (e Entities) Linkable() map[EntityKind][]string {
	m := map[EntityKind][]string{}
	add := func(k EntityKind, vs []string) {
		if len(vs) > 0 {
			m[k] = vs
		}
	}
	add(EntityPhone, e.Phones)
	add(EntityWhatsApp, e.WhatsApp)
	add(EntityTelegram, e.Telegram)
	add(EntityEmail, e.Emails)
	add(EntityAgency, e.Agencies)
	add(EntityBank, e.Accounts)
	add(EntityEWallet, e.EWallets)
	add(EntityCrypto, e.Crypto)
	add(EntityProfile, e.Profiles)
	add(EntityDomain, e.Domains)
	return m
}

// Assessment is what the classifiers concluded about an ad.
type Assessment struct {
	Score      int              `json:"score"` // 0–100
	Flagged    bool             `json:"flagged"`
	Category   Category         `json:"category"`
	Categories map[Category]int `json:"categories"` // 0–100 per category
	// NotAnOffer is set when the text warns about scams, reports news or tells
	// a story rather than offering a job.
	NotAnOffer bool     `json:"not_an_offer,omitempty"`
	Signals    []Signal `json:"signals"`
	// Version names the classifier build (rules digest) that produced it.
	Version string `json:"version,omitempty"`
}

// Signal is one piece of evidence for (positive weight) or against
// (negative weight) a category.
type Signal struct {
	Rule        string   `json:"rule"`
	Category    Category `json:"category"`
	Weight      int      `json:"weight"`
	Description string   `json:"description,omitempty"`
	Evidence    string   `json:"evidence"`
	// Start and End are byte offsets into Ad.Body() (title + "\n" + text);
	// both are 0 when the signal has no single span (e.g. a source-type rule).
	Start int `json:"start"`
	End   int `json:"end"`
}

// IndexKey is a value under which stores index ads so that linked ads (same
// phone, same handle, near-duplicate text) can be found.
type IndexKey struct {
	Kind  EntityKind `json:"kind"`
	Value string     `json:"value"`
}

// EntityFingerprint is the kind of the four 16-bit bands of Ad.Fingerprint:
// two SimHashes within 3 bits of each other share at least one band.
const EntityFingerprint EntityKind = "simhash"

// IndexKeys lists the keys a store indexes an ad under.
func IndexKeys(ad *Ad) []IndexKey {
	var keys []IndexKey
	seen := map[IndexKey]bool{}
	for kind, vs := range ad.Entities.Linkable() {
		for _, v := range vs {
			k := IndexKey{kind, v}
			if v != "" && !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	if ad.Fingerprint != 0 {
		for band := 0; band < 4; band++ {
			v := (ad.Fingerprint >> (16 * band)) & 0xffff
			keys = append(keys, IndexKey{EntityFingerprint, fmt.Sprintf("%d:%04x", band, v)})
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Kind != keys[j].Kind {
			return keys[i].Kind < keys[j].Kind
		}
		return keys[i].Value < keys[j].Value
	})
	return keys
}
