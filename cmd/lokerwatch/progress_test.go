package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// counts is a crawl's progress as the test sets it.
type counts struct {
	mu sync.Mutex
	s  crawler.Summary
}

func (c *counts) Progress() crawler.Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s
}

func (c *counts) set(s crawler.Summary) {
	c.mu.Lock()
	c.s = s
	c.mu.Unlock()
}

// sequence returns its snapshots one per call, then the last again.
type sequence struct {
	mu sync.Mutex
	s  []crawler.Summary
}

func (q *sequence) Progress() crawler.Summary {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.s[0]
	if len(q.s) > 1 {
		q.s = q.s[1:]
	}
	return s
}

// frontierWith opens a real store with n URLs queued.
func frontierWith(t *testing.T, n int) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var reqs []storage.Request
	for i := range n {
		reqs = append(reqs, storage.Request{URL: "https://example.org/job/" + string(rune('a'+i)), Source: "board"})
	}
	if _, err := st.Add(context.Background(), reqs...); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestTermWriterKeepsProgressLineBelowLogs(t *testing.T) {
	var buf bytes.Buffer
	tw := &termWriter{w: &buf, width: func() int { return 20 }}
	tw.Write([]byte("before\n"))
	tw.show("pages 1")
	tw.Write([]byte("level=WARN msg=x\n"))
	tw.show("pages 2  and a line far wider than the terminal")
	tw.done()
	tw.Write([]byte("after\n"))
	want := "before\n" +
		"\r\x1b[Kpages 1" +
		"\r\x1b[Klevel=WARN msg=x\npages 1" +
		"\r\x1b[Kpages 2  and a line" + // cut at width-1 = 19 columns
		"\n" +
		"after\n"
	if got := buf.String(); got != want {
		t.Errorf("terminal got\n%q\nwant\n%q", got, want)
	}
}

func TestProgressTerminalLine(t *testing.T) {
	var buf bytes.Buffer
	c := &counts{}
	p := &progress{counts: c, frontier: frontierWith(t, 3), tw: &termWriter{w: &buf}}
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		at   time.Time
		s    crawler.Summary
		want string
	}{
		// The first rate is the average since the crawl started (2 s ago).
		{t0, crawler.Summary{Pages: 10, Ads: 4, Flagged: 1, Errors: 2, Duration: 2 * time.Second},
			"pages 10  5.0/s  queued 3  ads 4  flagged 1  errors 2  2s"},
		{t0.Add(time.Second), crawler.Summary{Pages: 20, Ads: 8, Flagged: 1, Errors: 2, Duration: 3 * time.Second},
			"pages 20  6.7/s  queued 3  ads 8  flagged 1  errors 2  3s"},
		// Later the rate covers the last 5 s only: 30 pages in 5 s.
		{t0.Add(6 * time.Second), crawler.Summary{Pages: 50, Ads: 9, Flagged: 2, Errors: 3, Duration: 8*time.Second + 400*time.Millisecond},
			"pages 50  6.0/s  queued 3  ads 9  flagged 2  errors 3  8s"},
	}
	for _, s := range steps {
		c.set(s.s)
		buf.Reset()
		p.step(context.Background(), s.at)
		if got := buf.String(); got != "\r\x1b[K"+s.want {
			t.Errorf("at +%s: got %q, want %q", s.at.Sub(t0), got, s.want)
		}
	}
}

func TestProgressLogLines(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	c := &sequence{s: []crawler.Summary{
		{Pages: 40, Ads: 12, Flagged: 3, Errors: 1, Duration: 10 * time.Second},
		{Pages: 90, Ads: 20, Flagged: 4, Errors: 1, Duration: 20 * time.Second},
	}}
	st := frontierWith(t, 2)
	p := &progress{counts: c, frontier: st, log: log}
	tick := make(chan time.Time)
	done := make(chan struct{})
	go func() { p.run(context.Background(), tick); close(done) }()
	t0 := time.Now()
	tick <- t0
	tick <- t0.Add(10 * time.Second)
	close(tick)
	<-done

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d:\n%s", len(lines), buf.String())
	}
	want := []map[string]any{
		{"msg": "crawl progress", "pages": 40.0, "pages_per_second": 4.0, "queued": 2.0, "ads": 12.0, "flagged": 3.0, "errors": 1.0, "seconds": 10.0},
		{"msg": "crawl progress", "pages": 90.0, "pages_per_second": 5.0, "queued": 2.0, "ads": 20.0, "flagged": 4.0, "errors": 1.0, "seconds": 20.0},
	}
	for i, l := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
		for k, v := range want[i] {
			if got[k] != v {
				t.Errorf("line %d: %s = %v, want %v (%s)", i, k, got[k], v, l)
			}
		}
	}

	// A store that cannot be read leaves queued out rather than lying.
	st.Close()
	buf.Reset()
	p.step(context.Background(), t0.Add(20*time.Second))
	if strings.Contains(buf.String(), "queued") || !strings.Contains(buf.String(), `"pages":90`) {
		t.Errorf("with the store closed: %s", buf.String())
	}
}

func TestProgressEnvOnlyOnATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, e := range []*env{{stderr: &bytes.Buffer{}}, {stderr: w}} {
		if got, tw := progressEnv(e); got != e || tw != nil {
			t.Errorf("stderr %T: progress line on a non-terminal", e.stderr)
		}
	}
}

// Stopping the display draws the final counts and ends the line, so the
// summary printed next starts on a line of its own.
func TestProgressStopShowsFinalCounts(t *testing.T) {
	var buf bytes.Buffer
	c := &counts{}
	c.set(crawler.Summary{Pages: 7, Ads: 2, Flagged: 1, Duration: time.Second})
	tw := &termWriter{w: &buf}
	stop := startProgress(context.Background(), tw, nil, c, frontierWith(t, 0))
	stop()
	if got, want := buf.String(), "\r\x1b[Kpages 7  7.0/s  queued 0  ads 2  flagged 1  errors 0  1s\n"; !strings.HasSuffix(got, want) {
		t.Errorf("terminal got %q, want it to end with %q", got, want)
	}
	tw.Write([]byte("next\n"))
	if !strings.HasSuffix(buf.String(), "s\nnext\n") {
		t.Errorf("a write after stop was not plain: %q", buf.String())
	}
}
