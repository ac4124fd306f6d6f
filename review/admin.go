package review

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

type usersData struct {
	Users    []storage.User
	Roles    []storage.Role
	NewToken string // shown once after creation
	TokenFor string
	Error    string
	Done     string
}

var allRoles = []storage.Role{storage.RoleAnalyst, storage.RoleInvestigator, storage.RoleAdmin}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.renderUsers(w, r, p, http.StatusOK, usersData{})
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, p *principal, code int, d usersData) {
	users, err := s.st.ListUsers(r.Context())
	if err != nil {
		s.storeError(w, r, "list users", err)
		return
	}
	d.Users, d.Roles = users, allRoles
	s.render(w, r, code, "users", newPage(p, tr(r, "users.title"), "users", d))
}

func (s *Server) usersAddForm(w http.ResponseWriter, r *http.Request, p *principal) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	role, err := ParseRole(r.PostFormValue("role"))
	if err == nil {
		err = AddUser(r.Context(), s.st, name, role, r.PostFormValue("password"))
	}
	if err != nil {
		s.renderUsers(w, r, p, http.StatusBadRequest, usersData{Error: err.Error()})
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "user.add", Object: name, Remote: remoteAddr(r), Detail: "role " + string(role)})
	s.renderUsers(w, r, p, http.StatusOK, usersData{Done: tr(r, "users.saved", "Name", name, "Role", enumLabel(langOf(r), "role", string(role)))})
}

func (s *Server) userTokenForm(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	tok, _, err := NewTokenTTL(r.Context(), s.st, name, s.tokenTTL)
	if err != nil {
		if errors.Is(err, lokerwatch.ErrNotFound) {
			s.renderUsers(w, r, p, http.StatusNotFound, usersData{Error: tr(r, "users.no_such")})
			return
		}
		s.renderUsers(w, r, p, http.StatusBadRequest, usersData{Error: err.Error()})
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "user.token", Object: name, Remote: remoteAddr(r)})
	s.renderUsers(w, r, p, http.StatusOK, usersData{NewToken: tok, TokenFor: name})
}

func (s *Server) userDisableForm(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	disable := r.PostFormValue("enable") != "1"
	if err := s.setDisabled(r, p, name, disable); err != nil {
		if errors.Is(err, lokerwatch.ErrNotFound) {
			s.renderUsers(w, r, p, http.StatusNotFound, usersData{Error: tr(r, "users.no_such")})
			return
		}
		if errors.Is(err, errBadInput) {
			s.renderUsers(w, r, p, http.StatusBadRequest, usersData{Error: err.Error()})
			return
		}
		s.storeError(w, r, "user "+name, err)
		return
	}
	msg := "users.now_disabled"
	if !disable {
		msg = "users.now_enabled"
	}
	s.renderUsers(w, r, p, http.StatusOK, usersData{Done: tr(r, msg, "Name", name)})
}

// setDisabled disables or enables an account. Disabling ends the user's
// sessions and tokens (and identify checks the flag too), so enabling the
// account again revives none of them.
func (s *Server) setDisabled(r *http.Request, p *principal, name string, disable bool) error {
	if name == p.name() && disable {
		return fmt.Errorf("%w: you cannot disable yourself", errBadInput)
	}
	u, err := s.st.GetUser(r.Context(), name)
	if err != nil {
		return err
	}
	u.Disabled = disable
	if err := s.st.PutUser(r.Context(), u); err != nil {
		return err
	}
	if disable {
		if _, err := EndSessions(r.Context(), s.st, name); err != nil {
			return err
		}
	}
	action := "user.disable"
	if !disable {
		action = "user.enable"
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: action, Object: name, Remote: remoteAddr(r)})
	return nil
}

type auditData struct {
	Events []lokerwatch.AuditEvent
	Rows   []auditRow // the page's: events with their details read
	Actor  string
	Object string
	Days   int
	Error  string
}

const maxAuditRows = 1000

// auditEvents lists the newest events first within the last days.
func (s *Server) auditEvents(r *http.Request) (auditData, error) {
	q := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(q.Get("actor")), Object: strings.TrimSpace(q.Get("object")), Days: atoiDefault(q.Get("days"), 7, 1, 3650)}
	// The store returns only the page shown, newest first: the log may
	// be large, and loading all of it to show 1,000 rows let one request
	// cost hundreds of megabytes.
	f := storage.AuditFilter{Actor: d.Actor, Object: d.Object, Since: s.now().Add(-time.Duration(d.Days) * 24 * time.Hour),
		Limit: maxAuditRows, Newest: true}
	evs, err := s.st.ListAudit(r.Context(), f)
	if err != nil {
		return d, err
	}
	// Events written before fields were bounded may be huge: show them cut.
	for i := range evs {
		evs[i] = clampEvent(evs[i])
	}
	d.Events = evs
	return d, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.auditEvents(r)
	if err != nil {
		s.storeError(w, r, "audit log", err)
		return
	}
	d.Rows = auditRows(d.Events)
	s.render(w, r, http.StatusOK, "audit", newPage(p, tr(r, "audit.title"), "audit", d))
}
