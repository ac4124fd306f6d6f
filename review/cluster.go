package review

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
	"github.com/lokerwatch/lokerwatch/storage"
)

// A repost cluster (issue 22): the ads whose SimHash fingerprints are
// within a few bits of one another, queued as one row. Its page lists the
// members; one form decides the members ticked, each with a decision and
// an audit event of its own, exactly as if each had been decided on its
// ad page. A member another reviewer holds is never decided over their
// head: the store refuses (ErrNotClaimant) and the member stays theirs.

// maxClusterDecide bounds the members one form may decide.
const maxClusterDecide = 500

type clusterMember struct {
	ID, Title, Source, Queued string
	Score                     int
	ScoreClass, CatClass      string
	Category                  lokerwatch.Category
	Reason, Snippet           string
	AdHref                    string
	// Open: the viewer may decide it now (ticked). State says how it
	// stands: yours, held (by Who), decided (Verdict by Who), escalated,
	// or "" (open).
	Open    bool
	State   string
	Who     string
	Verdict lokerwatch.Verdict
}

type clusterData struct {
	Key     string
	Members []clusterMember
	Open    int
	Held    int
	Buttons []verdictButton
	Action  string // the decide form's URL, with the queue's filters
	BackURL string
}

func clusterPath(key, action, q string) string {
	u := "/cluster/" + url.PathEscape(key)
	if action != "" {
		u += "/" + action
	}
	if q != "" {
		u += "?" + q
	}
	return u
}

func (s *Server) clusterPage(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	key := r.PathValue("key")
	f, _ := parseFilter(r.URL.Query())
	fq := filterQuery(f)
	items, err := s.st.ListItems(ctx, storage.ReviewFilter{Cluster: key})
	if err != nil {
		s.storeError(w, r, "cluster "+key, err)
		return
	}
	if len(items) == 0 {
		s.errorPage(w, r, http.StatusNotFound, tr(r, "cluster.err_no_such"))
		return
	}
	now := s.now()
	d := clusterData{Key: key, Buttons: verdictButtons, Action: clusterPath(key, "decide", fq), BackURL: "/"}
	if fq != "" {
		d.BackURL = "/?" + fq
	}
	for i := range items {
		it := &items[i]
		info := s.queueRowInfo(ctx, langOf(r), it)
		m := clusterMember{ID: it.ID, Title: it.Title, Source: it.Source, Queued: it.CreatedAt.UTC().Format("2006-01-02 15:04"),
			Score: it.Score, ScoreClass: scoreClass(it.Score), CatClass: categoryClass(it.Category), Category: it.Category,
			Reason: info.Reason, Snippet: info.Snippet, AdHref: adURL(it.AdID, fq)}
		if m.Title == "" {
			m.Title = tr(r, "common.no_title")
		}
		held := it.Status == lokerwatch.StatusClaimed && it.LeaseUntil.After(now)
		switch {
		case it.Status == lokerwatch.StatusDecided:
			m.State, m.Verdict, m.Who = "decided", it.Verdict, it.Reviewer
		case held && it.Claimant != p.name():
			m.State, m.Who = "held", it.Claimant
			d.Held++
		case MayClaim(p.user.Role, it) != nil:
			m.State = "escalated"
		default:
			m.Open = true
			if held {
				m.State = "yours"
			}
			d.Open++
		}
		d.Members = append(d.Members, m)
	}
	pd := newPage(p, tr(r, "cluster.title"), "cluster", d)
	pd.Flash = flash(r)
	s.render(w, r, http.StatusOK, "cluster", pd)
}

// clusterOutcome counts what one cluster decision did.
type clusterOutcome struct {
	Decided, Held, Skipped int
}

// clusterDecideForm decides the ticked members of a cluster, one by one.
func (s *Server) clusterDecideForm(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	key := r.PathValue("key")
	v, err := lokerwatch.ParseVerdict(r.PostFormValue("verdict"))
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > maxNote {
		s.errorPage(w, r, http.StatusBadRequest, tr(r, "cluster.err_note", "Max", maxNote))
		return
	}
	ids := r.PostForm["member"]
	if len(ids) == 0 {
		s.errorPage(w, r, http.StatusBadRequest, tr(r, "cluster.err_none"))
		return
	}
	if len(ids) > maxClusterDecide {
		s.errorPage(w, r, http.StatusBadRequest, tr(r, "cluster.err_many", "Max", maxClusterDecide))
		return
	}
	f, _ := parseFilter(r.URL.Query())
	var out clusterOutcome
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		it, err := s.st.GetItem(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			out.Skipped++
			continue
		}
		if err != nil {
			s.storeError(w, r, "cluster "+key+": item "+id, err)
			return
		}
		if it.ClusterKey() != key {
			out.Skipped++ // not a member: a stale or forged form
			continue
		}
		_, err = s.decide(ctx, r, p, it, v, note, false)
		switch {
		case err == nil:
			out.Decided++
		case errors.Is(err, lokerwatch.ErrNotClaimant):
			out.Held++
		case errors.Is(err, lokerwatch.ErrAlreadyDecided), errors.Is(err, ErrForbidden):
			out.Skipped++
		default:
			// Members decided so far stay decided (each is its own record);
			// the error page says where it stopped.
			s.storeError(w, r, fmt.Sprintf("cluster %s: decide item %s (after %d decided)", key, id, out.Decided), err)
			return
		}
	}
	s.log.Info("cluster decided", "cluster", key, "user", p.name(), "verdict", v,
		"decided", out.Decided, "held", out.Held, "skipped", out.Skipped)
	q := url.Values{}
	q.Set("msg", "cluster")
	q.Set("done", strconv.Itoa(out.Decided))
	q.Set("held", strconv.Itoa(out.Held))
	q.Set("skipped", strconv.Itoa(out.Skipped))
	dest := "/?" + q.Encode()
	if fq := filterQuery(f); fq != "" {
		dest += "&" + fq
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
}

// clusterFlash says what a cluster decision did, from numbers only (a link
// cannot put words in the console's mouth).
func clusterFlash(lang i18n.Lang, q url.Values) string {
	n := func(k string) int { return atoiDefault(q.Get(k), 0, 0, maxClusterDecide) }
	done, held, skipped := n("done"), n("held"), n("skipped")
	msg := T(lang, "flash.cluster_done", "Count", done)
	if held > 0 {
		msg += " " + T(lang, "flash.cluster_held", "Count", held)
	}
	if skipped > 0 {
		msg += " " + T(lang, "flash.cluster_skipped", "Count", skipped)
	}
	return msg
}
