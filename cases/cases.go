// Package cases is what an investigator hands over: the ads, entities and
// personas of a case gathered from the store, its timeline, and its export
// as a signed WACZ bundle (evidence.Export) carrying the case's notes,
// entity list, persona graphs and timeline beside the captures.
package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Store is what a case needs from a store.
type Store interface {
	storage.Ads
	storage.ReviewQueue
	storage.Audit
	storage.Evidence
	storage.Personas
	storage.Cases
}

// MaxAds bounds the ads a case gathers (its own, its personas', its
// entities'): a case about one very common phone should not export the
// whole store.
const MaxAds = 5000

// ParseEntityRef reads "kind:value" (as case items and URLs write an
// entity) into an index key.
func ParseEntityRef(ref string) (lokerwatch.IndexKey, error) {
	kind, v, ok := strings.Cut(ref, ":")
	if !ok || v == "" || !knownKind(lokerwatch.EntityKind(kind)) {
		return lokerwatch.IndexKey{}, fmt.Errorf("entity %q: want kind:value with kind one of %v", ref, lokerwatch.EntityKinds)
	}
	return lokerwatch.IndexKey{Kind: lokerwatch.EntityKind(kind), Value: v}, nil
}

func knownKind(k lokerwatch.EntityKind) bool {
	for _, x := range lokerwatch.EntityKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Gathered is what a case reaches.
type Gathered struct {
	AdIDs     []string // every ad, in the order reached
	Personas  []string // persona IDs as they are now
	Entities  []lokerwatch.IndexKey
	Truncated bool // MaxAds reached
}

// Gather collects a case's ads: those added, those of its personas and
// those carrying its entities, and the personas of all of them.
func Gather(ctx context.Context, st Store, c *storage.Case) (*Gathered, error) {
	g := &Gathered{}
	seenAd := map[string]bool{}
	seenP := map[string]bool{}
	addAd := func(id string) {
		if seenAd[id] {
			return
		}
		if len(g.AdIDs) >= MaxAds {
			g.Truncated = true
			return
		}
		seenAd[id] = true
		g.AdIDs = append(g.AdIDs, id)
	}
	addPersona := func(id string) error {
		p, err := st.GetPersona(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if seenP[p.ID] {
			return nil
		}
		seenP[p.ID] = true
		g.Personas = append(g.Personas, p.ID)
		ids, err := st.PersonaAds(ctx, p.ID, MaxAds)
		if err != nil {
			return err
		}
		for _, a := range ids {
			addAd(a)
		}
		return nil
	}
	for _, it := range c.Items {
		switch it.Kind {
		case "ad":
			addAd(it.Ref)
		case "persona":
			if err := addPersona(it.Ref); err != nil {
				return nil, fmt.Errorf("case %s: persona %s: %w", c.ID, it.Ref, err)
			}
		case "entity":
			k, err := ParseEntityRef(it.Ref)
			if err != nil {
				continue // an item the console refused to add; nothing to gather
			}
			g.Entities = append(g.Entities, k)
			ids, err := st.AdsByKey(ctx, k)
			if err != nil {
				return nil, fmt.Errorf("case %s: entity %s: %w", c.ID, it.Ref, err)
			}
			sort.Strings(ids)
			for _, a := range ids {
				addAd(a)
			}
		}
	}
	// The personas of the case's ads, so the bundle shows who is behind them.
	for _, id := range append([]string(nil), g.AdIDs...) {
		p, err := st.PersonaOf(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("case %s: persona of %s: %w", c.ID, id, err)
		}
		if !seenP[p.ID] {
			seenP[p.ID] = true
			g.Personas = append(g.Personas, p.ID)
		}
	}
	return g, nil
}

// Event is one line of a timeline.
type Event struct {
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"` // first_seen, last_seen, decision, removed, case
	AdID   string    `json:"ad_id,omitempty"`
	Title  string    `json:"title,omitempty"`
	Source string    `json:"source,omitempty"`
	Actor  string    `json:"actor,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Timeline puts the ads' first sightings, last sightings (when later),
// decisions and removals (purges of an ad no longer stored), and the given
// audit events (a case's own changes), in time order.
func Timeline(ctx context.Context, st Store, adIDs []string, audit []lokerwatch.AuditEvent) ([]Event, error) {
	var ads []*lokerwatch.Ad
	items := map[string]*lokerwatch.ReviewItem{}
	var removed []Event
	for _, id := range adIDs {
		ad, err := st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			evs, err := st.ListAudit(ctx, storage.AuditFilter{Object: id})
			if err != nil {
				return nil, fmt.Errorf("timeline: audit of %s: %w", id, err)
			}
			for _, ev := range evs {
				if strings.HasPrefix(ev.Action, "purge") || ev.Action == "ad.delete" {
					removed = append(removed, Event{Time: ev.Time, Kind: "removed", AdID: id, Actor: ev.Actor, Detail: ev.Action + " " + ev.Detail})
				}
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("timeline: ad %s: %w", id, err)
		}
		ads = append(ads, ad)
		it, err := st.ItemForAd(ctx, id)
		if err == nil {
			items[id] = it
		} else if !errors.Is(err, lokerwatch.ErrNotFound) {
			return nil, fmt.Errorf("timeline: review item of %s: %w", id, err)
		}
	}
	out, err := TimelineOf(ctx, st, ads, items, audit)
	if err != nil {
		return nil, err
	}
	out = append(out, removed...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// DecisionReader reads an item's decision history.
type DecisionReader interface {
	Decisions(ctx context.Context, itemID string) ([]lokerwatch.Decision, error)
}

// TimelineOf builds the timeline of ads already read, with their review
// items (by ad ID; absent when not queued): decisions are read only for
// items that have a verdict.
func TimelineOf(ctx context.Context, st DecisionReader, ads []*lokerwatch.Ad, items map[string]*lokerwatch.ReviewItem, audit []lokerwatch.AuditEvent) ([]Event, error) {
	var out []Event
	for _, ad := range ads {
		out = append(out, Event{Time: ad.FirstSeen, Kind: "first_seen", AdID: ad.ID, Title: ad.Title, Source: ad.Source})
		if ad.LastSeen.After(ad.FirstSeen.Add(time.Minute)) {
			out = append(out, Event{Time: ad.LastSeen, Kind: "last_seen", AdID: ad.ID, Title: ad.Title, Source: ad.Source})
		}
		it := items[ad.ID]
		if it == nil || it.Verdict == "" {
			continue
		}
		decs, err := st.Decisions(ctx, it.ID)
		if err != nil {
			return nil, fmt.Errorf("timeline: decisions of %s: %w", ad.ID, err)
		}
		for _, d := range decs {
			detail := string(d.Verdict)
			if d.Note != "" {
				detail += ": " + d.Note
			}
			out = append(out, Event{Time: d.DecidedAt, Kind: "decision", AdID: ad.ID, Actor: d.Reviewer, Detail: detail})
		}
	}
	for _, ev := range audit {
		out = append(out, Event{Time: ev.Time, Kind: "case", Actor: ev.Actor, Detail: ev.Action + " " + ev.Detail})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// EntitySummary is one line of case/entities.json.
type EntitySummary struct {
	Kind      lokerwatch.EntityKind `json:"kind"`
	Value     string                `json:"value"`
	Holder    string                `json:"holder,omitempty"` // of a bank account
	Ads       int                   `json:"ads"`              // ads of the case naming it
	FirstSeen time.Time             `json:"first_seen,omitzero"`
	LastSeen  time.Time             `json:"last_seen,omitzero"`
	InCase    bool                  `json:"in_case,omitempty"` // added to the case itself
	Links     bool                  `json:"links_personas"`    // a strong entity (see persona)
}

// Entities lists the entities the case's ads name, most ads first.
func Entities(ctx context.Context, st Store, g *Gathered, l *persona.Linker) ([]EntitySummary, error) {
	byKey := map[lokerwatch.IndexKey]*EntitySummary{}
	for _, k := range g.Entities {
		byKey[k] = &EntitySummary{Kind: k.Kind, Value: k.Value, InCase: true}
	}
	for _, id := range g.AdIDs {
		ad, err := st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("entities: ad %s: %w", id, err)
		}
		for kind, vs := range ad.Entities.Linkable() {
			for _, v := range vs {
				k := lokerwatch.IndexKey{Kind: kind, Value: v}
				e := byKey[k]
				if e == nil {
					e = &EntitySummary{Kind: kind, Value: v}
					byKey[k] = e
				}
				e.Ads++
				if e.FirstSeen.IsZero() || ad.FirstSeen.Before(e.FirstSeen) {
					e.FirstSeen = ad.FirstSeen
				}
				if ad.LastSeen.After(e.LastSeen) {
					e.LastSeen = ad.LastSeen
				}
				if h := ad.Entities.Holders[v]; h != "" && kind == lokerwatch.EntityBank {
					e.Holder = h
				}
			}
		}
	}
	out := make([]EntitySummary, 0, len(byKey))
	for k, e := range byKey {
		e.Links = persona.StrongKinds[k.Kind] && (l == nil || !l.Weak(k))
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Ads != out[j].Ads {
			return out[i].Ads > out[j].Ads
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Value < out[j].Value
	})
	return out, nil
}

// ExportOptions are evidence.ExportOptions for a case (Format, AdIDs and
// Files are set by Export) and where the exporter is, for the case's
// audit trail.
type ExportOptions struct {
	evidence.ExportOptions
	Remote string
}

// Export writes a case as a WACZ bundle: every ad the case reaches with
// its captures, decisions and audit trail, plus case/case.json (the case,
// its items and notes), case/notes.md, case/entities.json,
// case/personas.json (each persona's graph as data) and
// case/timeline.json. The export is audited on the case too.
func Export(ctx context.Context, st Store, l *persona.Linker, id string, w io.Writer, opt ExportOptions) (*evidence.ExportSummary, error) {
	c, err := st.GetCase(ctx, id)
	if err != nil {
		return nil, err
	}
	g, err := Gather(ctx, st, c)
	if err != nil {
		return nil, err
	}
	ents, err := Entities(ctx, st, g, l)
	if err != nil {
		return nil, err
	}
	var graphs []persona.Graph
	for _, pid := range g.Personas {
		gr, err := persona.BuildGraph(ctx, st, l, pid, persona.MaxGraphAds)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("case %s: persona %s: %w", id, pid, err)
		}
		graphs = append(graphs, gr)
	}
	caseAudit, err := st.ListAudit(ctx, storage.AuditFilter{Object: "case:" + c.ID})
	if err != nil {
		return nil, fmt.Errorf("case %s: audit: %w", id, err)
	}
	tl, err := Timeline(ctx, st, g.AdIDs, caseAudit)
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	files := map[string][]byte{}
	put := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Errorf("case %s: %s: %w", id, name, err)
		}
		files[name] = append(b, '\n')
		return nil
	}
	caseDoc := struct {
		*storage.Case
		Ads       []string `json:"ads"`
		Personas  []string `json:"personas"`
		Truncated bool     `json:"truncated,omitempty"`
	}{c, g.AdIDs, g.Personas, g.Truncated}
	for name, v := range map[string]any{
		"case/case.json": caseDoc, "case/entities.json": ents, "case/personas.json": graphs, "case/timeline.json": tl,
	} {
		if err := put(name, v); err != nil {
			return nil, err
		}
	}
	files["case/notes.md"] = notesMarkdown(c)

	eo := opt.ExportOptions
	eo.Format = evidence.FormatWACZ
	eo.AdIDs = g.AdIDs
	if eo.AdIDs == nil {
		eo.AdIDs = []string{}
	}
	eo.Files = files
	if eo.Title == "" {
		eo.Title = fmt.Sprintf("lokerwatch case %s: %s", c.ID, c.Title)
	}
	sum, err := evidence.Export(ctx, st, w, eo)
	if err != nil {
		return sum, err
	}
	actor := opt.Actor
	if actor == "" {
		actor = "system"
	}
	// Recorded on the case's own trail (the exporter records it under the export ID).
	if err := st.AppendAudit(ctx, lokerwatch.AuditEvent{Actor: actor, Remote: opt.Remote, Action: "case.export", Object: "case:" + c.ID,
		Detail: fmt.Sprintf("%s, %d ads, %d captures, signed %v, %s", sum.ID, sum.Ads, sum.Captures, sum.Signed, sum.DatapackageHash)}); err != nil {
		return sum, fmt.Errorf("case %s exported as %s, but the case's audit trail was not updated: %w", id, sum.ID, err)
	}
	return sum, nil
}

func notesMarkdown(c *storage.Case) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Case %s: %s\n\nStatus: %s", c.ID, c.Title, c.Status)
	if c.Assignee != "" {
		fmt.Fprintf(&b, ", assigned to %s", c.Assignee)
	}
	fmt.Fprintf(&b, "\nOpened by %s, %s\n\n## Notes\n", c.CreatedBy, c.CreatedAt.UTC().Format(time.RFC3339))
	if len(c.Notes) == 0 {
		b.WriteString("\n(none)\n")
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "\n### %s, %s\n\n%s\n", n.Author, n.Time.UTC().Format(time.RFC3339), n.Text)
	}
	b.WriteString("\n## Items\n\n")
	for _, it := range c.Items {
		fmt.Fprintf(&b, "- %s %s (added by %s, %s)\n", it.Kind, it.Ref, it.By, it.Added.UTC().Format(time.RFC3339))
	}
	return []byte(b.String())
}
