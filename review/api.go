package review

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// decodeJSON reads an optional JSON body into v: an empty body leaves v
// as it is; anything but JSON is refused.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return fmt.Errorf("%w: want Content-Type application/json, got %q", errBadInput, ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: JSON body: %v", errBadInput, err)
	}
	return nil
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, p *principal) {
	out := map[string]any{"name": p.user.Name, "role": p.user.Role, "token": p.bearer}
	if !p.bearer {
		out["csrf"] = p.sess.CSRF
	}
	writeJSON(w, http.StatusOK, out)
}

type queueResponse struct {
	Items  []lokerwatch.ReviewItem           `json:"items"`
	Counts map[lokerwatch.ReviewStatus]int64 `json:"counts"`
	Limit  int                               `json:"limit"`
	Offset int                               `json:"offset"`
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	// As on the queue page: mine=1 for the caller's claims, group=1 for one
	// item per repost cluster (with cluster_size).
	if r.URL.Query().Get("mine") == "1" {
		f.Status, f.Claimant = lokerwatch.StatusClaimed, p.name()
	}
	f.Group = r.URL.Query().Get("group") == "1"
	items, err := s.reads.list(r.Context(), f)
	if err != nil {
		s.storeError(w, r, "list queue", err)
		return
	}
	counts, err := s.reads.count(r.Context())
	if err != nil {
		s.storeError(w, r, "count queue", err)
		return
	}
	if items == nil {
		items = []lokerwatch.ReviewItem{}
	}
	writeJSON(w, http.StatusOK, queueResponse{Items: items, Counts: counts, Limit: f.Limit, Offset: f.Offset})
}

// apiNext claims the top item matching the query's filters: 200 with the
// item, 404 when nothing is left.
func (s *Server) apiNext(w http.ResponseWriter, r *http.Request, p *principal) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	it, err := s.claimNext(r.Context(), p, f)
	if err != nil {
		s.storeError(w, r, "claim next", err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

type itemResponse struct {
	Item      *lokerwatch.ReviewItem `json:"item"`
	Ad        *lokerwatch.Ad         `json:"ad,omitempty"`
	Decisions []lokerwatch.Decision  `json:"decisions"`
}

func (s *Server) apiItem(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	it, err := s.st.GetItem(ctx, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "item", err)
		return
	}
	out := itemResponse{Item: it}
	if out.Ad, err = s.st.GetAd(ctx, it.AdID); err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
		s.storeError(w, r, "ad", err)
		return
	}
	if out.Decisions, err = s.decisionsFor(ctx, p, it.ID); err != nil {
		s.storeError(w, r, "decisions", err)
		return
	}
	if out.Decisions == nil {
		out.Decisions = []lokerwatch.Decision{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiClaim(w http.ResponseWriter, r *http.Request, p *principal) {
	if it, ok := s.claimPathItem(w, r, p); ok {
		writeJSON(w, http.StatusOK, it)
	}
}

// claimPathItem claims the item named in the path for p; on failure it has
// written the error response.
func (s *Server) claimPathItem(w http.ResponseWriter, r *http.Request, p *principal) (*lokerwatch.ReviewItem, bool) {
	id := r.PathValue("id")
	it, err := Claim(r.Context(), s.st, p.user, id, s.lease)
	s.reads.changed()
	if err != nil {
		s.storeError(w, r, "claim item "+id, err)
		return nil, false
	}
	return it, true
}

func (s *Server) apiRenew(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	if err := s.st.RenewItem(r.Context(), id, p.name(), s.lease); err != nil {
		s.storeError(w, r, "renew item "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "lease_until": s.now().Add(s.lease).UTC()})
}

func (s *Server) apiRelease(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	err := s.st.ReleaseItem(r.Context(), id, p.name())
	s.reads.changed()
	if err != nil {
		s.storeError(w, r, "release item "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "released": true})
}

type decideRequest struct {
	Verdict string `json:"verdict"`
	Note    string `json:"note"`
	Amend   bool   `json:"amend"`
}

func (s *Server) apiDecide(w http.ResponseWriter, r *http.Request, p *principal) {
	var req decideRequest
	if err := decodeJSON(r, &req); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := lokerwatch.ParseVerdict(req.Verdict)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	id := r.PathValue("id")
	item, err := s.st.GetItem(r.Context(), id)
	if err != nil {
		s.storeError(w, r, "item "+id, err)
		return
	}
	out, err := s.decide(r.Context(), r, p, item, v, req.Note, req.Amend)
	if err != nil {
		s.storeError(w, r, "decide "+id, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type adResponse struct {
	Ad        *lokerwatch.Ad         `json:"ad"`
	Item      *lokerwatch.ReviewItem `json:"item,omitempty"`
	Decisions []lokerwatch.Decision  `json:"decisions"`
	Linked    []adSummary            `json:"linked"`
	Captures  []exportCapture        `json:"captures"`
}

func (s *Server) apiAd(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadAd(r.Context(), p, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "ad", err)
		return
	}
	out := adResponse{Ad: d.Ad, Item: d.Item, Decisions: d.Decisions, Linked: d.Linked, Captures: []exportCapture{}}
	if out.Decisions == nil {
		out.Decisions = []lokerwatch.Decision{}
	}
	if out.Linked == nil {
		out.Linked = []adSummary{}
	}
	for _, c := range d.Captures {
		out.Captures = append(out.Captures, exportCapture{ID: c.ID, URL: c.URL, CapturedAt: c.CapturedAt, Digest: c.Digest})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request, p *principal) {
	q, kind := r.URL.Query().Get("q"), r.URL.Query().Get("kind")
	res, err := s.search(r.Context(), q, kind)
	if err != nil {
		s.storeError(w, r, "search", err)
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "search", Object: res.Kind, Remote: remoteAddr(r),
		Detail: fmt.Sprintf("%q: %d ads", q, res.Total)})
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.auditEvents(r)
	if err != nil {
		s.storeError(w, r, "audit log", err)
		return
	}
	if d.Events == nil {
		d.Events = []lokerwatch.AuditEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": d.Events})
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request, p *principal) {
	users, err := s.st.ListUsers(r.Context())
	if err != nil {
		s.storeError(w, r, "list users", err)
		return
	}
	if users == nil {
		users = []storage.User{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users})
}

type addUserRequest struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

func (s *Server) apiAddUser(w http.ResponseWriter, r *http.Request, p *principal) {
	var req addUserRequest
	if err := decodeJSON(r, &req); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	role, err := ParseRole(req.Role)
	if err == nil {
		err = AddUser(r.Context(), s.st, req.Name, role, req.Password)
	}
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "user.add", Object: req.Name, Remote: remoteAddr(r), Detail: "role " + string(role)})
	writeJSON(w, http.StatusOK, map[string]any{"name": req.Name, "role": role})
}

func (s *Server) apiUserToken(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	tok, _, err := NewTokenTTL(r.Context(), s.st, name, s.tokenTTL)
	if err != nil {
		if errors.Is(err, lokerwatch.ErrNotFound) {
			writeJSONError(w, http.StatusNotFound, "no such user")
			return
		}
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "user.token", Object: name, Remote: remoteAddr(r)})
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "token": tok})
}

func (s *Server) apiUserDisable(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	var req struct {
		Enable bool `json:"enable"`
	}
	if err := decodeJSON(r, &req); err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.setDisabled(r, p, name, !req.Enable); err != nil {
		s.storeError(w, r, "user "+name, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "disabled": !req.Enable})
}
