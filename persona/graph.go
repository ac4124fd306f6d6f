package persona

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"math"
	"math/bits"
	"net/url"
	"sort"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Node is an ad or an entity of a persona's graph.
type Node struct {
	ID    string  `json:"id"`   // "ad:<id>" or "<kind>:<value>"
	Kind  string  `json:"kind"` // "ad" or an entity kind
	Label string  `json:"label"`
	Href  string  `json:"href"` // console page of the node
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	// Category of an ad node ("" when not flagged).
	Category lokerwatch.Category `json:"category,omitempty"`
}

// Edge joins an ad to an entity it names, or two ads that are reposts.
type Edge struct {
	From   int    `json:"from"`
	To     int    `json:"to"`
	Reason string `json:"reason"` // "names", "repost"
}

// Graph is a persona drawn as ads and the strong entities that link them.
type Graph struct {
	Persona   string `json:"persona"`
	Nodes     []Node `json:"nodes"`
	Edges     []Edge `json:"edges"`
	Truncated bool   `json:"truncated,omitempty"` // more ads than drawn
}

// MaxGraphAds bounds the ads drawn in one graph.
const MaxGraphAds = 60

// EntityHref is the console page of an entity.
func EntityHref(k lokerwatch.IndexKey) string {
	return "/entities/" + url.PathEscape(string(k.Kind)) + "/" + url.PathEscape(k.Value)
}

// BuildGraph reads up to maxAds ads of a persona and links them to their
// strong entities (as Keys with the linker's weak filter) and to each
// other where they are reposts.
func BuildGraph(ctx context.Context, st Store, l *Linker, personaID string, maxAds int) (Graph, error) {
	if maxAds <= 0 || maxAds > MaxGraphAds {
		maxAds = MaxGraphAds
	}
	p, err := st.GetPersona(ctx, personaID)
	if err != nil {
		return Graph{}, err
	}
	ids, err := st.PersonaAds(ctx, p.ID, maxAds)
	if err != nil {
		return Graph{}, err
	}
	var ads []*lokerwatch.Ad
	for _, id := range ids {
		ad, err := st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue
		}
		if err != nil {
			return Graph{}, err
		}
		ads = append(ads, ad)
	}
	var weak func(lokerwatch.IndexKey) bool
	if l != nil {
		weak = l.weak
	}
	return GraphOf(p, ads, weak), nil
}

// GraphOf draws a persona from member ads already read (at most
// MaxGraphAds of them are drawn).
func GraphOf(p storage.Persona, ads []*lokerwatch.Ad, weak func(lokerwatch.IndexKey) bool) Graph {
	if len(ads) > MaxGraphAds {
		ads = ads[:MaxGraphAds]
	}
	g := Graph{Persona: p.ID, Truncated: p.Size > len(ads)}
	index := map[string]int{}
	for _, ad := range ads {
		n := Node{ID: "ad:" + ad.ID, Kind: "ad", Label: ad.Title, Href: "/ad/" + url.PathEscape(ad.ID)}
		if a := ad.Assessment; a != nil && a.Flagged {
			n.Category = a.Category
		}
		index[n.ID] = len(g.Nodes)
		g.Nodes = append(g.Nodes, n)
		keys := Keys(ad, weak)
		wa := map[string]bool{}
		for _, k := range keys {
			if k.Kind == lokerwatch.EntityWhatsApp {
				wa[k.Value] = true
			}
		}
		for _, k := range keys {
			if k.Kind == lokerwatch.EntityPhone && wa[k.Value] {
				continue // one node for a number that is also its WhatsApp
			}
			kid := string(k.Kind) + ":" + k.Value
			j, ok := index[kid]
			if !ok {
				j = len(g.Nodes)
				index[kid] = j
				g.Nodes = append(g.Nodes, Node{ID: kid, Kind: string(k.Kind), Label: k.Value, Href: EntityHref(k)})
			}
			g.Edges = append(g.Edges, Edge{From: index[n.ID], To: j, Reason: "names"})
		}
	}
	for i := range ads {
		for j := i + 1; j < len(ads); j++ {
			a, b := ads[i], ads[j]
			if a.Fingerprint != 0 && b.Fingerprint != 0 && bits.OnesCount64(a.Fingerprint^b.Fingerprint) <= NearDupBits {
				g.Edges = append(g.Edges, Edge{From: index["ad:"+a.ID], To: index["ad:"+b.ID], Reason: "repost"})
			}
		}
	}
	layout(&g)
	return g
}

// Graph area in SVG user units.
const (
	graphW = 900.0
	graphH = 560.0
	margin = 40.0
)

// layout places nodes with a deterministic force-directed layout
// (Fruchterman–Reingold from a circle): same persona, same picture.
func layout(g *Graph) {
	n := len(g.Nodes)
	if n == 0 {
		return
	}
	cx, cy := graphW/2, graphH/2
	for i := range g.Nodes {
		a := 2 * math.Pi * float64(i) / float64(n)
		g.Nodes[i].X, g.Nodes[i].Y = cx+200*math.Cos(a), cy+200*math.Sin(a)
	}
	if n == 1 {
		g.Nodes[0].X, g.Nodes[0].Y = cx, cy
		return
	}
	k := math.Sqrt((graphW - 2*margin) * (graphH - 2*margin) / float64(n))
	temp := graphW / 10
	dx := make([]float64, n)
	dy := make([]float64, n)
	for iter := 0; iter < 150; iter++ {
		clear(dx)
		clear(dy)
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				ex, ey := g.Nodes[i].X-g.Nodes[j].X, g.Nodes[i].Y-g.Nodes[j].Y
				d := math.Max(math.Hypot(ex, ey), 0.01)
				f := k * k / d
				dx[i] += ex / d * f
				dy[i] += ey / d * f
				dx[j] -= ex / d * f
				dy[j] -= ey / d * f
			}
		}
		for _, e := range g.Edges {
			a, b := &g.Nodes[e.From], &g.Nodes[e.To]
			ex, ey := a.X-b.X, a.Y-b.Y
			d := math.Max(math.Hypot(ex, ey), 0.01)
			f := d * d / k
			dx[e.From] -= ex / d * f
			dy[e.From] -= ey / d * f
			dx[e.To] += ex / d * f
			dy[e.To] += ey / d * f
		}
		for i := range g.Nodes {
			d := math.Max(math.Hypot(dx[i], dy[i]), 0.01)
			s := math.Min(d, temp) / d
			g.Nodes[i].X = math.Min(graphW-margin, math.Max(margin, g.Nodes[i].X+dx[i]*s))
			g.Nodes[i].Y = math.Min(graphH-margin, math.Max(margin, g.Nodes[i].Y+dy[i]*s))
		}
		temp *= 0.96
	}
}

var kindColour = map[string]string{
	"ad": "#5b6b7f", "phone": "#2a7ab0", "whatsapp": "#25a244", "telegram": "#1c93d1", "bank": "#c0392b",
	"ewallet": "#d35400", "crypto": "#8e44ad", "profile": "#16a085",
}

var categoryColour = map[lokerwatch.Category]string{
	lokerwatch.CategoryScam: "#b03a2e", lokerwatch.CategoryNonprocedural: "#b9770e", lokerwatch.CategoryTrafficking: "#6c3483",
}

// SVG draws the graph as a standalone SVG element: no script, no style
// attribute (the console's CSP forbids inline styles), every label
// escaped, every node a link to its page.
func SVG(g Graph) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="persona-graph" viewBox="0 0 %.0f %.0f" role="img" aria-label="persona graph: %d nodes, %d links">`, graphW, graphH, len(g.Nodes), len(g.Edges))
	for _, e := range g.Edges {
		a, c := g.Nodes[e.From], g.Nodes[e.To]
		dash := ""
		if e.Reason == "repost" {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa5b1" stroke-width="1.2"%s/>`, a.X, a.Y, c.X, c.Y, dash)
	}
	// Entities above ads, in a stable order.
	order := make([]int, len(g.Nodes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return g.Nodes[order[i]].Kind == "ad" && g.Nodes[order[j]].Kind != "ad" })
	for _, i := range order {
		n := g.Nodes[i]
		fill := kindColour[n.Kind]
		if fill == "" {
			fill = "#7f8c8d"
		}
		if c := categoryColour[n.Category]; c != "" {
			fill = c
		}
		label := n.Label
		if r := []rune(label); len(r) > 28 {
			label = string(r[:27]) + "…"
		}
		fmt.Fprintf(&b, `<a href="%s" class="node node-%s" data-id="%s">`, html.EscapeString(n.Href), html.EscapeString(n.Kind), html.EscapeString(n.ID))
		fmt.Fprintf(&b, `<title>%s: %s</title>`, html.EscapeString(n.Kind), html.EscapeString(n.Label))
		if n.Kind == "ad" {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="9" fill="%s"/>`, n.X, n.Y, fill)
		} else {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="14" height="14" rx="2" fill="%s"/>`, n.X-7, n.Y-7, fill)
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="#1f2933">%s</text></a>`, n.X+11, n.Y+4, html.EscapeString(label))
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}
