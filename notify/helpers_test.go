package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/notify"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

const (
	testSecret = "s3cret-for-the-on-call-hook"
	testToken  = "123456:AAH-secret-bot-token_xyz"
	testChat   = "-1001234567890"
)

// backend opens a real store; reopen opens the same data again, as a
// restarted process would.
type backend struct {
	name string
	open func(t testing.TB) (st storage.Store, reopen func() storage.Store)
}

var prefixes atomic.Int64

func backends() []backend {
	return []backend{
		{"sqlite", func(t testing.TB) (storage.Store, func() storage.Store) {
			path := filepath.Join(t.TempDir(), "lw.db")
			open := func() storage.Store {
				st, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			return open(), open
		}},
		{"redis", func(t testing.TB) (storage.Store, func() storage.Store) {
			srv := redistest.Start(t, redistest.Config{})
			prefix := fmt.Sprintf("n%d:", prefixes.Add(1))
			open := func() storage.Store {
				st, err := redis.OpenURL(context.Background(), srv.URL(), redis.Options{Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			return open(), open
		}},
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// notifyConfig sends every item scoring 60 or more to both channels, with
// quick retries.
func notifyConfig(hookURL, tgAPI string) config.Notify {
	cfg := config.Default().Notify
	cfg.Rules = []config.NotifyRule{{Name: "high-risk", MinScore: 60, To: []string{"webhook", "telegram"}}}
	cfg.Webhook = config.Webhook{URL: hookURL, Secret: testSecret}
	cfg.Telegram = config.TelegramBot{API: tgAPI, Token: testToken, ChatID: testChat}
	cfg.DeskURL = "https://desk.example.org/"
	cfg.Backoff = config.Duration(20 * time.Millisecond)
	cfg.MaxBackoff = config.Duration(200 * time.Millisecond)
	cfg.MaxAttempts = 50
	cfg.Timeout = config.Duration(10 * time.Second)
	return cfg
}

// logBuffer collects a notifier's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	n   *notify.Notifier
	reg *prometheus.Registry
	log *logBuffer
}

func newNotifier(t testing.TB, st storage.Outbox, cfg config.Notify) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry(), log: &logBuffer{}}
	n, err := notify.New(notify.Options{Config: cfg, Store: st, Registerer: h.reg, Poll: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	h.n = n
	return h
}

// run runs the notifier until the returned stop is called (or the test ends).
func (h *harness) run(t *testing.T) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); h.n.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// metric is the value of a counter or gauge series with the one label given.
func (h *harness) metric(t *testing.T, name, label, value string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetName() != label || m.GetLabel()[0].GetValue() != value) {
				continue
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, label, value)
	return 0
}

// flagged stores a flagged ad and queues it for review, as the crawler
// does, and returns the ad and its item.
func flagged(t testing.TB, st storage.Store, id string, score int, cat lokerwatch.Category, source string) (*lokerwatch.Ad, *lokerwatch.ReviewItem) {
	t.Helper()
	ad := &lokerwatch.Ad{
		ID: id, Source: source, URL: "https://jobs.example/" + id, Title: "Admin Kamboja gaji 20 juta " + id,
		Text: "tanpa pengalaman, tiket ditanggung", FetchedAt: time.Now(),
		Assessment: &lokerwatch.Assessment{Score: score, Flagged: true, Category: cat,
			Categories: map[lokerwatch.Category]int{cat: score},
			Signals: []lokerwatch.Signal{
				{Rule: "scam.visa_turis", Category: cat, Weight: 30, Description: "travels on a tourist visa", Evidence: "visa turis"},
				{Rule: "scam.no_experience", Category: cat, Weight: 20, Evidence: "tanpa pengalaman"},
				{Rule: "post.live_contact", Category: cat, Weight: -30, Evidence: "hubungi"},
			}},
	}
	if _, err := st.PutAd(ctxT(t), ad); err != nil {
		t.Fatal(err)
	}
	it, _, err := st.Enqueue(ctxT(t), ad)
	if err != nil {
		t.Fatal(err)
	}
	return ad, it
}

// hookDelivery is one request the webhook receiver took.
type hookDelivery struct {
	ID    string
	Event notify.Event
}

// hookReceiver is an on-call endpoint: it verifies each request's
// signature with its own HMAC code (not the package's) and answers with
// what status() says.
type hookReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	got    []hookDelivery
	bad    []string
	tries  atomic.Int64
	status func() int
}

func (r *hookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.tries.Add(1)
	code := http.StatusOK
	if r.status != nil {
		code = r.status()
	}
	if code != http.StatusOK {
		http.Error(w, "down", code)
		return
	}
	body, _ := io.ReadAll(req.Body)
	if why := checkSignature(req.Header.Get("X-Lokerwatch-Signature"), body, time.Now()); why != "" {
		r.mu.Lock()
		r.bad = append(r.bad, why)
		r.mu.Unlock()
		http.Error(w, why, http.StatusUnauthorized)
		return
	}
	var ev notify.Event
	if err := json.Unmarshal(body, &ev); err != nil || req.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, hookDelivery{ID: req.Header.Get("X-Lokerwatch-Delivery"), Event: ev})
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// checkSignature is a receiver's check, written from docs/operator-alerts.md.
func checkSignature(header string, body []byte, now time.Time) string {
	var ts, sig string
	for _, p := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(p, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "no timestamp in " + header
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "stale timestamp"
	}
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "bad signature"
	}
	return ""
}

func (r *hookReceiver) refused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.bad...)
}

func (r *hookReceiver) deliveries() []hookDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookDelivery(nil), r.got...)
}

func (r *hookReceiver) count(item string) int {
	n := 0
	for _, d := range r.deliveries() {
		if d.Event.Item.ID == item {
			n++
		}
	}
	return n
}

// tgMessage is one sendMessage the Telegram receiver took.
type tgMessage struct {
	ChatID string `json:"chat_id"`
	Text   string `json:"text"`
}

// tgReceiver is a local Bot API: POST /bot<token>/sendMessage.
type tgReceiver struct {
	mu     sync.Mutex
	got    []tgMessage
	tries  atomic.Int64
	status func() int
}

func (r *tgReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.tries.Add(1)
	w.Header().Set("Content-Type", "application/json")
	if req.Method != http.MethodPost || req.URL.Path != "/bot"+testToken+"/sendMessage" {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
		return
	}
	if r.status != nil {
		if code := r.status(); code != http.StatusOK {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"ok":false,"error_code":%d,"description":"Internal Server Error"}`, code)
			return
		}
	}
	var m tgMessage
	if err := json.NewDecoder(req.Body).Decode(&m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: can't parse JSON"}`)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	fmt.Fprint(w, `{"ok":true,"result":{"message_id":1}}`)
}

func (r *tgReceiver) messages() []tgMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tgMessage(nil), r.got...)
}

func (r *tgReceiver) count(title string) int {
	n := 0
	for _, m := range r.messages() {
		if strings.Contains(m.Text, title) {
			n++
		}
	}
	return n
}

// eventually waits for cond, polling; the deadline is generous for a
// loaded machine.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
