// Package review is the review desk: an HTTP server with the analysts'
// console (server-rendered pages), a JSON API under /api/, /metrics,
// /healthz and /readyz, accounts with roles, sessions, API tokens and CSRF
// protection. Everything it shows from a crawled page is treated as hostile
// text: no script from an ad ever runs in the console's origin.
package review

import (
	"context"
	"crypto/ecdsa"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

//go:embed static
var staticFS embed.FS

// Options configure a Server. Store is required; the rest have defaults.
type Options struct {
	Store  Store
	Logger *slog.Logger
	// Gatherer is served at /metrics (404 when nil).
	Gatherer prometheus.Gatherer
	// Registerer receives the review desk's own metrics (none when nil).
	Registerer prometheus.Registerer
	// Lease is how long a claim holds without renewal (default 10m); the
	// console renews it while the item is open.
	Lease time.Duration
	// SessionTTL is the lifetime of a browser session (default 12h).
	SessionTTL time.Duration
	// TokenTTL is the lifetime of API tokens made on the desk (default
	// DefaultTokenTTL, config review.token_ttl).
	TokenTTL time.Duration
	// SecureCookies marks cookies Secure (set when served over TLS, also
	// behind a TLS-terminating proxy).
	SecureCookies bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// SigningKey signs case bundles exported from the console (nil:
	// unsigned). Weak tells persona links that do not count (the
	// registry's licensed hotlines: classifiers.Engine.LicensedContact).
	SigningKey *ecdsa.PrivateKey
	Weak       func(lokerwatch.IndexKey) bool
	// TrustedProxies are the addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For header is believed (config review.trusted_proxies).
	// Without any, the client address is the TCP peer and the header is
	// ignored.
	TrustedProxies []string
	// HashConcurrency bounds the password hashes computed at once (default
	// the number of CPUs, at least 2); each takes 19 MiB.
	HashConcurrency int
	// Describe is a rule's description in a language ("en", "id"; ""
	// for a rule it does not know): classifiers.Engine.RuleDescription.
	// Without it the console shows the description a signal recorded.
	Describe func(rule, lang string) string
}

// Server is the review desk.
type Server struct {
	st       Store
	log      *slog.Logger
	gatherer prometheus.Gatherer
	lease    time.Duration
	ttl      time.Duration
	tokenTTL time.Duration
	secure   bool
	now      func() time.Time
	pages    *pageSet
	throttle *throttle
	hashes   hashSlots
	logins   *loginAudit
	proxies  []netip.Prefix
	metrics  *metrics
	reads    *queueReads
	rows     *rowCache    // rendered queue rows, per language
	rowInfos rowInfoCache // queue rows' reason, snippet, linked count (queuereason.go)
	inv      investigation
	describe func(rule, lang string) string
	handler  http.Handler
	// Cookie names; the __Host- prefix (Secure only) pins the session
	// cookie to this host and path.
	sessionCookie, loginCookie string
}

// New builds a Server.
func New(opt Options) (*Server, error) {
	if opt.Store == nil {
		return nil, errors.New("review server: no store")
	}
	var err error
	s := &Server{
		st:       newGatedStore(opt.Store),
		log:      opt.Logger,
		gatherer: opt.Gatherer,
		lease:    opt.Lease,
		ttl:      opt.SessionTTL,
		secure:   opt.SecureCookies,
		now:      opt.Now,
		throttle: newThrottle(),
		reads:    newQueueReads(opt.Store),
		describe: opt.Describe,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.lease <= 0 {
		s.lease = 10 * time.Minute
	}
	if s.ttl <= 0 {
		s.ttl = 12 * time.Hour
	}
	if s.tokenTTL = opt.TokenTTL; s.tokenTTL <= 0 {
		s.tokenTTL = DefaultTokenTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.proxies, err = ParseTrustedProxies(opt.TrustedProxies); err != nil {
		return nil, err
	}
	if opt.HashConcurrency <= 0 {
		opt.HashConcurrency = max(2, runtime.NumCPU())
	}
	s.hashes = newHashSlots(opt.HashConcurrency)
	s.logins = newLoginAudit(func(ev lokerwatch.AuditEvent) { s.audit(context.Background(), ev) }, s.now)
	s.sessionCookie, s.loginCookie = "lw_session", "lw_login"
	if s.secure {
		s.sessionCookie, s.loginCookie = "__Host-lw_session", "__Host-lw_login"
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.rows = newRowCache(s.pages)
	s.inv = newInvestigation(s.st, opt)
	if s.metrics, err = newMetrics(opt.Registerer); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()

	// Open to everyone.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /metrics", s.serveMetrics)
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", noListing(static, cacheStatic(http.FileServerFS(static)))))
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /lang", s.setLang)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

	analyst, investigator, admin := storage.RoleAnalyst, storage.RoleInvestigator, storage.RoleAdmin

	// Console pages.
	s.page(mux, "GET /{$}", analyst, s.queuePage)
	s.page(mux, "POST /logout", analyst, s.logout)
	s.page(mux, "POST /next", analyst, s.nextForm)
	s.page(mux, "GET /ad/{id}", analyst, s.adPage)
	s.page(mux, "GET /ad/{id}/capture/{n}", analyst, s.capture)
	s.page(mux, "POST /item/{id}/claim", analyst, s.claimForm)
	s.page(mux, "POST /item/{id}/decide", analyst, s.decideForm)
	s.page(mux, "POST /item/{id}/release", analyst, s.releaseForm)
	s.page(mux, "GET /cluster/{key}", analyst, s.clusterPage)
	s.page(mux, "POST /cluster/{key}/decide", analyst, s.clusterDecideForm)
	s.page(mux, "GET /search", investigator, s.searchPage)
	s.page(mux, "GET /export", investigator, s.exportPage)
	s.page(mux, "GET /export/download", investigator, s.exportDownload)
	s.page(mux, "GET /ad/{id}/capture/{n}/warc", investigator, s.captureWARC)
	s.page(mux, "GET /audit", investigator, s.auditPage)
	s.investigationRoutes(mux)
	s.page(mux, "GET /users", admin, s.usersPage)
	s.page(mux, "GET /rules", admin, s.rulesPage)
	s.page(mux, "POST /users", admin, s.usersAddForm)
	s.page(mux, "POST /users/{name}/token", admin, s.userTokenForm)
	s.page(mux, "POST /users/{name}/disable", admin, s.userDisableForm)

	// JSON API.
	s.api(mux, "GET /api/me", analyst, s.apiMe)
	s.api(mux, "GET /api/queue", analyst, s.apiQueue)
	s.api(mux, "POST /api/queue/next", analyst, s.apiNext)
	s.api(mux, "GET /api/items/{id}", analyst, s.apiItem)
	s.api(mux, "POST /api/items/{id}/claim", analyst, s.apiClaim)
	s.api(mux, "POST /api/items/{id}/renew", analyst, s.apiRenew)
	s.api(mux, "POST /api/items/{id}/release", analyst, s.apiRelease)
	s.api(mux, "POST /api/items/{id}/decide", analyst, s.apiDecide)
	s.api(mux, "GET /api/ads/{id}", analyst, s.apiAd)
	s.api(mux, "GET /api/search", investigator, s.apiSearch)
	s.api(mux, "GET /api/export", investigator, s.apiExport)
	s.api(mux, "GET /api/audit", investigator, s.apiAudit)
	s.api(mux, "GET /api/users", admin, s.apiUsers)
	s.api(mux, "POST /api/users", admin, s.apiAddUser)
	s.api(mux, "POST /api/users/{name}/token", admin, s.apiUserToken)
	s.api(mux, "POST /api/users/{name}/disable", admin, s.apiUserDisable)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such API endpoint")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "Page not found.")
	})

	// Cross-site state changes are refused by Sec-Fetch-Site / Origin
	// before anything else looks at the request; CSRF tokens are checked
	// again per session in authed().
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.metrics.refused("cross_origin")
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "remote", remoteAddr(r),
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		s.refuse(w, r, http.StatusForbidden, "Cross-site request refused.")
	}))
	return s.recoverer(s.clientAddress(s.securityHeaders(s.withLang(s.instrument(mux, cop.Handler(mux))))))
}

// instrument records request metrics by route pattern (never by URL).
func (s *Server) instrument(mux *http.ServeMux, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		_, pattern := mux.Handler(r)
		s.metrics.request(pattern, rec.code, time.Since(start))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// contentSecurityPolicy allows only the console's own files: no inline
// script, no plugins, no framing of the console, no foreign form targets.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders sets the headers every response carries. Handlers that
// serve captured pages tighten the CSP further (sandbox).
func (s *Server) securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", contentSecurityPolicy)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.secure {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// recoverer turns a panic into a plain 500: the stack goes to the log,
// never to the client.
func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.refuse(w, r, http.StatusInternalServerError, "Internal error; it has been logged.")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.st.Ping(ctx); err != nil {
		s.log.Warn("readyz: store unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "store unreachable")
		return
	}
	fmt.Fprintln(w, "ok")
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if s.gatherer == nil {
		http.NotFound(w, r)
		return
	}
	promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		EnableOpenMetrics: true}).ServeHTTP(w, r)
}

// remoteAddr is the client address without port. The console does not
// trust X-Forwarded-For: a proxy in front should be the only client.
func remoteAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return a
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isAPI tells API requests (JSON errors, 401) from page requests (HTML,
// login redirect).
func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// refuse answers with a short error in the form the client expects.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if isAPI(r) {
		writeJSONError(w, code, msg)
		return
	}
	s.errorPage(w, r, code, msg)
}

// storeError maps a store error to a status and a message safe to show;
// unexpected errors are logged and shown as a generic failure.
func (s *Server) storeError(w http.ResponseWriter, r *http.Request, what string, err error) {
	code, msg := http.StatusInternalServerError, "Internal error; it has been logged."
	switch {
	case errors.Is(err, lokerwatch.ErrNotFound):
		code, msg = http.StatusNotFound, what+": not found."
	case errors.Is(err, lokerwatch.ErrNotClaimant):
		code, msg = http.StatusConflict, what+": claimed by another reviewer, or your lease expired."
	case errors.Is(err, lokerwatch.ErrAlreadyDecided):
		code, msg = http.StatusConflict, what+": already decided (amend to change the verdict)."
	case errors.Is(err, lokerwatch.ErrEmpty):
		code, msg = http.StatusNotFound, "Nothing to claim: the queue is empty."
	case errors.Is(err, lokerwatch.ErrLeaseLost):
		code, msg = http.StatusConflict, what+": lease lost."
	case errors.Is(err, ErrForbidden):
		code, msg = http.StatusForbidden, "Forbidden: "+err.Error()
	case errors.Is(err, errBadInput):
		code, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, context.Canceled):
		return
	default:
		s.log.Error(what, "err", err, "path", r.URL.Path)
	}
	s.refuse(w, r, code, msg)
}

func atoiDefault(s string, def, lo, hi int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return min(max(n, lo), hi)
}
