package review

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

type personaData struct {
	Persona    storage.Persona `json:"persona"`
	Ads        []adSummary     `json:"ads"` // up to maxPersonaAds, newest first
	Keys       []coEntity      `json:"keys"`
	Categories []countView     `json:"categories"`
	Sources    []countView     `json:"sources"`
	Graph      persona.Graph   `json:"graph"`
	Timeline   []cases.Event   `json:"timeline"`
	// SVG is the server-built graph (escaped by persona.SVG).
	SVG     template.HTML `json:"-"`
	CanCase bool          `json:"-"`
	Cases   []caseChoice  `json:"-"`
}

func (s *Server) loadPersona(ctx context.Context, p *principal, id string) (*personaData, error) {
	if id == "" || len(id) > 200 {
		return nil, fmt.Errorf("persona %q: %w", id, lokerwatch.ErrNotFound)
	}
	per, err := s.st.GetPersona(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &personaData{Persona: per}
	ids, err := s.st.PersonaAds(ctx, per.ID, maxPersonaAds)
	if err != nil {
		return nil, err
	}
	var ads []*lokerwatch.Ad
	items := map[string]*lokerwatch.ReviewItem{}
	for _, aid := range ids {
		ad, err := s.st.GetAd(ctx, aid)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("persona %s: ad %s: %w", id, aid, err)
		}
		sum, it := s.summarizeItem(ctx, ad)
		if it != nil {
			items[aid] = it
		}
		ads = append(ads, ad)
		d.Ads = append(d.Ads, sum)
	}
	sort.SliceStable(d.Ads, func(i, j int) bool { return d.Ads[i].FirstSeen.After(d.Ads[j].FirstSeen) })
	keys, err := s.st.PersonaKeys(ctx, per.ID, 200)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		d.Keys = append(d.Keys, coEntity{Kind: k.Kind, Value: k.Value, Label: keyLabelIn(LangOf(ctx), k), Href: persona.EntityHref(k)})
	}
	cats := map[string]int{}
	for c, n := range per.Categories {
		cats[categoryLabel(c)] += n
	}
	d.Categories, d.Sources = counts(cats), counts(per.Sources)
	d.Graph = persona.GraphOf(per, ads, s.inv.linker.Weak)
	d.SVG = template.HTML(persona.SVG(d.Graph)) // labels and hrefs escaped by persona.SVG
	tl := ads
	if len(tl) > maxTimelineAds {
		tl = tl[:maxTimelineAds]
	}
	if d.Timeline, err = cases.TimelineOf(ctx, s.st, tl, items, nil); err != nil {
		return nil, err
	}
	s.caseChoices(ctx, p, &d.CanCase, &d.Cases)
	return d, nil
}

func (s *Server) personaPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadPersona(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "Persona", err)
		return
	}
	s.render(w, r, http.StatusOK, "persona", newPage(p, tr(r, "persona.page_title", "ID", d.Persona.ID, "Count", d.Persona.Size), "persona", d))
}

// personaSVG serves the graph alone (for saving or embedding).
func (s *Server) personaSVG(w http.ResponseWriter, r *http.Request, p *principal) {
	g, err := persona.BuildGraph(r.Context(), s.st, s.inv.linker, r.PathValue("id"), persona.MaxGraphAds)
	if err != nil {
		s.storeError(w, r, "Persona", err)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	w.Write(persona.SVG(g))
}

func (s *Server) apiPersona(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadPersona(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "Persona", err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
