package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/storage"
)

const (
	maxCaseTitle = 200
	maxCaseNote  = 8000
)

type casesData struct {
	Cases []storage.Case
}

type caseItemView struct {
	storage.CaseItem
	Label, Href string
}

type caseData struct {
	Case      *storage.Case
	Items     []caseItemView
	Gathered  *cases.Gathered
	Timeline  []cases.Event
	Statuses  []storage.CaseStatus
	Users     []string
	Signed    bool
	Truncated bool
}

func (s *Server) actor(r *http.Request, p *principal) storage.CaseActor {
	return storage.CaseActor{User: p.name(), Remote: remoteAddr(r)}
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request, p *principal) {
	cs, err := s.st.ListCases(r.Context(), 500)
	if err != nil {
		s.storeError(w, r, "Cases", err)
		return
	}
	s.render(w, r, http.StatusOK, "cases", newPage(p, tr(r, "cases.title"), "cases", casesData{Cases: cs}))
}

func cleanTitle(t string) (string, error) {
	t = strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(t, "\r", " "), "\n", " "))
	if t == "" {
		return "", fmt.Errorf("%w: a case needs a title", errBadInput)
	}
	if utf8.RuneCountInString(t) > maxCaseTitle || !utf8.ValidString(t) {
		return "", fmt.Errorf("%w: title too long (at most %d characters)", errBadInput, maxCaseTitle)
	}
	return t, nil
}

func (s *Server) caseCreateForm(w http.ResponseWriter, r *http.Request, p *principal) {
	title, err := cleanTitle(r.PostFormValue("title"))
	if err != nil {
		s.storeError(w, r, "New case", err)
		return
	}
	c, err := s.st.CreateCase(r.Context(), title, s.actor(r, p))
	if err != nil {
		s.storeError(w, r, "New case", err)
		return
	}
	http.Redirect(w, r, casePath(c.ID), http.StatusSeeOther)
}

// checkItem refuses items that point at nothing.
func (s *Server) checkItem(ctx context.Context, kind, ref string) error {
	switch kind {
	case "ad":
		_, err := s.st.GetAd(ctx, ref)
		return err
	case "persona":
		_, err := s.st.GetPersona(ctx, ref)
		return err
	case "entity":
		k, err := cases.ParseEntityRef(ref)
		if err != nil {
			return fmt.Errorf("%w: %v", errBadInput, err)
		}
		ids, err := s.st.AdsByKey(ctx, k)
		if err == nil && len(ids) == 0 {
			err = fmt.Errorf("entity %s: %w", ref, lokerwatch.ErrNotFound)
		}
		return err
	}
	return fmt.Errorf("%w: item kind %q (want ad, entity or persona)", errBadInput, kind)
}

// caseAddForm adds an ad, entity or persona to a case, opening a new case
// when case is "new" (title from the form).
func (s *Server) caseAddForm(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	kind, ref := r.PostFormValue("kind"), r.PostFormValue("ref")
	if err := s.checkItem(ctx, kind, ref); err != nil {
		s.storeError(w, r, "Add to case", err)
		return
	}
	id := r.PostFormValue("case")
	if id == "" || id == "new" {
		title, err := cleanTitle(r.PostFormValue("title"))
		if err != nil {
			s.storeError(w, r, "New case", err)
			return
		}
		c, err := s.st.CreateCase(ctx, title, s.actor(r, p))
		if err != nil {
			s.storeError(w, r, "New case", err)
			return
		}
		id = c.ID
	}
	if _, err := s.st.AddCaseItem(ctx, id, storage.CaseItem{Kind: kind, Ref: ref}, s.actor(r, p)); err != nil {
		s.storeError(w, r, "Add to case", err)
		return
	}
	http.Redirect(w, r, casePath(id), http.StatusSeeOther)
}

func (s *Server) caseNoteForm(w http.ResponseWriter, r *http.Request, p *principal) {
	text, err := cleanNote(r.PostFormValue("note"))
	if err != nil {
		s.storeError(w, r, "Note", err)
		return
	}
	id := r.PathValue("id")
	if err := s.st.AddCaseNote(r.Context(), id, storage.CaseNote{Text: text}, s.actor(r, p)); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	http.Redirect(w, r, casePath(id), http.StatusSeeOther)
}

func (s *Server) caseStatusForm(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	id := r.PathValue("id")
	status := storage.CaseStatus(r.PostFormValue("status"))
	if !storage.ValidCaseStatus(status) {
		s.storeError(w, r, "Case", fmt.Errorf("%w: status %q (want open, referred or closed)", errBadInput, status))
		return
	}
	assignee := strings.TrimSpace(r.PostFormValue("assignee"))
	if err := s.checkAssignee(ctx, assignee); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	if err := s.st.SetCaseStatus(ctx, id, status, assignee, s.actor(r, p)); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	http.Redirect(w, r, casePath(id), http.StatusSeeOther)
}

func (s *Server) loadCase(ctx context.Context, id string) (*caseData, error) {
	c, err := s.st.GetCase(ctx, id)
	if err != nil {
		return nil, err
	}
	d := &caseData{Case: c, Statuses: []storage.CaseStatus{storage.CaseOpen, storage.CaseReferred, storage.CaseClosed}, Signed: s.inv.key != nil}
	for _, it := range c.Items {
		v := caseItemView{CaseItem: it, Label: it.Ref}
		switch it.Kind {
		case "ad":
			v.Href = "/ad/" + url.PathEscape(it.Ref)
			if ad, err := s.st.GetAd(ctx, it.Ref); err == nil && ad.Title != "" {
				v.Label = ad.Title
			}
		case "persona":
			v.Href = "/personas/" + url.PathEscape(it.Ref)
			v.Label = T(LangOf(ctx), "common.persona_n", "ID", it.Ref)
		case "entity":
			if k, err := cases.ParseEntityRef(it.Ref); err == nil {
				v.Href, v.Label = entityHref(k.Kind, k.Value), keyLabelIn(LangOf(ctx), k)
			}
		}
		d.Items = append(d.Items, v)
	}
	if d.Gathered, err = cases.Gather(ctx, s.st, c); err != nil {
		return nil, err
	}
	audit, err := s.st.ListAudit(ctx, storage.AuditFilter{Object: "case:" + c.ID})
	if err != nil {
		return nil, err
	}
	tl := d.Gathered.AdIDs
	if len(tl) > maxTimelineAds {
		tl, d.Truncated = tl[:maxTimelineAds], true
	}
	if d.Timeline, err = cases.Timeline(ctx, s.st, tl, audit); err != nil {
		return nil, err
	}
	users, err := s.st.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if !u.Disabled && allows(u.Role, storage.RoleInvestigator) {
			d.Users = append(d.Users, u.Name)
		}
	}
	return d, nil
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadCase(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	s.render(w, r, http.StatusOK, "case", newPage(p, tr(r, "case.title", "ID", d.Case.ID, "Title", d.Case.Title), "cases", d))
}

// caseExport streams the case's signed WACZ bundle. The bundle is built
// in a temporary spool by the exporter, so a failure before the first
// byte is a clean error page.
func (s *Server) caseExport(w http.ResponseWriter, r *http.Request, p *principal) {
	ctx := r.Context()
	c, err := s.st.GetCase(ctx, r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	stamp := s.now().UTC().Format("20060102T150405Z")
	w.Header().Set("Content-Type", "application/wacz+zip")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lokerwatch-case-%s-%s.wacz"`, c.ID, stamp))
	sum, err := cases.Export(ctx, s.st, s.inv.linker, c.ID, w, cases.ExportOptions{Remote: remoteAddr(r), ExportOptions: evidence.ExportOptions{
		Key: s.inv.key, Actor: p.name(), Software: "lokerwatch review desk", Logger: s.log}})
	if err != nil {
		// Headers may be gone; the log and the audit trail say what happened.
		s.log.Error("case export", "case", c.ID, "user", p.name(), "err", err)
		return
	}
	s.log.Info("case exported", "case", c.ID, "user", p.name(), "export", sum.ID, "ads", sum.Ads)
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request, p *principal) {
	cs, err := s.st.ListCases(r.Context(), atoiDefault(r.URL.Query().Get("limit"), 100, 1, 1000))
	if err != nil {
		s.storeError(w, r, "Cases", err)
		return
	}
	if cs == nil {
		cs = []storage.Case{}
	}
	writeJSON(w, http.StatusOK, cs)
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.loadCase(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"case": d.Case, "ads": d.Gathered.AdIDs, "personas": d.Gathered.Personas, "timeline": d.Timeline})
}

func cleanNote(text string) (string, error) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > maxCaseNote || !utf8.ValidString(text) {
		return "", fmt.Errorf("%w: a note is 1 to %d bytes of text", errBadInput, maxCaseNote)
	}
	return text, nil
}

// checkAssignee refuses an assignee who is not a user ("" is no change).
func (s *Server) checkAssignee(ctx context.Context, name string) error {
	if name == "" {
		return nil
	}
	if _, err := s.st.GetUser(ctx, name); err != nil {
		if errors.Is(err, lokerwatch.ErrNotFound) {
			return fmt.Errorf("%w: no user %q to assign", errBadInput, name)
		}
		return err
	}
	return nil
}

// JSON API for scripts: the same changes as the console's forms, audited
// the same way.

func (s *Server) apiCreateCase(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Title string `json:"title"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.storeError(w, r, "New case", err)
		return
	}
	title, err := cleanTitle(req.Title)
	if err != nil {
		s.storeError(w, r, "New case", err)
		return
	}
	c, err := s.st.CreateCase(r.Context(), title, s.actor(r, p))
	if err != nil {
		s.storeError(w, r, "New case", err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) apiAddCaseItem(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Kind string `json:"kind"`
		Ref  string `json:"ref"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.storeError(w, r, "Add to case", err)
		return
	}
	if err := s.checkItem(r.Context(), req.Kind, req.Ref); err != nil {
		s.storeError(w, r, "Add to case", err)
		return
	}
	added, err := s.st.AddCaseItem(r.Context(), r.PathValue("id"), storage.CaseItem{Kind: req.Kind, Ref: req.Ref}, s.actor(r, p))
	if err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"added": added})
}

func (s *Server) apiAddCaseNote(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Text string `json:"text"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.storeError(w, r, "Note", err)
		return
	}
	text, err := cleanNote(req.Text)
	if err != nil {
		s.storeError(w, r, "Note", err)
		return
	}
	if err := s.st.AddCaseNote(r.Context(), r.PathValue("id"), storage.CaseNote{Text: text}, s.actor(r, p)); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Server) apiSetCaseStatus(w http.ResponseWriter, r *http.Request, p *principal) {
	var req struct {
		Status   string `json:"status"`
		Assignee string `json:"assignee"`
	}
	if err := decodeJSON(r, &req); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	status := storage.CaseStatus(req.Status)
	if !storage.ValidCaseStatus(status) {
		s.storeError(w, r, "Case", fmt.Errorf("%w: status %q (want open, referred or closed)", errBadInput, req.Status))
		return
	}
	assignee := strings.TrimSpace(req.Assignee)
	if err := s.checkAssignee(r.Context(), assignee); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	if err := s.st.SetCaseStatus(r.Context(), r.PathValue("id"), status, assignee, s.actor(r, p)); err != nil {
		s.storeError(w, r, "Case", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
}
