package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"log/slog"
	"os"
	"time"

	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/crawler"
	"github.com/lokerwatch/lokerwatch/demo"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// pipeline is the parts a crawl needs, built from the config.
type pipeline struct {
	cfg     *config.Config
	log     *slog.Logger
	store   storage.Store
	crawler *crawler.Crawler
	reg     *prometheus.Registry // nil without --metrics-listen or --push
	worker  string
	alerts  *alerts // nil without notify.rules
}

func (p *pipeline) Close() {
	p.alerts.close()
	p.store.Close()
}

func newClassifier(cfg *config.Config) (*classifiers.Engine, error) {
	return newClassifierWith(cfg, nil)
}

// newClassifierWith loads the classifier with its metrics on reg (none when
// reg is nil).
func newClassifierWith(cfg *config.Config, reg prometheus.Registerer) (*classifiers.Engine, error) {
	eng, err := classifiers.New(classifiers.Options{
		Threshold:  cfg.Classify.Threshold,
		RulesDir:   cfg.Classify.Rules,
		Registry:   cfg.Classify.Registry,
		Rates:      cfg.Classify.Rates,
		ModelFile:  cfg.Classify.Model,
		Registerer: reg,
	})
	if err != nil {
		// Rules and registry are config: a bad one is the user's to fix.
		return nil, usageError{fmt.Errorf("load classifier: %w", err)}
	}
	return eng, nil
}

// storeOpener opens the store a pipeline works on (openStore, or
// openStoreWait for workers that wait for Redis to come up).
type storeOpener func(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error)

func buildPipeline(ctx context.Context, e *env, c *common, follow bool) (*pipeline, error) {
	return buildPipelineWith(ctx, e, c, follow, openStore)
}

func buildPipelineWith(ctx context.Context, e *env, c *common, follow bool, open storeOpener) (*pipeline, error) {
	cfg, err := c.load(e)
	if err != nil {
		return nil, err
	}
	log, err := c.logger(e)
	if err != nil {
		return nil, err
	}
	if len(cfg.Sources) == 0 {
		return nil, usagef("no sources configured (see the README's config reference)")
	}
	// Metrics come up before the store: a worker waiting for Redis is
	// alive (/healthz) but not ready (/readyz), so probes do not kill it.
	var reg *prometheus.Registry
	var registerer prometheus.Registerer // stays a nil interface without --metrics-listen
	ready := &lazyPinger{}
	if c.metricsListen != "" || c.push != "" {
		reg = newRegistry(nil, log)
		registerer = reg
	}
	eng, err := newClassifierWith(cfg, registerer)
	if err != nil {
		return nil, err
	}
	if c.metricsListen != "" {
		if _, err := serveMetrics(ctx, c.metricsListen, reg, ready, log); err != nil {
			return nil, err
		}
	}
	st, err := open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	ready.set(st)
	if reg != nil {
		registerStore(reg, st, log)
	}
	host, _ := os.Hostname()
	worker := fmt.Sprintf("%s-%d", host, os.Getpid())
	al, err := startAlerts(ctx, cfg, st, log, registerer)
	if err != nil {
		st.Close()
		return nil, err
	}
	var alerter crawler.Alerter // a nil interface without notify.rules
	if al != nil {
		alerter = al.n
	}
	cr, err := crawler.New(crawler.Options{
		Config: cfg,
		// Stored ads join their personas as they arrive (persona.Linking).
		Store:      persona.Linking(st, persona.NewLinker(st, persona.Options{Weak: eng.LicensedContact, Logger: log, Registerer: registerer})),
		Classifier: classifiers.WithTrail{Engine: eng},
		Archiver:   evidence.NewArchiver(st, evidence.ArchiverOptions{Software: "lokerwatch/" + version, Worker: worker, Logger: log}),
		Alerts:     alerter,
		Logger:     log,
		Worker:     worker,
		Follow:     follow,
		Registerer: registerer,
	})
	if err != nil {
		al.close()
		st.Close()
		return nil, usageError{err}
	}
	return &pipeline{cfg: cfg, log: log, store: st, crawler: cr, reg: reg, worker: worker, alerts: al}, nil
}

func printSummary(e *env, s crawler.Summary) {
	fmt.Fprintf(e.stdout, "pages %d, ads %d, flagged %d, errors %d, %.1fs\n",
		s.Pages, s.Ads, s.Flagged, s.Errors, s.Duration.Seconds())
	for _, d := range s.DroppedList() {
		fmt.Fprintf(e.stdout, "dropped %d links of %s: %s\n", d.N, d.Source, d.Reason)
	}
}

func runCrawl(ctx context.Context, e *env, args []string) error {
	var c common
	fs := flags(e, "crawl", "--config FILE [--store URL] [--metrics-listen ADDR] [--push URL]")
	c.register(fs)
	c.registerMetrics(fs)
	c.registerPush(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	pe, tw := progressEnv(e)
	p, err := buildPipeline(ctx, pe, &c, false)
	if err != nil {
		return err
	}
	defer p.Close()
	if _, err := p.crawler.Seed(ctx); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	sum, err := runCrawler(ctx, p, tw)
	p.alerts.drain(ctx, p.log, alertDrain)
	printSummary(e, sum)
	if c.push != "" {
		// A one-shot crawl's metrics would vanish with the process: the
		// Pushgateway keeps them for Prometheus.
		if perr := pushMetrics(ctx, c.push, p); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return err
}

// pushMetrics pushes the registry to a Pushgateway as job lokerwatch-crawl,
// grouped by instance (the worker's host), replacing that group's last
// push.
func pushMetrics(ctx context.Context, url string, p *pipeline) error {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	host, _ := os.Hostname()
	if host == "" {
		host = p.worker
	}
	err := push.New(url, "lokerwatch-crawl").Gatherer(p.reg).Grouping("instance", host).PushContext(pctx)
	if err != nil {
		return fmt.Errorf("push metrics to %s: %w", url, err)
	}
	p.log.Info("metrics pushed", "pushgateway", url)
	return nil
}

func runSeed(ctx context.Context, e *env, args []string) error {
	var c common
	fs := flags(e, "seed", "--config FILE --store redis://…")
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	p, err := buildPipeline(ctx, e, &c, false)
	if err != nil {
		return err
	}
	defer p.Close()
	n, err := p.crawler.Seed(ctx)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(e.stdout, "%d seeds queued\n", n)
	return nil
}

func runWorker(ctx context.Context, e *env, args []string) error {
	var c common
	var follow bool
	var connectTimeout time.Duration
	fs := flags(e, "worker", "--config FILE --store redis://… [--follow] [--connect-timeout D] [--metrics-listen ADDR]")
	c.register(fs)
	c.registerMetrics(fs)
	fs.BoolVar(&follow, "follow", false, "keep working after the crawl is finished (recrawls, new seeds)")
	fs.DurationVar(&connectTimeout, "connect-timeout", 0,
		"while Redis is unreachable at start, retry for this long before giving up (0: retry until it is up)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if connectTimeout < 0 {
		return usagef("--connect-timeout must not be negative")
	}
	// Workers are often started before (or while) Redis is: wait for it
	// rather than exit, so a supervisor need not restart them in a loop.
	open := func(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
		return openStoreWait(ctx, cfg, log, connectTimeout)
	}
	pe, tw := progressEnv(e)
	p, err := buildPipelineWith(ctx, pe, &c, follow, open)
	if err != nil {
		return err
	}
	defer p.Close()
	sum, err := runCrawler(ctx, p, tw)
	p.alerts.drain(ctx, p.log, alertDrain)
	printSummary(e, sum)
	return err
}

func runStatus(ctx context.Context, e *env, args []string) error {
	var c common
	var format string
	fs := flags(e, "status", "[--store URL] [--format table|jsonl]")
	c.register(fs)
	fs.StringVar(&format, "format", "table", "output: table or jsonl")
	if err := parse(fs, args); err != nil {
		return err
	}
	_, _, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	fst, err := st.FrontierStats(ctx)
	if err != nil {
		return fmt.Errorf("frontier stats: %w", err)
	}
	counts, err := st.CountItems(ctx)
	if err != nil {
		return fmt.Errorf("review counts: %w", err)
	}
	total, flagged, err := st.CountAds(ctx)
	if err != nil {
		return fmt.Errorf("count ads: %w", err)
	}
	dropped, err := st.DroppedLinks(ctx)
	if err != nil {
		return fmt.Errorf("dropped links: %w", err)
	}
	switch format {
	case "jsonl":
		return json.NewEncoder(e.stdout).Encode(map[string]any{
			"frontier": fst, "review": counts, "ads": total, "flagged": flagged, "dropped": dropped,
		})
	case "table":
		fmt.Fprintf(e.stdout, "frontier  queued %d  in-flight %d  done %d  failed %d  dead %d\n",
			fst.Queued, fst.InFlight, fst.Done, fst.Failed, fst.Dead)
		if !fst.OldestQueued.IsZero() {
			fmt.Fprintf(e.stdout, "          oldest queued %s ago\n", time.Since(fst.OldestQueued).Round(time.Second))
		}
		fmt.Fprintf(e.stdout, "ads       %d stored, %d flagged\n", total, flagged)
		fmt.Fprintf(e.stdout, "review    pending %d  claimed %d  decided %d\n",
			counts["pending"], counts["claimed"], counts["decided"])
		for _, d := range dropped {
			fmt.Fprintf(e.stdout, "dropped   %d links of %s: %s\n", d.N, d.Source, d.Reason)
		}
		return nil
	}
	return usagef("--format %q: want table or jsonl", format)
}

func runDemo(ctx context.Context, e *env, args []string) error {
	var c common
	var once bool
	fs := flags(e, "demo", "[--once] [--store URL] [--metrics-listen ADDR]")
	c.register(fs)
	c.registerMetrics(fs)
	// The demo's output is the queue; routine crawl logs would bury it.
	fs.Lookup("log-level").DefValue = "warn"
	c.logLevel = "warn"
	fs.BoolVar(&once, "once", false, "exit after the crawl instead of serving the sample web")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	log, err := c.logger(e)
	if err != nil {
		return err
	}
	if c.store == "" {
		// A fresh store each run, so the demo always shows what it finds.
		dir, err := os.MkdirTemp("", "lokerwatch-demo-")
		if err != nil {
			return err
		}
		cfg.Store = "sqlite:" + dir + "/demo.db"
		fmt.Fprintf(e.stderr, "demo store: %s\n", cfg.Store)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	var reg prometheus.Registerer // a nil interface without --metrics-listen
	if c.metricsListen != "" {
		r := newRegistry(st, log)
		if _, err := serveMetrics(ctx, c.metricsListen, r, st, log); err != nil {
			return err
		}
		reg = r
	}
	linked := persona.Linking(st, persona.NewLinker(st, persona.Options{Logger: log}))
	return demo.Run(ctx, demo.Options{Store: linked, StoreURL: cfg.Store, Out: e.stdout, Once: once, Logger: log,
		Archiver:   evidence.NewArchiver(st, evidence.ArchiverOptions{Software: "lokerwatch/" + version, Worker: "demo", Logger: log}),
		Registerer: reg})
}
