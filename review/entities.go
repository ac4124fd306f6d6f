package review

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Investigation pages: entities, personas, cases and their timelines.
//
// Who sees what (checked on the server, tested in investigate_test.go):
//
//	analyst       entity and persona pages and their JSON (pivoting from
//	              an ad to an account to the persona behind it)
//	investigator  also cases: open, add ads/entities/personas, notes,
//	              status and assignee, export the signed bundle
//	admin         everything
//
// Pages bound what they read (maxEntityAds, maxPersonaAds) so that one
// very common value cannot turn a page into a scan of the store.
const (
	maxEntityAds   = 100
	maxPersonaAds  = 200
	maxTimelineAds = 100
	maxCoEntities  = 40
)

type investigation struct {
	key    *ecdsa.PrivateKey
	linker *persona.Linker
}

func newInvestigation(st Store, opt Options) investigation {
	return investigation{key: opt.SigningKey, linker: persona.NewLinker(st, persona.Options{Weak: opt.Weak})}
}

func (s *Server) investigationRoutes(mux *http.ServeMux) {
	analyst, investigator := storage.RoleAnalyst, storage.RoleInvestigator
	s.page(mux, "GET /entities/{kind}/{value...}", analyst, s.entityPage)
	s.page(mux, "GET /personas/{id}", analyst, s.personaPage)
	s.page(mux, "GET /personas/{id}/graph.svg", analyst, s.personaSVG)
	s.api(mux, "GET /api/entities/{kind}/{value...}", analyst, s.apiEntity)
	s.api(mux, "GET /api/personas/{id}", analyst, s.apiPersona)

	s.page(mux, "GET /cases", investigator, s.casesPage)
	s.page(mux, "POST /cases", investigator, s.caseCreateForm)
	s.page(mux, "POST /cases/add", investigator, s.caseAddForm)
	s.page(mux, "GET /cases/{id}", investigator, s.casePage)
	s.page(mux, "POST /cases/{id}/note", investigator, s.caseNoteForm)
	s.page(mux, "POST /cases/{id}/status", investigator, s.caseStatusForm)
	s.page(mux, "GET /cases/{id}/export", investigator, s.caseExport)
	s.api(mux, "GET /api/cases", investigator, s.apiCases)
	s.api(mux, "GET /api/cases/{id}", investigator, s.apiCase)
	s.api(mux, "POST /api/cases", investigator, s.apiCreateCase)
	s.api(mux, "POST /api/cases/{id}/items", investigator, s.apiAddCaseItem)
	s.api(mux, "POST /api/cases/{id}/notes", investigator, s.apiAddCaseNote)
	s.api(mux, "POST /api/cases/{id}/status", investigator, s.apiSetCaseStatus)
}

// entityHref is the console page of an entity.
func entityHref(kind lokerwatch.EntityKind, value string) string {
	return persona.EntityHref(lokerwatch.IndexKey{Kind: kind, Value: value})
}

type countView struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func counts(m map[string]int) []countView {
	out := make([]countView, 0, len(m))
	for k, n := range m {
		out = append(out, countView{k, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Name < out[j].Name
	})
	return out
}

type coEntity struct {
	Kind  lokerwatch.EntityKind `json:"kind"`
	Value string                `json:"value"`
	Label string                `json:"label"`
	Href  string                `json:"href"`
	N     int                   `json:"ads"`
}

type personaRef struct {
	ID   string `json:"id"`
	Size int    `json:"size"`
}

// caseChoice is an open case offered in "add to case" forms.
type caseChoice struct {
	ID, Title string
}

type entityData struct {
	Kind       lokerwatch.EntityKind `json:"kind"`
	Value      string                `json:"value"`
	Label      string                `json:"label"`
	Ref        string                `json:"ref"` // kind:value, as cases hold it
	Holders    []string              `json:"holders,omitempty"`
	Total      int                   `json:"total"` // ads indexed under it
	Ads        []adSummary           `json:"ads"`   // up to maxEntityAds from From (by ad ID), newest first
	From       int                   `json:"from,omitempty"`
	More       int                   `json:"more,omitempty"` // ?from= of the next ads, 0 when none
	FirstSeen  time.Time             `json:"first_seen,omitzero"`
	LastSeen   time.Time             `json:"last_seen,omitzero"`
	Sources    []countView           `json:"sources"`
	Categories []countView           `json:"categories"`
	Verdicts   []countView           `json:"verdicts"`
	CoEntities []coEntity            `json:"co_occurring"`
	Personas   []personaRef          `json:"personas"`
	// Links: the entity joins ads into personas; false for weak kinds
	// and for a licensed agency's hotline (Weak).
	Links    bool          `json:"links_personas"`
	Weak     bool          `json:"weak,omitempty"`
	Timeline []cases.Event `json:"timeline"`
	CanCase  bool          `json:"-"`
	Cases    []caseChoice  `json:"-"`
}

func entityKindOK(k lokerwatch.EntityKind) bool {
	for _, x := range lokerwatch.EntityKinds {
		if x == k {
			return true
		}
	}
	return false
}

// loadEntity gathers an entity page.
func (s *Server) loadEntity(ctx context.Context, p *principal, kind lokerwatch.EntityKind, value string, from int) (*entityData, error) {
	if !entityKindOK(kind) || value == "" || len(value) > 512 {
		return nil, fmt.Errorf("entity %s:%s: %w", kind, value, lokerwatch.ErrNotFound)
	}
	key := lokerwatch.IndexKey{Kind: kind, Value: value}
	ids, err := s.st.AdsByKey(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("entity %s: %w", value, err)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("entity %s:%s: %w", kind, value, lokerwatch.ErrNotFound)
	}
	d := &entityData{Kind: kind, Value: value, Label: keyLabelIn(LangOf(ctx), key), Ref: string(kind) + ":" + value, Total: len(ids),
		Links: persona.StrongKinds[kind] && !s.inv.linker.Weak(key), Weak: persona.StrongKinds[kind] && s.inv.linker.Weak(key)}
	sort.Strings(ids)
	if from > 0 && from < len(ids) {
		ids = ids[from:]
		d.From = from
	}
	if len(ids) > maxEntityAds {
		ids, d.More = ids[:maxEntityAds], from+maxEntityAds
	}
	sources, cats, verdicts := map[string]int{}, map[string]int{}, map[string]int{}
	co := map[lokerwatch.IndexKey]int{}
	seenP := map[string]bool{}
	holders := map[string]bool{}
	var ads []*lokerwatch.Ad
	items := map[string]*lokerwatch.ReviewItem{}
	for _, id := range ids {
		ad, err := s.st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("entity %s: ad %s: %w", value, id, err)
		}
		sum, it := s.summarizeItem(ctx, ad)
		if it != nil {
			items[id] = it
		}
		ads = append(ads, ad)
		d.Ads = append(d.Ads, sum)
		sources[ad.Source]++
		cat := "not flagged"
		if sum.Flagged {
			cat = categoryLabel(sum.Category)
		}
		cats[cat]++
		v := string(sum.Verdict)
		if v == "" {
			v = "undecided"
		}
		verdicts[v]++
		if d.FirstSeen.IsZero() || ad.FirstSeen.Before(d.FirstSeen) {
			d.FirstSeen = ad.FirstSeen
		}
		if ad.LastSeen.After(d.LastSeen) {
			d.LastSeen = ad.LastSeen
		}
		if h := ad.Entities.Holders[value]; h != "" && kind == lokerwatch.EntityBank && !holders[h] {
			holders[h] = true
			d.Holders = append(d.Holders, h)
		}
		for k, vs := range ad.Entities.Linkable() {
			for _, x := range vs {
				if k != kind || x != value {
					co[lokerwatch.IndexKey{Kind: k, Value: x}]++
				}
			}
		}
		// A linking entity puts all its ads in one persona: the first
		// ad's says which; a weak one may be in many.
		if d.Links && len(d.Personas) > 0 {
			continue
		}
		if pp, err := s.st.PersonaOf(ctx, id); err == nil && !seenP[pp.ID] {
			seenP[pp.ID] = true
			d.Personas = append(d.Personas, personaRef{pp.ID, pp.Size})
		} else if err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
			return nil, fmt.Errorf("entity %s: persona of %s: %w", value, id, err)
		}
	}
	sort.SliceStable(d.Ads, func(i, j int) bool { return d.Ads[i].FirstSeen.After(d.Ads[j].FirstSeen) })
	d.Sources, d.Categories, d.Verdicts = counts(sources), counts(cats), counts(verdicts)
	for k, n := range co {
		d.CoEntities = append(d.CoEntities, coEntity{Kind: k.Kind, Value: k.Value, Label: keyLabelIn(LangOf(ctx), k), Href: persona.EntityHref(k), N: n})
	}
	sort.Slice(d.CoEntities, func(i, j int) bool {
		a, b := d.CoEntities[i], d.CoEntities[j]
		if a.N != b.N {
			return a.N > b.N
		}
		return a.Label < b.Label
	})
	if len(d.CoEntities) > maxCoEntities {
		d.CoEntities = d.CoEntities[:maxCoEntities]
	}
	sort.Slice(d.Personas, func(i, j int) bool { return d.Personas[i].Size > d.Personas[j].Size })
	if d.Timeline, err = cases.TimelineOf(ctx, s.st, ads, items, nil); err != nil {
		return nil, err
	}
	s.caseChoices(ctx, p, &d.CanCase, &d.Cases)
	return d, nil
}

// caseChoices offers the open cases to investigators.
func (s *Server) caseChoices(ctx context.Context, p *principal, can *bool, out *[]caseChoice) {
	if p == nil || !allows(p.user.Role, storage.RoleInvestigator) {
		return
	}
	*can = true
	cs, err := s.st.ListCases(ctx, 50)
	if err != nil {
		s.log.Warn("list cases", "err", err)
		return
	}
	for _, c := range cs {
		if c.Status == storage.CaseOpen {
			*out = append(*out, caseChoice{c.ID, c.Title})
		}
	}
}

func (s *Server) entityPage(w http.ResponseWriter, r *http.Request, p *principal) {
	kind := lokerwatch.EntityKind(r.PathValue("kind"))
	d, err := s.loadEntity(r.Context(), p, kind, r.PathValue("value"), atoiDefault(r.URL.Query().Get("from"), 0, 0, 1<<30))
	if err != nil {
		s.storeError(w, r, "Entity", err)
		return
	}
	s.render(w, r, http.StatusOK, "entity", newPage(p, d.Label, "entity", d))
}

func (s *Server) apiEntity(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadEntity(r.Context(), p, lokerwatch.EntityKind(r.PathValue("kind")), r.PathValue("value"), atoiDefault(r.URL.Query().Get("from"), 0, 0, 1<<30))
	if err != nil {
		s.storeError(w, r, "Entity", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// kindLabel names an entity kind for people.
func kindLabel(k lokerwatch.EntityKind) string {
	switch k {
	case lokerwatch.EntityBank:
		return "bank account"
	case lokerwatch.EntityEWallet:
		return "e-wallet"
	case lokerwatch.EntityCrypto:
		return "crypto address"
	case lokerwatch.EntityWhatsApp:
		return "WhatsApp"
	case lokerwatch.EntityTelegram:
		return "Telegram"
	case lokerwatch.EntityEmail:
		return "e-mail"
	}
	return string(k)
}

// casePath is the page of a case.
func casePath(id string) string { return "/cases/" + url.PathEscape(id) }

func init() {
	templateFuncs["entityHref"] = func(kind lokerwatch.EntityKind, value string) string { return entityHref(kind, value) }
	templateFuncs["kindLabel"] = kindLabel
}

type addCaseData struct {
	Kind, Ref, CSRF string
	Cases           []caseChoice
}

func init() {
	templateFuncs["addCase"] = func(kind, ref, csrf string, cs []caseChoice) addCaseData {
		return addCaseData{Kind: kind, Ref: ref, CSRF: csrf, Cases: cs}
	}
}

// summarizeItem is summarize that also returns the ad's review item (nil
// when it is not queued).
func (s *Server) summarizeItem(ctx context.Context, ad *lokerwatch.Ad) (adSummary, *lokerwatch.ReviewItem) {
	sum := adSummary{ID: ad.ID, Title: ad.Title, Source: ad.Source, URL: ad.URL, FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen}
	if a := ad.Assessment; a != nil {
		sum.Score, sum.Flagged, sum.Category = a.Score, a.Flagged, a.Category
	}
	it, err := s.st.ItemForAd(ctx, ad.ID)
	if err != nil {
		if !errors.Is(err, lokerwatch.ErrNotFound) {
			s.log.Warn("item for ad", "ad", ad.ID, "err", err)
		}
		return sum, nil
	}
	sum.Status, sum.Verdict = string(it.Status), it.Verdict
	return sum, it
}

func init() {
	// searchEntityHref links a search's normalised phone, handle or e-mail
	// to its entity page ("" for other searches).
	templateFuncs["searchEntityHref"] = func(kind, normalised string) string {
		switch kind {
		case searchPhone:
			return entityHref(lokerwatch.EntityPhone, normalised)
		case searchHandle:
			return entityHref(lokerwatch.EntityTelegram, strings.TrimPrefix(normalised, "@"))
		case searchEmail:
			return entityHref(lokerwatch.EntityEmail, normalised)
		}
		return ""
	}
}
