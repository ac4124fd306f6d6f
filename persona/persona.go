// Package persona groups ads into personas: ads linked by a shared strong
// entity (a phone or WhatsApp number, a Telegram handle, a bank account,
// an e-wallet, a crypto address, a social profile) or by reposting the
// same text, most likely placed by one recruiter or one network. It
// decides which links count, keeps the stores' persona index current as
// ads are stored, and draws a persona as a graph.
//
// Weak links do not merge personas:
//
//   - e-mail addresses, agency names, licence numbers and web domains are
//     shown on entity pages but never link: an agency's name or site is
//     quoted by imitators and by job boards;
//   - a phone or WhatsApp number of an active licensed agency in the
//     registry (classify.registry) does not link: scam ads quote real
//     hotlines to look legitimate, and one hotline would otherwise merge
//     every recruiter who did;
//   - near-duplicate text (a repost) links two ads only when at most one
//     of them has strong entities, or they share one: two ads from a common
//     template with different contacts are two recruiters; and an ad
//     without contacts whose text several such recruiters use joins none
//     of them, since it would bridge them.
package persona

import (
	"context"
	"fmt"
	"log/slog"
	"math/bits"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// StrongKinds are the entity kinds that link ads into a persona.
var StrongKinds = map[lokerwatch.EntityKind]bool{
	lokerwatch.EntityPhone: true, lokerwatch.EntityWhatsApp: true, lokerwatch.EntityTelegram: true,
	lokerwatch.EntityBank: true, lokerwatch.EntityEWallet: true, lokerwatch.EntityCrypto: true,
	lokerwatch.EntityProfile: true,
}

// NearDupBits is the SimHash distance still read as a repost.
const NearDupBits = 3

// maxRepostCandidates bounds the ads read per SimHash band when looking
// for reposts, so that one very common text costs a bounded time.
const maxRepostCandidates = 64

// Keys returns the ad's keys that link it into a persona: its strong
// entities, less those weak says are shared by unrelated ads.
func Keys(ad *lokerwatch.Ad, weak func(lokerwatch.IndexKey) bool) []lokerwatch.IndexKey {
	var out []lokerwatch.IndexKey
	for _, k := range lokerwatch.IndexKeys(ad) {
		if !StrongKinds[k.Kind] || weak != nil && weak(k) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// Store is what the linker needs: ads with their index, and personas.
type Store interface {
	storage.Ads
	storage.Personas
}

// Options configure a Linker.
type Options struct {
	// Weak reports keys that must not link ads (classifiers'
	// Engine.LicensedContact). Nil: none.
	Weak func(lokerwatch.IndexKey) bool
	// Logger receives link failures (default: discard).
	Logger *slog.Logger
	// Registerer receives lokerwatch_persona_links_total and
	// lokerwatch_persona_link_errors_total (none when nil).
	Registerer prometheus.Registerer
}

// Linker puts stored ads into personas.
type Linker struct {
	st     Store
	weak   func(lokerwatch.IndexKey) bool
	log    *slog.Logger
	links  prometheus.Counter
	errors prometheus.Counter
}

// NewLinker builds a Linker on st.
func NewLinker(st Store, opt Options) *Linker {
	l := &Linker{st: st, weak: opt.Weak, log: opt.Logger}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	l.links = prometheus.NewCounter(prometheus.CounterOpts{Name: "lokerwatch_persona_links_total", Help: "Ads put into a persona."})
	l.errors = prometheus.NewCounter(prometheus.CounterOpts{Name: "lokerwatch_persona_link_errors_total", Help: "Ads stored but not put into a persona (persona index store error); `lokerwatch personas link` repairs."})
	if opt.Registerer != nil {
		for _, c := range []prometheus.Collector{l.links, l.errors} {
			if err := opt.Registerer.Register(c); err != nil {
				l.log.Warn("persona metrics", "err", err)
			}
		}
	}
	return l
}

// Weak reports whether the linker treats k as a weak link.
func (l *Linker) Weak(k lokerwatch.IndexKey) bool { return l.weak != nil && l.weak(k) }

// Link puts a stored ad into its persona: it joins the personas of its
// strong keys and of its reposts.
func (l *Linker) Link(ctx context.Context, ad *lokerwatch.Ad) (storage.Persona, error) {
	links, err := l.plan(ctx, []*lokerwatch.Ad{ad})
	if err != nil {
		l.errors.Inc()
		return storage.Persona{}, err
	}
	p, err := l.st.LinkPersona(ctx, links[0])
	if err != nil {
		l.errors.Inc()
		return p, fmt.Errorf("persona of ad %s: %w", ad.ID, err)
	}
	l.links.Inc()
	return p, nil
}

// batchLinker is what a store may offer to link many ads in one step (one
// SQLite transaction, one Redis pipeline) instead of one per ad.
type batchLinker interface {
	LinkPersonas(ctx context.Context, ls []storage.PersonaLink) ([]storage.Persona, error)
}

// LinkAll puts stored ads into their personas, in order, as Link would one
// by one, with their repost candidates looked up together and, when the
// store offers it, one store step to link them all (the step after a
// FinishPages batch).
func (l *Linker) LinkAll(ctx context.Context, ads []*lokerwatch.Ad) error {
	if len(ads) == 0 {
		return nil
	}
	// The reposts are found from the ad index only, which linking does not
	// change, so finding all first and linking after gives what linking
	// one after the other would.
	links, err := l.plan(ctx, ads)
	if err != nil {
		l.errors.Add(float64(len(ads)))
		return err
	}
	if err := l.onePerPersona(ctx, links); err != nil {
		l.errors.Add(float64(len(ads)))
		return err
	}
	bl, ok := l.st.(batchLinker)
	if !ok || len(links) == 1 {
		var first error
		for i, link := range links {
			if _, err := l.st.LinkPersona(ctx, link); err != nil {
				l.errors.Inc()
				if first == nil {
					first = fmt.Errorf("persona of ad %s: %w", ads[i].ID, err)
				}
				continue
			}
			l.links.Inc()
		}
		return first
	}
	if _, err := bl.LinkPersonas(ctx, links); err != nil {
		l.errors.Add(float64(len(links)))
		return fmt.Errorf("personas of %d ads: %w", len(links), err)
	}
	l.links.Add(float64(len(links)))
	return nil
}

// personaIndex is what a store may offer to read the personas of many ads
// at once (ad ID -> persona ID; ads in none are left out).
type personaIndex interface {
	PersonasOfAds(ctx context.Context, ids []string) (map[string]string, error)
}

// onePerPersona drops from each link's reposts those in a persona another
// of its reposts is in, as the batch begins: a merge moves a persona's ads
// together, so two ads in one persona now are in one persona when the link
// is made and join the ad to the same one — the store need not look up
// both. On a template thousands of ads use, an ad's 64 candidates are
// mostly one persona. Reposts in none yet (stored in this batch, linked
// before this ad is) are all kept.
func (l *Linker) onePerPersona(ctx context.Context, links []storage.PersonaLink) error {
	pi, ok := l.st.(personaIndex)
	if !ok {
		return nil
	}
	var ids []string
	seen := map[string]bool{}
	for _, link := range links {
		for _, id := range link.Ads {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	of, err := pi.PersonasOfAds(ctx, ids)
	if err != nil {
		return fmt.Errorf("personas of %d reposts: %w", len(ids), err)
	}
	for i, link := range links {
		kept := link.Ads[:0:0]
		have := map[string]bool{}
		for _, id := range link.Ads {
			p, in := of[id]
			if in && have[p] {
				continue
			}
			if in {
				have[p] = true
			}
			kept = append(kept, id)
		}
		links[i].Ads = kept
	}
	return nil
}

// repostIndex is what a store may offer the linker to judge repost
// candidates from its index instead of reading each candidate whole (both
// stores do): at most n IDs under each of several keys, and the index keys
// of many ads at once, from which a candidate's fingerprint (its four
// SimHash bands) and strong keys are known.
type repostIndex interface {
	AdsByKeysN(ctx context.Context, keys []lokerwatch.IndexKey, n int) ([][]string, error)
	AdKeys(ctx context.Context, ids []string) (map[string][]lokerwatch.IndexKey, error)
}

// candidate is a stored ad that may be a repost: its fingerprint and
// strong keys.
type candidate struct {
	fp   uint64
	keys []lokerwatch.IndexKey
}

// fromIndex rebuilds a candidate from its index keys: the fingerprint from
// its four bands (0 when any is missing, as for an ad without one), the
// strong keys as Keys would give them.
func (l *Linker) fromIndex(keys []lokerwatch.IndexKey) candidate {
	var c candidate
	bands := 0
	for _, k := range keys {
		if k.Kind == lokerwatch.EntityFingerprint {
			b, hex, _ := strings.Cut(k.Value, ":")
			band, err1 := strconv.Atoi(b)
			v, err2 := strconv.ParseUint(hex, 16, 16)
			if err1 == nil && err2 == nil && band >= 0 && band < 4 {
				c.fp |= v << (16 * band)
				bands |= 1 << band
			}
			continue
		}
		if StrongKinds[k.Kind] && !(l.weak != nil && l.weak(k)) {
			c.keys = append(c.keys, k)
		}
	}
	if bands != 0xf {
		c.fp = 0
	}
	return c
}

func bandKey(fp uint64, band int) lokerwatch.IndexKey {
	return lokerwatch.IndexKey{Kind: lokerwatch.EntityFingerprint, Value: fmt.Sprintf("%d:%04x", band, (fp>>(16*band))&0xffff)}
}

// plan is what the store is asked to do for each ad: its strong keys and
// its reposts (stored near-duplicates that may join its persona). The
// ads' SimHash bands are looked up together, and the candidates they give
// read once for all the ads.
func (l *Linker) plan(ctx context.Context, ads []*lokerwatch.Ad) ([]storage.PersonaLink, error) {
	idx, fast := l.st.(repostIndex)
	// The bands to look up, each once.
	var bands []lokerwatch.IndexKey
	bandAt := map[lokerwatch.IndexKey]int{}
	for _, ad := range ads {
		if ad.Fingerprint == 0 {
			continue
		}
		for band := 0; band < 4; band++ {
			k := bandKey(ad.Fingerprint, band)
			if _, ok := bandAt[k]; !ok {
				bandAt[k] = len(bands)
				bands = append(bands, k)
			}
		}
	}
	var under [][]string // the IDs under bands[i], at most maxRepostCandidates
	if fast && len(bands) > 0 {
		var err error
		if under, err = idx.AdsByKeysN(ctx, bands, maxRepostCandidates); err != nil {
			return nil, fmt.Errorf("reposts of %d ads: %w", len(ads), err)
		}
		if len(under) != len(bands) {
			return nil, fmt.Errorf("reposts of %d ads: %d answers for %d bands", len(ads), len(under), len(bands))
		}
	} else {
		for _, k := range bands {
			ids, err := l.st.AdsByKey(ctx, k)
			if err != nil {
				return nil, fmt.Errorf("reposts of %d ads: %w", len(ads), err)
			}
			under = append(under, ids)
		}
	}
	// Each ad's candidates in the order found, and all of them once.
	cands := make([][]string, len(ads))
	var all []string
	inAll := map[string]bool{}
	for i, ad := range ads {
		if ad.Fingerprint == 0 {
			continue
		}
		seen := map[string]bool{ad.ID: true}
		for band := 0; band < 4; band++ {
			ids := under[bandAt[bandKey(ad.Fingerprint, band)]]
			if len(ids) > maxRepostCandidates {
				ids = ids[:maxRepostCandidates]
			}
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				cands[i] = append(cands[i], id)
				if !inAll[id] {
					inAll[id] = true
					all = append(all, id)
				}
			}
		}
	}
	// The candidates' fingerprints and strong keys: from the index in one
	// read when the store offers it, else (and for an ad the index does
	// not know) from the ad itself.
	known := map[string]candidate{}
	if fast && len(all) > 0 {
		indexed, err := idx.AdKeys(ctx, all)
		if err != nil {
			return nil, fmt.Errorf("reposts of %d ads: %w", len(ads), err)
		}
		for id, ks := range indexed {
			known[id] = l.fromIndex(ks)
		}
	}
	read := func(id string) candidate {
		if c, ok := known[id]; ok {
			return c
		}
		var c candidate
		if other, err := l.st.GetAd(ctx, id); err == nil && other.Fingerprint != 0 { // else deleted since it was indexed
			c = candidate{fp: other.Fingerprint, keys: Keys(other, l.weak)}
		}
		known[id] = c
		return c
	}
	out := make([]storage.PersonaLink, len(ads))
	for i, ad := range ads {
		keys := Keys(ad, l.weak)
		link := storage.PersonaLink{AdID: ad.ID, Keys: keys, Ads: l.reposts(ad, keys, cands[i], read), FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen, Source: ad.Source}
		if link.FirstSeen.IsZero() {
			link.FirstSeen = ad.FetchedAt
		}
		if link.LastSeen.IsZero() {
			link.LastSeen = ad.FetchedAt
		}
		if a := ad.Assessment; a != nil && a.Flagged {
			link.Category = a.Category
		}
		out[i] = link
	}
	return out, nil
}

// reposts picks, of ad's candidates, the near-duplicates that may join its
// persona.
func (l *Linker) reposts(ad *lokerwatch.Ad, keys []lokerwatch.IndexKey, cands []string, read func(string) candidate) []string {
	var out []string
	var withKeys [][]lokerwatch.IndexKey // strong keys of the reposts, when ad has none
	for _, id := range cands {
		c := read(id)
		if c.fp == 0 || bits.OnesCount64(ad.Fingerprint^c.fp) > NearDupBits {
			continue
		}
		if !RepostLinks(keys, c.keys) {
			continue
		}
		out = append(out, id)
		if len(keys) == 0 {
			withKeys = append(withKeys, c.keys)
		}
	}
	// An ad without contacts that reposts a text used by several
	// recruiters (near-duplicates whose contacts differ) would bridge
	// them: it joins none.
	for i := range withKeys {
		for j := i + 1; j < len(withKeys); j++ {
			if len(withKeys[i]) > 0 && len(withKeys[j]) > 0 && !RepostLinks(withKeys[i], withKeys[j]) {
				return nil
			}
		}
	}
	return out
}

// RepostLinks decides whether two near-duplicate ads with these strong
// keys are one persona: yes when at most one of them names contacts, or
// they share one; no when both name contacts and none is shared — a
// common template filled in by two recruiters.
func RepostLinks(a, b []lokerwatch.IndexKey) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// Backfill links every stored ad, oldest first (after an upgrade, or to
// repair links a store error missed); it is idempotent.
func Backfill(ctx context.Context, st Store, l *Linker, progress func(n int)) (int, error) {
	n := 0
	err := st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		if _, err := l.Link(ctx, ad); err != nil {
			return err
		}
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
		return nil
	})
	return n, err
}
