package storage

import (
	"context"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// Persona is a connected component of ads linked by strong entities (a
// phone, an account, a wallet, a handle, a profile) or by reposting the
// same text: most likely one recruiter or one network. Personas only grow:
// an ad joins one, and two personas an ad links are merged into the larger,
// whose ID stays.
type Persona struct {
	ID        string    `json:"id"`
	Size      int       `json:"size"` // ads
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	// Categories counts the member ads by the category they had when they
	// joined (uncategorised ads are counted under "").
	Categories map[lokerwatch.Category]int `json:"categories,omitempty"`
	// Sources counts member ads by source.
	Sources map[string]int `json:"sources,omitempty"`
}

// PersonaLink is one ad arriving at the persona index.
type PersonaLink struct {
	AdID string
	// Keys are the ad's strong entities (lokerwatch.PersonaKeys): the ad
	// joins every persona already holding one of them.
	Keys []lokerwatch.IndexKey
	// Ads are other ads to join directly (reposts of the same text); ads
	// not yet in a persona are ignored.
	Ads       []string
	FirstSeen time.Time
	LastSeen  time.Time
	Category  lokerwatch.Category
	Source    string
}

// Personas is the incremental persona index: a union-find over ads, kept
// as ads arrive, never recomputed from scratch.
type Personas interface {
	// LinkPersona puts the ad into a persona (its own when nothing links
	// it), merges every persona its keys or ads reach, and returns the
	// persona it ends in. Linking an ad again is idempotent for its size
	// and counts; new keys still merge.
	LinkPersona(ctx context.Context, l PersonaLink) (Persona, error)
	// PersonaOf returns the persona of an ad (ErrNotFound when unlinked).
	PersonaOf(ctx context.Context, adID string) (Persona, error)
	// GetPersona returns a persona by ID; the ID of a persona merged into
	// another resolves to the one it is part of now.
	GetPersona(ctx context.Context, id string) (Persona, error)
	// PersonaAds returns up to limit member ad IDs (all when limit <= 0),
	// in a stable order.
	PersonaAds(ctx context.Context, id string, limit int) ([]string, error)
	// PersonaKeys returns up to limit keys that link the persona.
	PersonaKeys(ctx context.Context, id string, limit int) ([]lokerwatch.IndexKey, error)
}

// CaseStatus is where a case stands.
type CaseStatus string

const (
	CaseOpen     CaseStatus = "open"
	CaseReferred CaseStatus = "referred" // handed to the police, KP2MI, …
	CaseClosed   CaseStatus = "closed"
)

// ValidCaseStatus reports whether s is a known case status.
func ValidCaseStatus(s CaseStatus) bool {
	return s == CaseOpen || s == CaseReferred || s == CaseClosed
}

// CaseItem is something a case holds: an ad, an entity or a persona.
type CaseItem struct {
	Kind  string    `json:"kind"` // "ad", "entity", "persona"
	Ref   string    `json:"ref"`  // ad ID, "kind:value" of an entity, persona ID
	By    string    `json:"by"`
	Added time.Time `json:"added"`
}

// CaseNote is an investigator's note on a case.
type CaseNote struct {
	Author string    `json:"author"`
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
}

// Case is the ads, entities and personas that go to the police or KP2MI
// together, with notes, a status and an assignee.
type Case struct {
	ID        string     `json:"id"`
	Title     string     `json:"title"`
	Status    CaseStatus `json:"status"`
	Assignee  string     `json:"assignee,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Items     []CaseItem `json:"items,omitempty"` // oldest first
	Notes     []CaseNote `json:"notes,omitempty"` // oldest first
}

// CaseActor is who changes a case, for the audit event written in the
// same store step as the change.
type CaseActor struct {
	User   string
	Remote string
}

// Cases keeps investigators' cases. Every change appends an audit event
// (object "case:ID") in the same transaction or script as the change.
type Cases interface {
	CreateCase(ctx context.Context, title string, by CaseActor) (*Case, error)
	GetCase(ctx context.Context, id string) (*Case, error)
	// ListCases returns cases newest first (all when limit <= 0).
	ListCases(ctx context.Context, limit int) ([]Case, error)
	// AddCaseItem adds an item once; adding it again changes nothing and
	// returns added=false.
	AddCaseItem(ctx context.Context, id string, item CaseItem, by CaseActor) (added bool, err error)
	AddCaseNote(ctx context.Context, id string, note CaseNote, by CaseActor) error
	// SetCaseStatus sets the status and the assignee ("" leaves it).
	SetCaseStatus(ctx context.Context, id string, status CaseStatus, assignee string, by CaseActor) error
}
