package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

type categoryView struct {
	Category lokerwatch.Category
	Score    int
	Top      bool
}

type captureView struct {
	N          int
	URL        string
	CapturedAt time.Time
	Digest     string
	ID         string
}

// verdictButton is a decision button; its label is the catalog's
// cluster.v.<verdict> ({{enum "cluster.v" .Verdict}}).
type verdictButton struct {
	Verdict lokerwatch.Verdict
	Key     string
}

var verdictButtons = []verdictButton{
	{lokerwatch.VerdictScam, "1"},
	{lokerwatch.VerdictNonprocedural, "2"},
	{lokerwatch.VerdictTrafficking, "3"},
	{lokerwatch.VerdictBenign, "0"},
	{lokerwatch.VerdictEscalate, "e"},
}

type adData struct {
	Ad         *lokerwatch.Ad
	Item       *lokerwatch.ReviewItem
	Decisions  []lokerwatch.Decision
	Segments   []segment
	Categories []categoryView
	Why        *whyView
	Linked     []adSummary
	// LinkedTop are shown, LinkedMore folded (most links first).
	LinkedTop, LinkedMore []adSummary
	Captures              []captureView
	Buttons               []verdictButton
	Query                 string // queue filters, carried to "next"
	Mine                  bool   // the viewer holds the claim
	HeldBy                string // another reviewer holds a live claim
	CanDecide             bool
	Decided               bool
	LeaseMS               int64
	Entities              []entityView
	// Persona is the persona of the ad (nil when not linked); Holders are
	// the account holders' names; CanCase offers "add to case".
	Persona *storage.Persona
	Holders map[string]string
	CanCase bool
	Cases   []caseChoice
}

// linkedShown is how many linked ads the ad page shows unfolded.
const linkedShown = 3

// entityView is a row of the ad's entities; Kind is set for the kinds
// with entity pages (the values link there).
type entityView struct {
	Label  string
	Kind   lokerwatch.EntityKind
	Values []string
}

func (s *Server) loadAd(ctx context.Context, p *principal, id string) (*adData, error) {
	ad, err := s.st.GetAd(ctx, id)
	if err != nil {
		return nil, err
	}
	// The page's language (the API's is English).
	lang := LangOf(ctx)
	describe := s.describer(lang)
	d := &adData{Ad: ad, Buttons: verdictButtons, LeaseMS: s.lease.Milliseconds()}
	if a := ad.Assessment; a != nil {
		d.Segments = highlight(lang, ad.Body(), a.Signals, describe)
		for _, c := range lokerwatch.Categories {
			d.Categories = append(d.Categories, categoryView{Category: c, Score: a.Categories[c], Top: c == a.Category})
		}
		d.Why = buildWhy(lang, a, ad.Body(), describe)
	} else {
		d.Segments = highlight(lang, ad.Body(), nil, nil)
	}
	e := ad.Entities
	for _, ev := range []entityView{
		{T(lang, "ad.ent.phones"), "phone", e.Phones}, {"WhatsApp", "whatsapp", e.WhatsApp}, {"Telegram", "telegram", e.Telegram},
		{T(lang, "ad.ent.email"), "email", e.Emails}, {T(lang, "ad.ent.bank"), "bank", e.Accounts},
		{T(lang, "ad.ent.ewallet"), "ewallet", e.EWallets}, {T(lang, "ad.ent.crypto"), "crypto", e.Crypto},
		{T(lang, "ad.ent.profile"), "profile", e.Profiles}, {T(lang, "ad.ent.domain"), "domain", e.Domains},
		{T(lang, "ad.ent.agency"), "agency", e.Agencies}, {T(lang, "ad.ent.licence"), "", e.Licences},
		{T(lang, "ad.ent.country"), "", e.Countries}, {T(lang, "ad.ent.place"), "", e.Places},
	} {
		if len(ev.Values) > 0 {
			d.Entities = append(d.Entities, ev)
		}
	}
	if e.SalaryIDR > 0 {
		d.Entities = append(d.Entities, entityView{T(lang, "ad.ent.salary"), "", []string{T(lang, "ad.per_month", "Amount", formatIDR(e.SalaryIDR))}})
	}

	d.Holders = e.Holders
	if pp, err := s.st.PersonaOf(ctx, id); err == nil {
		d.Persona = &pp
	} else if !errors.Is(err, lokerwatch.ErrNotFound) {
		return nil, err
	}
	s.caseChoices(ctx, p, &d.CanCase, &d.Cases)

	item, err := s.st.ItemForAd(ctx, id)
	switch {
	case err == nil:
		d.Item = item
		now := s.now()
		live := item.Status == lokerwatch.StatusClaimed && item.LeaseUntil.After(now)
		d.Mine = live && item.Claimant == p.name()
		if live && !d.Mine {
			d.HeldBy = item.Claimant
		}
		d.Decided = item.Status == lokerwatch.StatusDecided
		d.CanDecide = !d.Decided && d.HeldBy == "" && MayClaim(p.user.Role, item) == nil
		if d.Decisions, err = s.decisionsFor(ctx, p, item.ID); err != nil {
			return nil, fmt.Errorf("decisions of %s: %w", item.ID, err)
		}
	case errors.Is(err, lokerwatch.ErrNotFound):
	default:
		return nil, fmt.Errorf("item for ad %s: %w", id, err)
	}
	if d.Linked, err = s.linkedAds(ctx, ad); err != nil {
		return nil, err
	}
	d.LinkedTop, d.LinkedMore = d.Linked[:min(len(d.Linked), linkedShown)], d.Linked[min(len(d.Linked), linkedShown):]
	recs, err := s.st.EvidenceForAd(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("evidence for ad %s: %w", id, err)
	}
	for i, rec := range recs {
		d.Captures = append(d.Captures, captureView{N: i, URL: rec.URL, CapturedAt: rec.CapturedAt, Digest: rec.Digest, ID: rec.ID})
	}
	return d, nil
}

func (s *Server) adPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadAd(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "ad", err)
		return
	}
	if f, err := parseFilter(r.URL.Query()); err == nil {
		d.Query = filterQuery(f)
	}
	title := d.Ad.Title
	if title == "" {
		title = tr(r, "ad.title", "ID", d.Ad.ID)
	}
	pd := newPage(p, title, "ad", d)
	pd.Flash = flash(r)
	s.render(w, r, http.StatusOK, "ad", pd)
}

// decideForm records a verdict from the ad page. With next=1 it claims the
// next item first (while still holding this one, so it is not handed back)
// and opens it.
func (s *Server) decideForm(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	v, err := lokerwatch.ParseVerdict(r.PostFormValue("verdict"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	f, _ := parseFilter(r.URL.Query())
	fq := filterQuery(f)
	item, err := s.st.GetItem(ctx, id)
	if err != nil {
		s.storeError(w, r, "item "+id, err)
		return
	}
	amend := r.PostFormValue("amend") == "1"
	var next *lokerwatch.ReviewItem
	// An amendment stays on its item; a first decision moves on.
	wantNext := r.PostFormValue("next") == "1" && item.Status != lokerwatch.StatusDecided
	if wantNext {
		// Hold the item first, so that claimNext cannot return it.
		if item.Status == lokerwatch.StatusPending {
			if _, err := Claim(ctx, s.st, p.user, id, s.lease); err != nil {
				s.storeError(w, r, "claim item "+id, err)
				return
			}
		}
		next, err = s.claimNext(ctx, p, f)
		if err != nil && !errors.Is(err, lokerwatch.ErrEmpty) {
			s.storeError(w, r, "claim next", err)
			return
		}
	}
	_, err = s.decide(ctx, r, p, item, v, r.PostFormValue("note"), amend)
	if err != nil {
		if next != nil {
			s.releaseQuietly(ctx, next.ID, p.name())
		}
		if errors.Is(err, lokerwatch.ErrNotClaimant) {
			http.Redirect(w, r, adURL(item.AdID, "msg=lost"), http.StatusSeeOther)
			return
		}
		s.storeError(w, r, "decide "+id, err)
		return
	}
	switch {
	case next != nil:
		http.Redirect(w, r, adURL(next.AdID, fq), http.StatusSeeOther)
	case wantNext:
		http.Redirect(w, r, "/?msg=decided-empty&"+fq, http.StatusSeeOther)
	default:
		http.Redirect(w, r, adURL(item.AdID, "msg=decided"), http.StatusSeeOther)
	}
}

func (s *Server) releaseQuietly(ctx context.Context, id, who string) {
	if err := s.st.ReleaseItem(context.WithoutCancel(ctx), id, who); err != nil {
		s.log.Warn("release item", "item", id, "err", err)
	}
}

// maxNote bounds analysts' notes.
const maxNote = 4000

// decide records a decision.
func (s *Server) decide(ctx context.Context, r *http.Request, p *principal, item *lokerwatch.ReviewItem, v lokerwatch.Verdict, note string, amend bool) (*lokerwatch.ReviewItem, error) {
	note = strings.TrimSpace(note)
	if len(note) > maxNote {
		return nil, fmt.Errorf("%w: note longer than %d bytes", errBadInput, maxNote)
	}
	d := lokerwatch.Decision{
		ItemID: item.ID, AdID: item.AdID, Verdict: v, Reviewer: p.name(), Note: note,
		DecidedAt: s.now().UTC(), Amend: amend, Remote: remoteAddr(r),
	}
	out, err := decideItem(ctx, s.st, p.user, item, d)
	s.reads.changed()
	if err != nil {
		return nil, err
	}
	// The store writes the audit event (who, when, from where, the verdict
	// and the one it replaced) in the same transaction as the decision.
	s.metrics.decision(v)
	return out, nil
}

var errBadInput = errors.New("bad input")

// capture serves the response body of a stored capture as plain text in a
// sandbox: even if a browser were to render it, it would have no origin,
// no script and no way to frame anything but the console.
func (s *Server) capture(w http.ResponseWriter, r *http.Request, p *principal) {
	rec, err := s.captureRecord(r)
	if err != nil {
		s.storeError(w, r, "capture", err)
		return
	}
	resp, err := readCapture(rec.WARC)
	h := w.Header()
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; frame-ancestors 'self'")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Disposition", "inline")
	if err != nil {
		s.log.Warn("unreadable capture", "record", rec.ID, "err", err)
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprintf(w, "This capture could not be read: %v\n", err)
		return
	}
	fmt.Fprintf(w, "Captured %s\nURL: %s\nHTTP status: %s\nContent-Type: %s\nRecord: %s\nDigest: %s\n\n",
		resp.Date, resp.TargetURI, resp.Status, resp.ContentType, rec.ID, rec.Digest)
	w.Write([]byte(strings.ToValidUTF8(string(resp.Body), "\uFFFD")))
	if resp.Truncated {
		fmt.Fprintf(w, "\n\n[truncated after %d bytes]\n", maxCaptureShown)
	}
}

// captureWARC downloads a capture as stored (.warc.gz), for investigators.
func (s *Server) captureWARC(w http.ResponseWriter, r *http.Request, p *principal) {
	rec, err := s.captureRecord(r)
	if err != nil {
		s.storeError(w, r, "capture", err)
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "evidence.download", Object: rec.ID, Remote: remoteAddr(r), Detail: "ad " + r.PathValue("id") + ", " + rec.Digest})
	h := w.Header()
	h.Set("Content-Type", "application/warc")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lokerwatch-%s-%s.warc.gz"`, safeFilePart(r.PathValue("id")), r.PathValue("n")))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Write(rec.WARC)
}

func (s *Server) captureRecord(r *http.Request) (*storage.EvidenceRecord, error) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		return nil, lokerwatch.ErrNotFound
	}
	recs, err := s.st.EvidenceForAd(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if n >= len(recs) {
		return nil, lokerwatch.ErrNotFound
	}
	rec := recs[n]
	if len(rec.WARC) == 0 && rec.ID != "" {
		full, err := s.st.GetEvidence(r.Context(), rec.ID)
		if err != nil {
			return nil, err
		}
		rec = *full
	}
	return &rec, nil
}

func safeFilePart(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return -1
	}, s)
}

func formatIDR(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	b.WriteString("Rp ")
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}
