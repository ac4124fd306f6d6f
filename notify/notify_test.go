package notify_test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/notify"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Both channels get one signed, well-formed alert for an item over the
// rule's score; an item under it gets none.
func TestAlertsReachWebhookAndTelegram(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			hook := &hookReceiver{t: t}
			hs := httptest.NewServer(hook)
			defer hs.Close()
			tg := &tgReceiver{}
			ts := httptest.NewServer(tg)
			defer ts.Close()
			h := newNotifier(t, st, notifyConfig(hs.URL+"/hooks/lokerwatch?k=v", ts.URL))
			h.run(t)

			ad, it := flagged(t, st, "hi1", 91, lokerwatch.CategoryScam, "board")
			lowAd, low := flagged(t, st, "lo1", 59, lokerwatch.CategoryScam, "board")
			if err := h.n.Flagged(ctxT(t), lowAd, low); err != nil {
				t.Fatal(err)
			}
			if err := h.n.Flagged(ctxT(t), ad, it); err != nil {
				t.Fatal(err)
			}
			eventually(t, "both alerts", func() bool { return len(hook.deliveries()) == 1 && len(tg.messages()) == 1 })
			if len(hook.refused()) > 0 {
				t.Fatalf("receiver refused signatures: %v", hook.refused())
			}

			d := hook.deliveries()[0]
			ev := d.Event
			if d.ID != it.ID+"/webhook" || ev.ID != d.ID || ev.Type != "review.flagged" {
				t.Errorf("delivery %q, event id %q type %q", d.ID, ev.ID, ev.Type)
			}
			if ev.Item.ID != it.ID || ev.Item.AdID != ad.ID || ev.Item.Score != 91 || ev.Item.Category != lokerwatch.CategoryScam ||
				ev.Item.Source != "board" || ev.Item.URL != ad.URL || ev.Item.Title != ad.Title {
				t.Errorf("event item %+v", ev.Item)
			}
			if len(ev.Rules) != 1 || ev.Rules[0] != "high-risk" || ev.DeskURL != "https://desk.example.org/ad/"+ad.ID {
				t.Errorf("rules %v, desk %q", ev.Rules, ev.DeskURL)
			}
			// The reasons are the positive signals, heaviest first.
			if len(ev.Item.Reasons) != 2 || ev.Item.Reasons[0].Rule != "scam.visa_turis" || ev.Item.Reasons[1].Rule != "scam.no_experience" {
				t.Errorf("reasons %+v", ev.Item.Reasons)
			}

			m := tg.messages()[0]
			if m.ChatID != testChat {
				t.Errorf("chat_id %q, want %q", m.ChatID, testChat)
			}
			for _, want := range []string{"score 91 (scam)", ad.Title, "source: board", "rules: high-risk",
				`+30 travels on a tourist visa: "visa turis"`, "ad: " + ad.URL, "review: https://desk.example.org/ad/" + ad.ID} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("telegram text lacks %q:\n%s", want, m.Text)
				}
			}
			if strings.Contains(m.Text, "lo1") {
				t.Errorf("the item under min_score was announced:\n%s", m.Text)
			}
			eventually(t, "sent counters", func() bool {
				return h.metric(t, "lokerwatch_notify_sent_total", "channel", "webhook") == 1 &&
					h.metric(t, "lokerwatch_notify_sent_total", "channel", "telegram") == 1
			})
			if got := h.metric(t, "lokerwatch_notify_outbox_alerts", "state", "sent"); got != 2 {
				t.Errorf("outbox sent = %v, want 2", got)
			}
			if strings.Contains(h.log.String(), testToken) || strings.Contains(h.log.String(), testSecret) {
				t.Errorf("a secret reached the log:\n%s", h.log.String())
			}
		})
	}
}

// Rules select by score, category and source, and name their channels.
func TestRulesSelect(t *testing.T) {
	st, _ := backends()[0].open(t)
	hook := &hookReceiver{t: t}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	tg := &tgReceiver{}
	ts := httptest.NewServer(tg)
	defer ts.Close()
	cfg := notifyConfig(hs.URL, ts.URL)
	cfg.Rules = []config.NotifyRule{
		{Name: "trafficking-anywhere", MinScore: 40, Categories: []lokerwatch.Category{lokerwatch.CategoryTrafficking}, To: []string{"telegram"}},
		{Name: "board-very-high", MinScore: 90, Sources: []string{"board"}, To: []string{"webhook", "telegram"}},
	}
	h := newNotifier(t, st, cfg)
	h.run(t)
	cases := []struct {
		id        string
		score     int
		cat       lokerwatch.Category
		source    string
		hook, tgm int
	}{
		{"t-traf", 45, lokerwatch.CategoryTrafficking, "forum", 0, 1},
		{"t-scamlow", 80, lokerwatch.CategoryScam, "board", 0, 0},
		{"t-board", 95, lokerwatch.CategoryScam, "board", 1, 1},
		{"t-forum", 95, lokerwatch.CategoryScam, "forum", 0, 0},
		{"t-both", 92, lokerwatch.CategoryTrafficking, "board", 1, 1}, // two rules, one alert per channel
	}
	for _, c := range cases {
		ad, it := flagged(t, st, c.id, c.score, c.cat, c.source)
		if err := h.n.Flagged(ctxT(t), ad, it); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the selected alerts", func() bool { return len(hook.deliveries()) == 2 && len(tg.messages()) == 3 })
	for _, c := range cases {
		if got := hook.count(c.id); got != c.hook {
			t.Errorf("%s: %d webhook deliveries, want %d", c.id, got, c.hook)
		}
		if got := tg.count(c.id + "\n"); got != c.tgm {
			t.Errorf("%s: %d telegram messages, want %d", c.id, got, c.tgm)
		}
	}
	for _, d := range hook.deliveries() {
		if d.Event.Item.ID == "t-both" && strings.Join(d.Event.Rules, ",") != "trafficking-anywhere,board-very-high" {
			t.Errorf("t-both rules %v", d.Event.Rules)
		}
	}
}

// One alert per item and channel, whether the item is queued again or
// the process restarts, with the alert sent or still waiting.
func TestOncePerItemAcrossRequeueAndRestart(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, reopen := b.open(t)
			hook := &hookReceiver{t: t}
			hs := httptest.NewServer(hook)
			defer hs.Close()
			tg := &tgReceiver{}
			ts := httptest.NewServer(tg)
			defer ts.Close()
			cfg := notifyConfig(hs.URL, ts.URL)
			cfg.Workers = 1

			// Process 1 queues A three times (a page crawled again, a
			// worker that died and a retry), delivers it, and stops.
			h1 := newNotifier(t, st, cfg)
			stop1 := h1.run(t)
			adA, itA := flagged(t, st, "onceA", 88, lokerwatch.CategoryScam, "board")
			for range 3 {
				_, again, err := st.Enqueue(ctxT(t), adA)
				if err != nil {
					t.Fatal(err)
				}
				_ = again
				if err := h1.n.Flagged(ctxT(t), adA, itA); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "A delivered", func() bool { return hook.count("onceA") == 1 && tg.count("onceA\n") == 1 })
			// B is raised while its process is not sending, and left in the outbox.
			adB, itB := flagged(t, st, "onceB", 88, lokerwatch.CategoryScam, "board")
			stop1()
			if err := h1.n.Flagged(ctxT(t), adB, itB); err != nil {
				t.Fatal(err)
			}
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}

			// Process 2, on the same data: A queued once more, B picked up
			// from the outbox, C new.
			st2 := reopen()
			h2 := newNotifier(t, st2, cfg)
			h2.run(t)
			if err := h2.n.Flagged(ctxT(t), adA, itA); err != nil {
				t.Fatal(err)
			}
			eventually(t, "B delivered after the restart", func() bool { return hook.count("onceB") == 1 && tg.count("onceB\n") == 1 })
			adC, itC := flagged(t, st2, "onceC", 88, lokerwatch.CategoryScam, "board")
			if err := h2.n.Flagged(ctxT(t), adC, itC); err != nil {
				t.Fatal(err)
			}
			// One sender: by the time C is through, a second A or B would be too.
			eventually(t, "C delivered", func() bool { return hook.count("onceC") == 1 && tg.count("onceC\n") == 1 })
			if err := h2.n.Drain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"onceA", "onceB", "onceC"} {
				if n, m := hook.count(id), tg.count(id+"\n"); n != 1 || m != 1 {
					t.Errorf("%s: %d webhook deliveries and %d telegram messages, want 1 each", id, n, m)
				}
			}
			stats, err := st2.AlertStats(ctxT(t))
			if err != nil {
				t.Fatal(err)
			}
			if stats != (storage.AlertStats{Sent: 6}) {
				t.Errorf("outbox %+v, want 6 sent", stats)
			}
		})
	}
}

// A webhook that refuses connections and a Bot API answering 500 come
// back: every alert is delivered once, after retries.
func TestReceiverDownThenBack(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t)
			// The webhook's address, with nothing listening yet.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			var tgDown atomic.Bool
			tgDown.Store(true)
			tg := &tgReceiver{status: func() int {
				if tgDown.Load() {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}}
			ts := httptest.NewServer(tg)
			defer ts.Close()
			h := newNotifier(t, st, notifyConfig("http://"+addr+"/hook", ts.URL))
			h.run(t)
			var ids []string
			for _, id := range []string{"downA", "downB", "downC"} {
				ad, it := flagged(t, st, id, 90, lokerwatch.CategoryTrafficking, "board")
				if err := h.n.Flagged(ctxT(t), ad, it); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			eventually(t, "retries on both channels", func() bool {
				return h.metric(t, "lokerwatch_notify_retried_total", "channel", "webhook") >= 3 &&
					tg.tries.Load() >= 6
			})
			a, err := st.GetAlert(ctxT(t), "downA/webhook")
			if err != nil {
				t.Fatal(err)
			}
			if a.State != storage.AlertPending || a.Attempts < 1 || !strings.Contains(a.LastError, "connection refused") {
				t.Errorf("while down: %+v", a)
			}
			if got := h.metric(t, "lokerwatch_notify_outbox_alerts", "state", "pending"); got != 6 {
				t.Errorf("outbox pending = %v, want 6", got)
			}

			// Both come back.
			hook := &hookReceiver{t: t}
			ln, err = net.Listen("tcp", addr)
			if err != nil {
				t.Skipf("the webhook's port was taken meanwhile: %v", err)
			}
			hs := httptest.NewUnstartedServer(hook)
			hs.Listener.Close()
			hs.Listener = ln
			hs.Start()
			defer hs.Close()
			tgDown.Store(false)
			eventually(t, "every alert delivered", func() bool {
				return len(hook.deliveries()) == 3 && len(tg.messages()) == 3
			})
			if err := h.n.Drain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if n, m := hook.count(id), tg.count(id+"\n"); n != 1 || m != 1 {
					t.Errorf("%s: %d webhook deliveries, %d telegram messages; want 1 each", id, n, m)
				}
			}
			if h.metric(t, "lokerwatch_notify_sent_total", "channel", "webhook") != 3 ||
				h.metric(t, "lokerwatch_notify_sent_total", "channel", "telegram") != 3 ||
				h.metric(t, "lokerwatch_notify_failed_total", "channel", "telegram") != 0 {
				t.Error("counters do not add up")
			}
			if log := h.log.String(); strings.Contains(log, testToken) || !strings.Contains(log, "will retry") {
				t.Errorf("log: token shown or no retry logged:\n%s", log)
			}
		})
	}
}

// A full queue loses nothing: the alerts wait in the outbox and the
// sweeper brings them out.
func TestFullQueueWaitsInOutbox(t *testing.T) {
	st, _ := backends()[0].open(t)
	hook := &hookReceiver{t: t}
	hs := httptest.NewServer(hook)
	defer hs.Close()
	cfg := notifyConfig(hs.URL, "")
	cfg.Rules[0].To = []string{"webhook"}
	cfg.Telegram = config.TelegramBot{}
	cfg.Queue = 2
	h := newNotifier(t, st, cfg)
	for i := range 10 {
		ad, it := flagged(t, st, "full"+string(rune('a'+i)), 70, lokerwatch.CategoryScam, "board")
		if err := h.n.Flagged(ctxT(t), ad, it); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.metric(t, "lokerwatch_notify_queue_depth", "", ""); got != 2 {
		t.Fatalf("queue depth %v, want 2 (its bound)", got)
	}
	if got := h.metric(t, "lokerwatch_notify_outbox_alerts", "state", "pending"); got != 10 {
		t.Fatalf("outbox pending %v, want 10", got)
	}
	h.run(t)
	eventually(t, "all ten delivered", func() bool { return len(hook.deliveries()) == 10 })
	if err := h.n.Drain(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := len(hook.deliveries()); got != 10 {
		t.Errorf("%d deliveries, want 10", got)
	}
}

// A receiver that refuses the request itself (400: chat not found) is not
// retried; one that keeps failing is given up after max_attempts.
func TestGivingUp(t *testing.T) {
	st, _ := backends()[0].open(t)
	tgs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`))
	}))
	defer tgs.Close()
	var hookTries atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookTries.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer hs.Close()
	cfg := notifyConfig(hs.URL, tgs.URL)
	cfg.MaxAttempts = 3
	h := newNotifier(t, st, cfg)
	h.run(t)
	ad, it := flagged(t, st, "giveup", 99, lokerwatch.CategoryScam, "board")
	if err := h.n.Flagged(ctxT(t), ad, it); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both given up", func() bool {
		s, err := st.AlertStats(ctxT(t))
		return err == nil && s.Dead == 2
	})
	tga, _ := st.GetAlert(ctxT(t), it.ID+"/telegram")
	if tga.Attempts != 1 || !strings.Contains(tga.LastError, "chat not found") || strings.Contains(tga.LastError, testToken) {
		t.Errorf("telegram alert %+v: want one attempt, the reason, no token", tga)
	}
	wa, _ := st.GetAlert(ctxT(t), it.ID+"/webhook")
	if wa.Attempts != 3 || hookTries.Load() != 3 || !strings.Contains(wa.LastError, "HTTP 503") {
		t.Errorf("webhook alert %+v after %d tries: want 3", wa, hookTries.Load())
	}
	if h.metric(t, "lokerwatch_notify_failed_total", "channel", "telegram") != 1 ||
		h.metric(t, "lokerwatch_notify_failed_total", "channel", "webhook") != 1 ||
		h.metric(t, "lokerwatch_notify_retried_total", "channel", "webhook") != 2 {
		t.Error("failed/retried counters do not add up")
	}
}

func TestVerify(t *testing.T) {
	secret := []byte(testSecret)
	body := []byte(`{"id":"x/webhook"}`)
	now := time.Unix(1_800_000_000, 0)
	sig := notify.Sign(secret, now, body)
	if why := checkSignature(sig, body, now); why != "" {
		t.Fatalf("the documented check refuses Sign's header %q: %s", sig, why)
	}
	cases := []struct {
		name   string
		header string
		body   string
		at     time.Time
		want   error
	}{
		{"valid", sig, string(body), now.Add(time.Minute), nil},
		{"body changed", sig, `{"id":"y/webhook"}`, now, notify.ErrBadSignature},
		{"other secret", notify.Sign([]byte("another secret, long enough"), now, body), string(body), now, notify.ErrBadSignature},
		{"replayed an hour later", sig, string(body), now.Add(time.Hour), notify.ErrStale},
		{"timestamp moved", strings.Replace(sig, "t=1800000000", "t=1800003600", 1), string(body), now.Add(time.Hour), notify.ErrBadSignature},
		{"garbage", "v1=zz", string(body), now, notify.ErrBadSignature},
		{"empty", "", string(body), now, notify.ErrBadSignature},
	}
	for _, c := range cases {
		err := notify.Verify(secret, c.header, []byte(c.body), c.at, 5*time.Minute)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestMessageIsPlainAndBounded(t *testing.T) {
	ev := notify.Event{Rules: []string{"r"}, Item: notify.EventItem{Score: 80, Category: lokerwatch.CategoryScam, Source: "s",
		Title: "<b>Gaji</b>\n\n  besar " + strings.Repeat("x", 5000), URL: "https://a.example/1"}}
	m := notify.Message(ev)
	if len([]rune(m)) > 4096 {
		t.Errorf("message of %d characters, Telegram takes 4096", len([]rune(m)))
	}
	if !strings.Contains(m, "<b>Gaji</b> besar") {
		t.Errorf("title not on one line as written:\n%.200s", m)
	}
}

// Two processes on one store (two workers that both saw the same ads)
// share the outbox: each item is announced once per channel.
func TestTwoProcessesShareTheOutbox(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			st, reopen := b.open(t)
			st2 := reopen()
			hook := &hookReceiver{t: t}
			hs := httptest.NewServer(hook)
			defer hs.Close()
			tg := &tgReceiver{}
			ts := httptest.NewServer(tg)
			defer ts.Close()
			cfg := notifyConfig(hs.URL, ts.URL)
			cfg.Workers = 4
			h1, h2 := newNotifier(t, st, cfg), newNotifier(t, st2, cfg)
			h1.run(t)
			h2.run(t)
			const items = 20
			for i := range items {
				ad, it := flagged(t, st, fmt.Sprintf("shared%02d", i), 75, lokerwatch.CategoryNonprocedural, "board")
				errs := make(chan error, 2)
				go func() { errs <- h1.n.Flagged(ctxT(t), ad, it) }()
				go func() { errs <- h2.n.Flagged(ctxT(t), ad, it) }()
				for range 2 {
					if err := <-errs; err != nil {
						t.Fatal(err)
					}
				}
			}
			eventually(t, "every item announced", func() bool {
				return len(hook.deliveries()) >= items && len(tg.messages()) >= items
			})
			if err := h1.n.Drain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if err := h2.n.Drain(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			if n, m := len(hook.deliveries()), len(tg.messages()); n != items || m != items {
				t.Errorf("%d webhook deliveries and %d telegram messages for %d items", n, m, items)
			}
		})
	}
}
