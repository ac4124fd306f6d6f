package review

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lokerwatch/lokerwatch"
)

// Audit field bounds. A user name is at most 64 bytes, so a longer name
// in a login attempt is hostile; it is cut and its length kept. Events are
// bounded so that no request can make the log grow by more than a few
// hundred bytes.
const (
	maxAuditName   = 64
	maxAuditField  = 256
	maxAuditDetail = 2048
)

// clampText cuts s to at most n bytes (on a rune boundary) and says how
// long it was, so the audit log never holds a hostile payload in full but
// still tells that there was one.
func clampText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[%d bytes]", strings.ToValidUTF8(s[:cut], "?"), len(s))
}

// clampEvent bounds every field of an event.
func clampEvent(ev lokerwatch.AuditEvent) lokerwatch.AuditEvent {
	ev.Actor = clampText(ev.Actor, maxAuditField)
	ev.Object = clampText(ev.Object, maxAuditField)
	ev.Remote = clampText(ev.Remote, maxAuditField)
	ev.Action = clampText(ev.Action, maxAuditField)
	ev.Detail = clampText(ev.Detail, maxAuditDetail)
	return ev
}

// loginAudit records failed and throttled logins. Each client address gets
// a few events of its own per window; beyond that, its failures are counted
// and written as one summary event ("user.login.failures") when the window
// closes, with the count, the time span and a sample of the names tried.
// So a flood of bad logins costs the log a few events per address and
// minute, and nothing is dropped silently: every attempt is in an event or
// counted in a summary. Successful logins always get their own event.
type loginAudit struct {
	write   func(lokerwatch.AuditEvent) // appends to the store
	now     func() time.Time
	window  time.Duration
	perAddr int // events of their own per address and window
	maxAddr int // addresses tracked; beyond, their failures fold into one bucket

	mu    sync.Mutex
	addrs map[string]*loginWindow
	timer *time.Timer
}

type loginWindow struct {
	start       time.Time
	written     int
	folded      int // attempts counted, not written on their own
	throttled   int // of folded, refused by the throttle
	first, last time.Time
	names       []string // sample of names tried (clamped)
	moreNames   int
}

// otherAddrs is the bucket of addresses beyond maxAddr.
const otherAddrs = "(other addresses)"

func newLoginAudit(write func(lokerwatch.AuditEvent), now func() time.Time) *loginAudit {
	return &loginAudit{write: write, now: now, window: time.Minute, perAddr: 5, maxAddr: 10_000,
		addrs: map[string]*loginWindow{}}
}

// failed records one failed or throttled attempt of name from addr;
// detail says why ("failed: bad password", "throttled").
func (a *loginAudit) failed(name, addr, detail string, throttled bool) {
	now := a.now()
	name = clampText(name, maxAuditName)
	a.mu.Lock()
	due := a.takeDue(now)
	w := a.addrs[addr]
	if w == nil {
		if len(a.addrs) >= a.maxAddr {
			addr = otherAddrs
			w = a.addrs[addr]
		}
		if w == nil {
			w = &loginWindow{start: now}
			a.addrs[addr] = w
			a.schedule()
		}
	}
	own := w.written < a.perAddr && addr != otherAddrs
	if own {
		w.written++
	} else {
		w.folded++
		if throttled {
			w.throttled++
		}
		if w.first.IsZero() {
			w.first = now
		}
		w.last = now
		if !slices.Contains(w.names, name) {
			if len(w.names) < 5 {
				w.names = append(w.names, name)
			} else {
				w.moreNames++
			}
		}
	}
	a.mu.Unlock()
	for _, ev := range due {
		a.write(ev)
	}
	if own {
		a.write(lokerwatch.AuditEvent{Time: now.UTC(), Actor: name, Action: "user.login", Object: name, Remote: addr, Detail: detail})
	}
}

// takeDue removes the windows that have closed and returns their summary
// events. Called with a.mu held.
func (a *loginAudit) takeDue(now time.Time) []lokerwatch.AuditEvent {
	var out []lokerwatch.AuditEvent
	for addr, w := range a.addrs {
		if now.Sub(w.start) < a.window {
			continue
		}
		delete(a.addrs, addr)
		if ev, ok := summary(addr, w); ok {
			out = append(out, ev)
		}
	}
	return out
}

func summary(addr string, w *loginWindow) (lokerwatch.AuditEvent, bool) {
	if w.folded == 0 {
		return lokerwatch.AuditEvent{}, false
	}
	names := strings.Join(w.names, ", ")
	if w.moreNames > 0 {
		names += fmt.Sprintf(" and %d more", w.moreNames)
	}
	return lokerwatch.AuditEvent{Time: w.last.UTC(), Actor: "system", Action: "user.login.failures", Object: "", Remote: addr,
		Detail: fmt.Sprintf("%d more failed logins (%d throttled) from %s between %s and %s, not logged one by one; names tried: %s",
			w.folded, w.throttled, addr, w.first.UTC().Format(time.RFC3339), w.last.UTC().Format(time.RFC3339), names)}, true
}

// schedule arms the timer that writes summaries when windows close, so a
// flood that stops is still summed up. Called with a.mu held.
func (a *loginAudit) schedule() {
	if a.timer != nil {
		return
	}
	a.timer = time.AfterFunc(a.window+time.Second, func() {
		a.mu.Lock()
		a.timer = nil
		due := a.takeDue(a.now())
		if len(a.addrs) > 0 {
			a.schedule()
		}
		a.mu.Unlock()
		for _, ev := range due {
			a.write(ev)
		}
	})
}

// flush writes the summaries of all open windows (at shutdown).
func (a *loginAudit) flush() {
	a.mu.Lock()
	var due []lokerwatch.AuditEvent
	for addr, w := range a.addrs {
		if ev, ok := summary(addr, w); ok {
			due = append(due, ev)
		}
	}
	clear(a.addrs)
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	a.mu.Unlock()
	for _, ev := range due {
		a.write(ev)
	}
}

// Close writes what the server still holds in memory (the summaries of
// failed logins not yet written) to the audit log. Call it when the server
// stops.
func (s *Server) Close(ctx context.Context) error {
	s.logins.flush()
	return ctx.Err()
}
