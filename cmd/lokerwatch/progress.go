package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage"
)

// How often progress is shown: redrawn in place on a terminal, a log line
// otherwise (a log every half second would bury everything else).
const (
	progressRedraw   = 500 * time.Millisecond
	progressLogEvery = 10 * time.Second
	rateWindow       = 5 * time.Second
)

// progressEnv returns e with stderr wrapped for a live progress line when
// stderr is a terminal (and TERM is not "dumb"), and that wrapper; e itself
// and nil otherwise. Everything written to the wrapper (log lines, errors)
// appears above the progress line.
func progressEnv(e *env) (*env, *termWriter) {
	f, ok := e.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) || envValue(e.environ, "TERM") == "dumb" {
		return e, nil
	}
	fd := int(f.Fd())
	tw := &termWriter{w: f, width: func() int {
		w, _, err := term.GetSize(fd)
		if err != nil {
			return 0
		}
		return w
	}}
	out := *e
	out.stderr = tw
	return &out, tw
}

func envValue(environ []string, key string) string {
	for _, kv := range slices.Backward(environ) {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// termWriter is stderr on a terminal with a progress line at the bottom.
type termWriter struct {
	mu    sync.Mutex
	w     io.Writer
	width func() int // columns; 0 when unknown
	line  string     // the progress line on screen, "" when none
}

// Write writes p (a log line) where the progress line is, and draws the
// progress line again below it.
func (t *termWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line == "" {
		return t.w.Write(p)
	}
	var b bytes.Buffer
	b.WriteString("\r\x1b[K")
	b.Write(p)
	if !bytes.HasSuffix(p, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(t.line)
	if _, err := t.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// show replaces the progress line.
func (t *termWriter) show(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.width != nil {
		// A line as wide as the terminal wraps, and \r would then redraw
		// only its last part.
		if w := t.width(); w > 1 && len([]rune(line)) > w-1 {
			line = string([]rune(line)[:w-1])
		}
	}
	io.WriteString(t.w, "\r\x1b[K"+line)
	t.line = line
}

// done leaves the last progress line on screen and ends it.
func (t *termWriter) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line != "" {
		io.WriteString(t.w, "\n")
	}
	t.line = ""
}

// progressReader is what the display reads: the crawler's counts
// (crawler.Crawler) and the frontier's (the store).
type (
	progressCounts interface{ Progress() crawler.Summary }
	frontierCounts interface {
		FrontierStats(ctx context.Context) (storage.FrontierStats, error)
	}
)

// progress turns snapshots of a running crawl into a terminal line or a
// log line.
type progress struct {
	counts   progressCounts
	frontier frontierCounts
	tw       *termWriter  // nil: log lines
	log      *slog.Logger // used when tw is nil
	samples  []progressSample
}

type progressSample struct {
	at    time.Time
	pages int
}

// progressLine is one snapshot, as shown.
type progressLine struct {
	crawler.Summary
	Rate   float64 // pages per second over the last rateWindow
	Queued int64   // URLs queued in the frontier; -1 when it could not be read
}

// startProgress shows the crawl's progress until the returned stop is
// called; stop shows the final counts once more.
func startProgress(ctx context.Context, tw *termWriter, log *slog.Logger, counts progressCounts, frontier frontierCounts) (stop func()) {
	p := &progress{counts: counts, frontier: frontier, tw: tw, log: log}
	every := progressLogEvery
	if tw != nil {
		every = progressRedraw
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		p.run(ctx, t.C)
	}()
	return func() {
		cancel()
		<-done
		if tw != nil {
			// The final counts; the log has its own "crawl stopped" line.
			p.step(context.WithoutCancel(ctx), time.Now())
			tw.done()
		}
	}
}

func (p *progress) run(ctx context.Context, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case now, ok := <-tick:
			if !ok {
				return
			}
			p.step(ctx, now)
		}
	}
}

// step reads the counts once and shows them.
func (p *progress) step(ctx context.Context, now time.Time) {
	l := p.snapshot(ctx, now)
	if p.tw != nil {
		p.tw.show(l.String())
		return
	}
	attrs := []any{"pages", l.Pages, "pages_per_second", math.Round(l.Rate*10) / 10}
	if l.Queued >= 0 {
		attrs = append(attrs, "queued", l.Queued)
	}
	attrs = append(attrs, "ads", l.Ads, "flagged", l.Flagged, "errors", l.Errors,
		"seconds", math.Round(l.Duration.Seconds()))
	p.log.Info("crawl progress", attrs...)
}

func (p *progress) snapshot(ctx context.Context, now time.Time) progressLine {
	s := p.counts.Progress()
	l := progressLine{Summary: s, Queued: -1}
	if p.frontier != nil {
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if fs, err := p.frontier.FrontierStats(fctx); err == nil {
			l.Queued = fs.Queued
		}
		cancel()
	}
	if len(p.samples) == 0 && s.Duration > 0 {
		// The first rate is the average since the crawl started.
		p.samples = append(p.samples, progressSample{at: now.Add(-s.Duration)})
	}
	p.samples = append(p.samples, progressSample{at: now, pages: s.Pages})
	for len(p.samples) > 2 && !p.samples[1].at.After(now.Add(-rateWindow)) {
		p.samples = p.samples[1:]
	}
	if first := p.samples[0]; now.Sub(first.at) > 0 {
		l.Rate = float64(s.Pages-first.pages) / now.Sub(first.at).Seconds()
	}
	return l
}

// String is the terminal line.
func (l progressLine) String() string {
	queued := "?"
	if l.Queued >= 0 {
		queued = fmt.Sprint(l.Queued)
	}
	return fmt.Sprintf("pages %d  %.1f/s  queued %s  ads %d  flagged %d  errors %d  %s",
		l.Pages, l.Rate, queued, l.Ads, l.Flagged, l.Errors, l.Duration.Truncate(time.Second))
}

// runCrawler runs the pipeline's crawl with progress shown on stderr.
func runCrawler(ctx context.Context, p *pipeline, tw *termWriter) (crawler.Summary, error) {
	stop := startProgress(ctx, tw, p.log, p.crawler, p.store)
	sum, err := p.crawler.Run(ctx)
	stop()
	return sum, err
}
