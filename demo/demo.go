// Package demo is `lokerwatch demo`: a small built-in sample web (a job
// board with JSON-LD, a Telegram-style channel, an RSS feed and a forum,
// about 40 labelled ads) served on loopback, crawled into a store and shown
// as a review queue. It needs nothing installed but the binary.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/storage"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the demo needs: what the crawler needs, and the review
// queue listing it prints.
type Store interface {
	crawler.Store
}

// Options configure Run.
type Options struct {
	// Store receives the crawl; a fresh one makes the printed queue hold
	// only the demo's ads (ads of earlier runs are left out of the listing
	// either way, since every run serves on a new port).
	Store Store
	// StoreURL is how the user named the store, shown in the hints on how to
	// inspect the results ("" leaves --store out of them).
	StoreURL string
	// Out gets the report; nil discards it.
	Out io.Writer
	// Once returns after the crawl; otherwise the sample web keeps being
	// served until ctx is cancelled.
	Once   bool
	Logger *slog.Logger
	// Addr is where the sample web listens (default 127.0.0.1:0, a free port).
	Addr string
	// Classifier assesses the ads (default: classifiers.New with the
	// demo config's threshold).
	Classifier crawler.Classifier
	// Archiver keeps WARC captures of pages with flagged ads (nil: none).
	Archiver crawler.Archiver
	// Registerer receives the crawler's and the default classifier's
	// metrics (nil: none).
	Registerer prometheus.Registerer
}

// Result is what a Run did.
type Result struct {
	BaseURL string
	Summary crawler.Summary
	// Queue is the demo's review items, highest score first.
	Queue []lokerwatch.ReviewItem
}

// Run serves the sample web, crawls it into opt.Store, prints the review
// queue and, unless opt.Once, keeps serving until ctx is cancelled (which
// is then a normal end, not an error).
func Run(ctx context.Context, opt Options) error {
	_, err := run(ctx, opt)
	return err
}

func run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Store == nil {
		return nil, errors.New("demo: no store")
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := opt.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo: listen for the sample web on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           Site(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-served
	}()
	base := "http://" + ln.Addr().String()
	log.Info("sample web up", "url", base)

	cfg := Config(base)
	cls := opt.Classifier
	if cls == nil {
		c, err := newClassifier(cfg.Classify.Threshold, opt.Registerer)
		if err != nil {
			return nil, fmt.Errorf("demo: classifier: %w", err)
		}
		cls = c
	}
	cr, err := crawler.New(crawler.Options{
		Config:     cfg,
		Store:      opt.Store,
		Classifier: cls,
		Archiver:   opt.Archiver,
		Logger:     log,
		Worker:     "demo",
		Registerer: opt.Registerer,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintf(out, "lokerwatch demo: sample web at %s (job board, Telegram-style channel, RSS feed, forum)\n", base)
	if _, err := cr.Seed(ctx); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	sum, err := cr.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("demo: crawl: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("demo: crawl interrupted: %w", err)
	}
	fmt.Fprintf(out, "crawled %s in %.1fs: %s, %d flagged, %s, %s kept out by robots.txt\n",
		plural(sum.Pages, "page"), sum.Duration.Seconds(), plural(sum.Ads, "ad"), sum.Flagged,
		plural(sum.Errors, "error"), plural(sum.Robots, "URL"))

	items, err := opt.Store.ListItems(ctx, storage.ReviewFilter{})
	if err != nil {
		return nil, fmt.Errorf("demo: list the review queue: %w", err)
	}
	res := &Result{BaseURL: base, Summary: sum}
	others := 0
	for _, it := range items {
		if strings.HasPrefix(it.URL, base+"/") {
			res.Queue = append(res.Queue, it)
		} else {
			others++
		}
	}
	printQueue(out, res.Queue)
	if others > 0 {
		fmt.Fprintf(out, "(the store holds %d more review items from earlier crawls, not listed here)\n", others)
	}
	if opt.Once {
		return res, nil
	}
	printHints(out, base, opt.StoreURL)
	select {
	case <-ctx.Done():
	case err := <-served:
		served <- err // for the deferred shutdown
		if !errors.Is(err, http.ErrServerClosed) {
			return res, fmt.Errorf("demo: sample web: %w", err)
		}
	}
	return res, nil
}

func newClassifier(threshold int, reg prometheus.Registerer) (crawler.Classifier, error) {
	e, err := classifiers.New(classifiers.Options{Threshold: threshold, Registerer: reg})
	if err != nil {
		return nil, err
	}
	return classifiers.WithTrail{Engine: e}, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func printQueue(w io.Writer, items []lokerwatch.ReviewItem) {
	fmt.Fprintf(w, "\nReview queue: %s flagged, highest risk first\n\n", plural(len(items), "ad"))
	if len(items) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCORE\tCATEGORY\tSOURCE\tTITLE")
	for _, it := range items {
		fmt.Fprintf(tw, "%5d\t%s\t%s\t%s\n", it.Score, it.Category, clean(it.Source, 20), clean(it.Title, 72))
	}
	tw.Flush()
}

func printHints(w io.Writer, base, storeURL string) {
	store := ""
	if storeURL != "" {
		store = " --store " + storeURL
	}
	fmt.Fprintf(w, "\nThe sample web stays up at %s until you press Ctrl-C.\n", base)
	fmt.Fprintf(w, "In another terminal, look at the results:\n")
	fmt.Fprintf(w, "  lokerwatch review list%s            # the queue\n", store)
	fmt.Fprintf(w, "  lokerwatch review show ID%s         # why an ad was flagged\n", store)
	fmt.Fprintf(w, "  lokerwatch ads --flagged%s          # flagged ads with their text\n", store)
	fmt.Fprintf(w, "  lokerwatch serve%s                  # the review console (first: lokerwatch user add)\n", store)
}

// clean makes a crawled string safe and short for a terminal: control
// characters (escape sequences included) become spaces, runs of space
// collapse, and it is cut at max runes.
func clean(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max-1]) + "…"
	}
	return s
}
