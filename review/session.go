package review

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// principal is who makes a request.
type principal struct {
	user *storage.User
	sess *storage.Session
	// bearer is set for API-token requests: no cookie, so no CSRF risk.
	bearer bool
}

func (p *principal) name() string { return p.user.Name }

type handlerFunc func(w http.ResponseWriter, r *http.Request, p *principal)

// maxBody bounds request bodies (forms and JSON).
const maxBody = 1 << 20

// page registers a console page that needs role: anonymous users are sent
// to the login page, users without the role get 403.
func (s *Server) page(mux *http.ServeMux, pattern string, role storage.Role, h handlerFunc) {
	mux.Handle(pattern, s.authed(role, false, h))
}

// api registers a JSON endpoint that needs role: 401 without credentials,
// 403 without the role.
func (s *Server) api(mux *http.ServeMux, pattern string, role storage.Role, h handlerFunc) {
	mux.Handle(pattern, s.authed(role, true, h))
}

func (s *Server) authed(role storage.Role, api bool, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		w.Header().Set("Cache-Control", "no-store")
		p, err := s.identify(r)
		if err != nil {
			if !errors.Is(err, errNoCredentials) {
				s.log.Error("identify request", "err", err)
				s.refuse(w, r, http.StatusInternalServerError, "Internal error; it has been logged.")
				return
			}
			if api {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lokerwatch"`)
				writeJSONError(w, http.StatusUnauthorized, "authentication required: log in or send Authorization: Bearer <token>")
				return
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if !allows(p.user.Role, role) {
			s.metrics.refused("role")
			s.refuse(w, r, http.StatusForbidden, tr(r, "error.msg.role", "Need", enumLabel(langOf(r), "role", string(role)), "Have", enumLabel(langOf(r), "role", string(p.user.Role))))
			return
		}
		if !safeMethod(r.Method) && !p.bearer && !s.csrfOK(r, p.sess) {
			s.metrics.refused("csrf")
			s.log.Warn("csrf token missing or wrong", "user", p.name(), "path", r.URL.Path, "remote", remoteAddr(r))
			s.refuse(w, r, http.StatusForbidden, "Forbidden: missing or stale form token. Reload the page and try again.")
			return
		}
		h(w, r, p)
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

var errNoCredentials = errors.New("no credentials")

// identify finds the user of a request by bearer token or session cookie.
func (s *Server) identify(r *http.Request) (*principal, error) {
	var secret string
	bearer := false
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, ok := strings.Cut(a, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(tok, tokenPrefix) {
			return nil, errNoCredentials
		}
		secret, bearer = strings.TrimSpace(tok), true
	} else if c, err := r.Cookie(s.sessionCookie); err == nil && c.Value != "" && len(c.Value) < 200 {
		secret = c.Value
	} else {
		return nil, errNoCredentials
	}
	sess, err := s.st.GetSession(r.Context(), secretID(secret))
	if errors.Is(err, lokerwatch.ErrNotFound) {
		return nil, errNoCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	// A browser cookie cannot be used as a bearer token and vice versa.
	if sess.Token != bearer {
		return nil, errNoCredentials
	}
	if !sess.Expires.IsZero() && !s.now().Before(sess.Expires) {
		return nil, errNoCredentials
	}
	u, err := s.st.GetUser(r.Context(), sess.User)
	if errors.Is(err, lokerwatch.ErrNotFound) {
		return nil, errNoCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("get user %s: %w", sess.User, err)
	}
	if u.Disabled {
		return nil, errNoCredentials
	}
	return &principal{user: u, sess: sess, bearer: bearer}, nil
}

// csrfOK checks the session's CSRF token, sent as the X-CSRF-Token header
// (console script) or the csrf form field.
func (s *Server) csrfOK(r *http.Request, sess *storage.Session) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			got = r.PostFormValue("csrf")
		}
	}
	return sess.CSRF != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}

type loginData struct {
	Next  string
	Token string // login form token (double-submit cookie)
	Name  string
	Error string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if p, err := s.identify(r); err == nil && !p.bearer {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// renderLogin shows the login form with a fresh double-submit token: the
// form field must equal the cookie, which a cross-site page cannot read.
func (s *Server) renderLogin(w http.ResponseWriter, r *http.Request, code int, d loginData) {
	tok, err := randomString(18)
	if err != nil {
		s.refuse(w, r, http.StatusInternalServerError, "Internal error; it has been logged.")
		return
	}
	d.Token = tok
	http.SetCookie(w, &http.Cookie{Name: s.loginCookie, Value: tok, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: 3600})
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, code, "login", &pageData{Title: tr(r, "login.title"), Body: d})
}

// safeNext keeps post-login redirects on this site: only a path that
// starts with one "/" followed by something other than "/" or "\\", with no
// control character, space or backslash anywhere. Browsers drop tab,
// newline and other control characters from URLs and read "\\" as "/", so
// "/\t/evil.example" becomes "//evil.example", another site; anything
// unusual is refused rather than cleaned.
func safeNext(next string) string {
	if len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	for _, c := range next {
		if c <= 0x20 || c == 0x7f || c == '\\' || (c >= 0x80 && c <= 0x9f) || c == utf8.RuneError ||
			unicode.Is(unicode.White_Space, c) || unicode.Is(unicode.Cf, c) {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

// maxPasswordLen is the longest password a login hashes (AddUser accepts
// no longer ones); a longer one is a failed attempt without hashing.
const maxPasswordLen = 1024

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	w.Header().Set("Cache-Control", "no-store")
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	remote := remoteAddr(r)
	now := s.now()
	// Shown back in the form: a hostile name is not echoed in full.
	shown := name
	if len(shown) > maxAuditName {
		shown = ""
	}

	c, err := r.Cookie(s.loginCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("login_token"))) != 1 {
		s.metrics.refused("csrf")
		s.renderLogin(w, r, http.StatusForbidden, loginData{Next: next, Name: shown, Error: tr(r, "login.err.expired")})
		return
	}
	key := pairKey(name, remote)
	if wait := s.throttle.begin(now, key); wait > 0 {
		s.metrics.login("throttled")
		s.logins.failed(name, remote, "throttled", true)
		w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+1)))
		s.renderLogin(w, r, http.StatusTooManyRequests, loginData{Next: next, Name: shown,
			Error: tr(r, "login.err.throttled", "Seconds", int(wait.Round(time.Second).Seconds()))})
		return
	}

	// A name that no account can have (AddUser checks the same pattern)
	// or an overlong password fails without a store read or a hash.
	plausible := userNameRE.MatchString(name) && len(password) <= maxPasswordLen
	var u *storage.User
	if plausible {
		u, err = s.st.GetUser(r.Context(), name)
		if err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
			s.throttle.undo(key)
			s.storeError(w, r, "login", err)
			return
		}
	}
	ok := false
	if plausible {
		hash := dummyHash()
		if u != nil {
			hash = u.PasswordHash
		}
		var herr error
		ok, herr = s.hashes.check(r.Context(), hash, password)
		if errors.Is(herr, errBusy) || errors.Is(herr, context.Canceled) || errors.Is(herr, context.DeadlineExceeded) {
			// Not checked: not counted against the pair either.
			s.throttle.undo(key)
			s.metrics.login("throttled") // refused for now, as throttled ones are
			w.Header().Set("Retry-After", "5")
			s.renderLogin(w, r, http.StatusServiceUnavailable, loginData{Next: next, Name: shown, Error: tr(r, "login.err.busy")})
			return
		}
		if herr != nil {
			s.log.Error("stored password hash unusable", "user", name, "err", herr)
		}
	}
	if u == nil || !ok || u.Disabled {
		reason := "bad password"
		switch {
		case !plausible:
			reason = "impossible user name or password"
		case u == nil:
			reason = "unknown user"
		case u.Disabled && ok:
			reason = "user disabled"
		}
		s.metrics.login("failed")
		s.logins.failed(name, remote, "failed: "+reason, false)
		s.renderLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Name: shown, Error: tr(r, "login.err.wrong")})
		return
	}
	s.throttle.ok(key)

	secret, err := randomString(32)
	if err != nil {
		s.refuse(w, r, http.StatusInternalServerError, "Internal error; it has been logged.")
		return
	}
	csrf, err := randomString(24)
	if err != nil {
		s.refuse(w, r, http.StatusInternalServerError, "Internal error; it has been logged.")
		return
	}
	sess := &storage.Session{ID: secretID(secret), User: u.Name, CSRF: csrf, CreatedAt: now.UTC(), Expires: now.Add(s.ttl).UTC()}
	if err := s.st.PutSession(r.Context(), sess); err != nil {
		s.storeError(w, r, "login", err)
		return
	}
	s.metrics.login("ok")
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: u.Name, Action: "user.login", Object: u.Name, Remote: remote, Detail: "ok, role " + string(u.Role)})
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie, Value: secret, Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, Expires: sess.Expires})
	http.SetCookie(w, &http.Cookie{Name: s.loginCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.st.DeleteSession(r.Context(), p.sess.ID); err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
		s.storeError(w, r, "logout", err)
		return
	}
	s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "user.logout", Object: p.name(), Remote: remoteAddr(r)})
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// audit appends an event; a failure is logged, not shown, since the action
// it records has already happened.
func (s *Server) audit(ctx context.Context, ev lokerwatch.AuditEvent) {
	if ev.Time.IsZero() {
		ev.Time = s.now().UTC()
	}
	ev = clampEvent(ev)
	if err := s.st.AppendAudit(context.WithoutCancel(ctx), ev); err != nil {
		s.log.Error("append audit event", "action", ev.Action, "actor", ev.Actor, "err", err)
	}
}
