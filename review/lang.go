package review

import (
	"context"
	"net/http"
	"strings"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// The console's language (issue 22): chosen per request from the
// preference cookie, else Accept-Language, else English; the switcher in
// the page header posts to /lang, which sets the cookie.
//
// Why a cookie and not a field of the account: the login page and error
// pages are shown before anyone is signed in and must already speak the
// reader's language; the choice is a display preference, not an
// authorisation fact, so it needs no store schema change on SQLite and
// Redis (nor a re-save of the account, which ends its sessions); and it
// can never be lost with a password change. The cost: a person on a
// second browser picks the language once more, or gets Accept-Language.

// langCookieName is the preference cookie (with the __Host- prefix when
// cookies are Secure, like the session cookie).
func (s *Server) langCookieName() string {
	if s.secure {
		return "__Host-lw_lang"
	}
	return "lw_lang"
}

type langKey struct{}

// withLang puts the request's language into its context.
func (s *Server) withLang(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pref := ""
		if c, err := r.Cookie(s.langCookieName()); err == nil {
			pref = c.Value
		}
		l := i18n.Match(pref, r.Header.Get("Accept-Language"))
		if isAPI(r) {
			l = i18n.English // the API is for scripts: its words stay put
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			w.Header().Add("Vary", "Accept-Language, Cookie")
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), langKey{}, l)))
	})
}

// LangOf returns the language of a request's context (English when none
// was chosen, e.g. in the CLI).
func LangOf(ctx context.Context) i18n.Lang {
	if l, ok := ctx.Value(langKey{}).(i18n.Lang); ok {
		return l
	}
	return i18n.Default
}

func langOf(r *http.Request) i18n.Lang { return LangOf(r.Context()) }

// T returns the console message key in lang, its placeholders filled from
// args (name/value pairs: T(l, "cases.count", "Count", n)). Use it for text
// a handler puts on a page; templates call {{t "key"}}.
func T(lang i18n.Lang, key string, args ...any) string {
	c, err := i18n.Load()
	if err != nil { // New refuses to start with a broken catalog
		return key
	}
	return c.T(lang, key, args...)
}

// ruleDescription is a rule's description in lang, from the rule files
// (Options.Describe), else recorded: the description a signal carries
// (English, written when the ad was scored). Pages that show signals use
// it: s.ruleDescription(langOf(r), sg.Rule, sg.Description).
func (s *Server) ruleDescription(lang i18n.Lang, rule, recorded string) string {
	if s.describe != nil {
		if d := s.describe(rule, string(lang)); d != "" {
			return d
		}
	}
	// Signals made in code (the text model, the not-an-offer demotion)
	// have a fixed description in the catalog.
	if c, err := i18n.Load(); err == nil && lang != i18n.English && c.Has(lang, "signal."+rule) {
		return c.T(lang, "signal."+rule)
	}
	return recorded
}

// keyLabelIn names an entity for people in lang ("telepon +62…").
func keyLabelIn(lang i18n.Lang, k lokerwatch.IndexKey) string {
	if k.Kind == lokerwatch.EntityTelegram {
		return "Telegram @" + k.Value
	}
	return enumLabel(lang, "kind", string(k.Kind)) + " " + k.Value
}

// tr is T in the request's language.
func tr(r *http.Request, key string, args ...any) string { return T(langOf(r), key, args...) }

// setLang is POST /lang: it stores the chosen language in the preference
// cookie and goes back to the page. It is open to everyone (the login page
// has the switcher too); cross-site posts are refused before it runs.
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	l, ok := i18n.Parse(strings.TrimSpace(r.PostFormValue("lang")))
	if !ok {
		s.refuse(w, r, http.StatusBadRequest, tr(r, "lang.unknown"))
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.langCookieName(), Value: string(l), Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 400 * 24 * 3600})
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}
