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
	keys := Keys(ad, l.weak)
	reposts, err := l.reposts(ctx, ad, keys)
	if err != nil {
		l.errors.Inc()
		return storage.Persona{}, err
	}
	link := storage.PersonaLink{AdID: ad.ID, Keys: keys, Ads: reposts, FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen, Source: ad.Source}
	if link.FirstSeen.IsZero() {
		link.FirstSeen = ad.FetchedAt
	}
	if link.LastSeen.IsZero() {
		link.LastSeen = ad.FetchedAt
	}
	if a := ad.Assessment; a != nil && a.Flagged {
		link.Category = a.Category
	}
	p, err := l.st.LinkPersona(ctx, link)
	if err != nil {
		l.errors.Inc()
		return p, fmt.Errorf("persona of ad %s: %w", ad.ID, err)
	}
	l.links.Inc()
	return p, nil
}

// reposts finds stored near-duplicates of ad that may join its persona.
func (l *Linker) reposts(ctx context.Context, ad *lokerwatch.Ad, keys []lokerwatch.IndexKey) ([]string, error) {
	if ad.Fingerprint == 0 {
		return nil, nil
	}
	seen := map[string]bool{ad.ID: true}
	var out []string
	var withKeys [][]lokerwatch.IndexKey // strong keys of the reposts, when ad has none
	for band := 0; band < 4; band++ {
		v := (ad.Fingerprint >> (16 * band)) & 0xffff
		ids, err := l.st.AdsByKey(ctx, lokerwatch.IndexKey{Kind: lokerwatch.EntityFingerprint, Value: fmt.Sprintf("%d:%04x", band, v)})
		if err != nil {
			return nil, fmt.Errorf("reposts of %s: %w", ad.ID, err)
		}
		if len(ids) > maxRepostCandidates {
			ids = ids[:maxRepostCandidates]
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			other, err := l.st.GetAd(ctx, id)
			if err != nil {
				continue // deleted since it was indexed
			}
			if other.Fingerprint == 0 || bits.OnesCount64(ad.Fingerprint^other.Fingerprint) > NearDupBits {
				continue
			}
			ok := Keys(other, l.weak)
			if !RepostLinks(keys, ok) {
				continue
			}
			out = append(out, id)
			if len(keys) == 0 {
				withKeys = append(withKeys, ok)
			}
		}
	}
	// An ad without contacts that reposts a text used by several
	// recruiters (near-duplicates whose contacts differ) would bridge
	// them: it joins none.
	for i := range withKeys {
		for j := i + 1; j < len(withKeys); j++ {
			if len(withKeys[i]) > 0 && len(withKeys[j]) > 0 && !RepostLinks(withKeys[i], withKeys[j]) {
				return nil, nil
			}
		}
	}
	return out, nil
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
