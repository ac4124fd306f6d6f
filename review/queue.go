package review

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
	"github.com/lokerwatch/lokerwatch/storage"
)

const (
	queuePageSize = 50
	maxPageSize   = 500
)

// parseFilter reads queue filters from a query string: status, category,
// source, lang, since and until (YYYY-MM-DD or RFC 3339; until is
// exclusive, a bare date meaning the end of that day), limit, offset.
func parseFilter(q url.Values) (storage.ReviewFilter, error) {
	var f storage.ReviewFilter
	switch st := lokerwatch.ReviewStatus(q.Get("status")); st {
	case "", lokerwatch.StatusPending, lokerwatch.StatusClaimed, lokerwatch.StatusDecided:
		f.Status = st
	case "all":
	default:
		return f, fmt.Errorf("status %q: want pending, claimed, decided or all", st)
	}
	switch c := lokerwatch.Category(q.Get("category")); c {
	case "", lokerwatch.CategoryScam, lokerwatch.CategoryNonprocedural, lokerwatch.CategoryTrafficking:
		f.Category = c
	default:
		return f, fmt.Errorf("category %q: want scam, nonprocedural or trafficking", c)
	}
	f.Source = strings.TrimSpace(q.Get("source"))
	f.Lang = strings.TrimSpace(q.Get("lang"))
	var err error
	if f.Since, err = parseDate(q.Get("since"), false); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.Until, err = parseDate(q.Get("until"), true); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	if f.Sort, err = storage.ParseReviewSort(q.Get("sort")); err != nil {
		return f, err
	}
	f.Reverse = q.Get("rev") == "1"
	f.Limit = atoiDefault(q.Get("limit"), queuePageSize, 1, maxPageSize)
	f.Offset = atoiDefault(q.Get("offset"), 0, 0, 1_000_000)
	return f, nil
}

func parseDate(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (want YYYY-MM-DD)", s)
	}
	return t, nil
}

// filterQuery is the query string of f's selection (not its paging), to
// carry filters from the queue into "next" and back.
func filterQuery(f storage.ReviewFilter) string {
	v := url.Values{}
	if f.Status != "" {
		v.Set("status", string(f.Status))
	}
	if f.Category != "" {
		v.Set("category", string(f.Category))
	}
	if f.Source != "" {
		v.Set("source", f.Source)
	}
	if f.Lang != "" {
		v.Set("lang", f.Lang)
	}
	if !f.Since.IsZero() {
		v.Set("since", f.Since.UTC().Format("2006-01-02"))
	}
	if !f.Until.IsZero() {
		v.Set("until", f.Until.UTC().AddDate(0, 0, -1).Format("2006-01-02"))
	}
	if f.Sort != "" && f.Sort != storage.SortScore {
		v.Set("sort", string(f.Sort))
	}
	if f.Reverse {
		v.Set("rev", "1")
	}
	return v.Encode()
}

// claimNext claims the top pending item matching f for p. Analysts skip
// escalated items, which wait for an investigator or admin.
func (s *Server) claimNext(ctx context.Context, p *principal, f storage.ReviewFilter) (*lokerwatch.ReviewItem, error) {
	defer s.reads.changed()
	f.Status, f.Limit, f.Offset = "", 0, 0
	// "Next" is always the top of the queue by priority, whatever order
	// the analyst is looking at.
	f.Sort, f.Reverse, f.Group, f.Claimant, f.Cluster = "", false, false, "", ""
	it, err := s.st.ClaimNext(ctx, p.name(), s.lease, f)
	if err != nil {
		return nil, err
	}
	if it.Verdict != lokerwatch.VerdictEscalate || allows(p.user.Role, storage.RoleInvestigator) {
		return it, nil
	}
	if err := s.st.ReleaseItem(ctx, it.ID, p.name()); err != nil {
		return nil, fmt.Errorf("release escalated item %s: %w", it.ID, err)
	}
	// Walk the queue past escalated items; ClaimItem is atomic, so two
	// analysts still never get the same item.
	f.Status = lokerwatch.StatusPending
	f.Limit = 100
	for page := 0; page < 20; page++ {
		f.Offset = page * f.Limit
		items, err := s.st.ListItems(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, c := range items {
			if c.Verdict == lokerwatch.VerdictEscalate {
				continue
			}
			got, err := s.st.ClaimItem(ctx, c.ID, p.name(), s.lease)
			if errors.Is(err, lokerwatch.ErrNotClaimant) || errors.Is(err, lokerwatch.ErrAlreadyDecided) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return got, nil
		}
		if len(items) < f.Limit {
			break
		}
	}
	return nil, lokerwatch.ErrEmpty
}

// queueRow is one row of the queue page, flat and precomputed: the page
// is rendered for every analyst after every decision, and reflection on
// embedded structs in templates is slow. It is the key of its rendered HTML
// in rowCache: it must stay comparable and hold everything the row shows.
type queueRow struct {
	ID, AdID, Title, Source, Lang  string
	Score                          int
	ScoreClass, CatClass, CatLabel string
	Queued                         string
	AdHref, ClaimHref              string
	// State is mine, held, decided, escalated or waiting; Badge and
	// BadgeNote say it in words.
	State, Badge, BadgeClass, BadgeNote string
	// Reason (the top risk signal and its Phrase), Snippet of the text and
	// Linked ads (queuereason.go); Size of the repost cluster the row
	// stands for, whose page is ClusterHref when it has more than one.
	Reason, Phrase, Snippet string
	Linked, Size            int
	ClusterHref             string
}

type queueData struct {
	// RowsHTML is the table body, rendered by rowCache from "queue-row".
	RowsHTML  template.HTML
	Counts    map[string]int64
	Total     int64
	Filter    storage.ReviewFilter
	Status    string
	Since     string
	Until     string
	Query     string // filters as a query string
	PrevURL   string // "" on the first page
	NextURL   string // "" on the last page
	Languages []adLang
	Error     string
	// Mine shows the viewer's live claims ("my claims"), one row each;
	// other views show a repost cluster as one row.
	Mine    bool
	MineURL string
	Sort    string
	Reverse bool
	Sorts   []sortLink // the sortable column headers
}

// adLang is a choice of the queue's filter on the ads' language.
type adLang struct{ Code, Label string }

// adLangs are the languages the crawler tells apart, named in lang.
func adLangs(lang i18n.Lang) []adLang {
	return []adLang{{"id", T(lang, "adlang.indonesian")}, {"en", T(lang, "adlang.english")}, {"mixed", T(lang, "adlang.mixed")}}
}

// sortLink is a sortable column header: a plain link, so sorting works
// without the script; the current column's link turns the order around.
type sortLink struct {
	Key, Label, Href, Arrow string
}

func (s *Server) queuePage(w http.ResponseWriter, r *http.Request, p *principal) {
	lang := langOf(r)
	d := queueData{Languages: adLangs(lang)}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		d.Error = T(lang, "queue.bad_filter", "Err", err.Error())
		f = storage.ReviewFilter{Limit: queuePageSize}
	}
	if r.URL.Query().Get("status") == "" {
		f.Status = lokerwatch.StatusPending
	}
	d.Mine = r.URL.Query().Get("mine") == "1"
	if d.Mine {
		f.Status, f.Claimant = lokerwatch.StatusClaimed, p.name()
	} else {
		f.Group = true
	}
	d.Sort, d.Reverse = string(f.Sort), f.Reverse
	d.Status = string(f.Status)
	if d.Status == "" {
		d.Status = "all"
	}
	d.Filter = f
	d.Since = formValueDate(f.Since, false)
	d.Until = formValueDate(f.Until, true)
	ctx := r.Context()
	items, err := s.reads.list(ctx, f)
	if err != nil {
		s.storeError(w, r, "list queue", err)
		return
	}
	counts, err := s.reads.count(ctx)
	if err != nil {
		s.storeError(w, r, "count queue", err)
		return
	}
	d.Counts = map[string]int64{}
	for st, n := range counts {
		d.Counts[string(st)] = n
		d.Total += n
	}
	now := s.now()
	d.Query = filterQuery(f)
	if d.Status == "all" {
		d.Query = strings.TrimSuffix("status=all&"+d.Query, "&")
	}
	if d.Mine {
		d.Query = strings.TrimSuffix("mine=1&"+d.Query, "&")
	}
	d.MineURL = "/?mine=1"
	d.Sorts = sortLinks(lang, f, d.Status == "all", d.Mine)
	rows := make([]queueRow, 0, len(items))
	for _, it := range items {
		title := it.Title
		if title == "" {
			title = T(lang, "common.no_title")
		}
		row := queueRow{ID: it.ID, AdID: it.AdID, Title: title, Source: it.Source, Lang: it.Lang, Score: it.Score,
			ScoreClass: scoreClass(it.Score), CatClass: categoryClass(it.Category), CatLabel: categoryLabelIn(lang, it.Category),
			Queued: it.CreatedAt.UTC().Format("2006-01-02 15:04"), AdHref: adURL(it.AdID, d.Query),
			ClaimHref: "/item/" + url.PathEscape(it.ID) + "/claim", State: "waiting", Badge: T(lang, "queue.waiting"), BadgeClass: "plain"}
		if d.Query != "" {
			row.ClaimHref += "?" + d.Query
		}
		info := s.queueRowInfo(ctx, lang, &it)
		row.Reason, row.Phrase, row.Snippet, row.Linked = info.Reason, info.Phrase, info.Snippet, info.Linked
		row.Size = max(it.ClusterSize, 1)
		if row.Size > 1 {
			row.ClusterHref = "/cluster/" + url.PathEscape(it.ClusterKey())
			if d.Query != "" {
				row.ClusterHref += "?" + d.Query
			}
		}
		switch {
		case it.Status == lokerwatch.StatusClaimed && it.LeaseUntil.After(now) && it.Claimant == p.name():
			row.State, row.Badge, row.BadgeClass = "mine", T(lang, "cluster.state_yours"), "mine"
		case it.Status == lokerwatch.StatusClaimed && it.LeaseUntil.After(now):
			row.State, row.Badge, row.BadgeClass = "held", it.Claimant, "held"
		case it.Status == lokerwatch.StatusDecided:
			row.State, row.Badge, row.BadgeClass, row.BadgeNote = "decided", enumLabel(lang, "verdict", string(it.Verdict)), "v-"+string(it.Verdict), it.Reviewer
		case it.Verdict == lokerwatch.VerdictEscalate:
			row.State, row.Badge, row.BadgeClass = "escalated", enumLabel(lang, "verdict", string(lokerwatch.VerdictEscalate)), "v-escalate"
		}
		rows = append(rows, row)
	}
	if d.RowsHTML, err = s.rows.html(lang, rows); err != nil {
		s.log.Error("render queue rows", "err", err)
		s.refuse(w, r, http.StatusInternalServerError, tr(r, "error.msg.internal"))
		return
	}
	page := func(off int) string {
		if d.Query == "" {
			return "/?offset=" + strconv.Itoa(off)
		}
		return "/?" + d.Query + "&offset=" + strconv.Itoa(off)
	}
	if f.Offset > 0 {
		d.PrevURL = page(max(f.Offset-f.Limit, 0))
	}
	if len(items) == f.Limit {
		d.NextURL = page(f.Offset + f.Limit)
	}
	pd := newPage(p, T(lang, "nav.queue"), "queue", d)
	pd.Flash = flash(r)
	s.render(w, r, http.StatusOK, "queue", pd)
}

// sortLinks builds the column headers' links, named in lang: each keeps the
// filters and the view, sorts by its column and, when it is the current
// one, turns the order around.
func sortLinks(lang i18n.Lang, f storage.ReviewFilter, all, mine bool) []sortLink {
	cur := f.Sort
	if cur == "" {
		cur = storage.SortScore
	}
	cols := []struct {
		key   storage.ReviewSort
		label string
	}{{storage.SortScore, T(lang, "col.score")}, {storage.SortSize, T(lang, "queue.reposts")}, {storage.SortSource, T(lang, "col.source")}, {storage.SortAge, T(lang, "cluster.queued")}}
	out := make([]sortLink, 0, len(cols))
	for _, c := range cols {
		g := f
		g.Sort, g.Reverse = c.key, c.key == cur && !f.Reverse
		q := filterQuery(g) // score, the default, is left out
		if all {
			q = strings.TrimSuffix("status=all&"+q, "&")
		}
		if mine {
			q = strings.TrimSuffix("mine=1&"+q, "&")
		}
		l := sortLink{Key: string(c.key), Label: c.label, Href: "/"}
		if q != "" {
			l.Href = "/?" + q
		}
		if c.key == cur {
			l.Arrow = "▼"
			if f.Reverse {
				l.Arrow = "▲"
			}
		}
		out = append(out, l)
	}
	return out
}

func formValueDate(t time.Time, until bool) string {
	if t.IsZero() {
		return ""
	}
	if until {
		t = t.AddDate(0, 0, -1)
	}
	return t.UTC().Format("2006-01-02")
}

// flash reads a short message passed on a redirect, in the reader's
// language. Only the catalog's fixed messages are shown (msg= names one),
// so a link cannot put words in the console's mouth.
func flash(r *http.Request) string {
	switch r.URL.Query().Get("msg") {
	case "empty":
		return tr(r, "flash.empty")
	case "decided":
		return tr(r, "flash.decided")
	case "released":
		return tr(r, "flash.released")
	case "lost":
		return tr(r, "flash.lost")
	case "decided-empty":
		return tr(r, "flash.decided_empty")
	case "cluster":
		return clusterFlash(langOf(r), r.URL.Query())
	}
	return ""
}

// nextForm claims the top item (with the queue's filters) and opens it.
func (s *Server) nextForm(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, tr(r, "queue.bad_filter", "Err", err.Error()))
		return
	}
	it, err := s.claimNext(r.Context(), p, f)
	if errors.Is(err, lokerwatch.ErrEmpty) {
		http.Redirect(w, r, "/?msg=empty&"+filterQuery(f), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.storeError(w, r, "claim next", err)
		return
	}
	http.Redirect(w, r, adURL(it.AdID, filterQuery(f)), http.StatusSeeOther)
}

func adURL(adID, filterQ string) string {
	u := "/ad/" + url.PathEscape(adID)
	if filterQ != "" {
		u += "?" + filterQ
	}
	return u
}

func (s *Server) claimForm(w http.ResponseWriter, r *http.Request, p *principal) {
	if it, ok := s.claimPathItem(w, r, p); ok {
		http.Redirect(w, r, adURL(it.AdID, r.URL.RawQuery), http.StatusSeeOther)
	}
}

// releaseForm gives an item back; with next=1 the next item is claimed
// first (while this one is still held, so it is not handed straight back).
func (s *Server) releaseForm(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	ctx := r.Context()
	f, _ := parseFilter(r.URL.Query())
	var next *lokerwatch.ReviewItem
	if r.PostFormValue("next") == "1" {
		var err error
		next, err = s.claimNext(ctx, p, f)
		if err != nil && !errors.Is(err, lokerwatch.ErrEmpty) {
			s.storeError(w, r, "claim next", err)
			return
		}
	}
	err := s.st.ReleaseItem(ctx, id, p.name())
	s.reads.changed()
	if err != nil {
		s.storeError(w, r, "release item "+id, err)
		return
	}
	if next != nil {
		http.Redirect(w, r, adURL(next.AdID, filterQuery(f)), http.StatusSeeOther)
		return
	}
	q := "msg=released"
	if fq := filterQuery(f); fq != "" {
		q += "&" + fq
	}
	http.Redirect(w, r, "/?"+q, http.StatusSeeOther)
}
