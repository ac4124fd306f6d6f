package main

import (
	"context"
	"fmt"
	"io"

	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/review"
	"github.com/lokerwatch/lokerwatch/storage"
)

// exportCase writes `lokerwatch export --case ID`: the case bundle, with
// persona links judged as the crawl judges them (the configured registry's
// hotlines are weak).
func exportCase(ctx context.Context, cfg *config.Config, st storage.Store, id string, w io.Writer, opts evidence.ExportOptions) (*evidence.ExportSummary, error) {
	eng, err := newClassifier(cfg)
	if err != nil {
		return nil, err
	}
	l := persona.NewLinker(st, persona.Options{Weak: eng.LicensedContact})
	return cases.Export(ctx, st, l, id, w, cases.ExportOptions{ExportOptions: opts})
}

// investigationOptions are the review desk's case-export signing key
// (evidence.signing_key) and the persona links it does not count (the
// registry's licensed hotlines), and the rules' descriptions in the
// reader's language.
func investigationOptions(cfg *config.Config) (review.Options, error) {
	var o review.Options
	if cfg.Evidence.SigningKey != "" {
		key, err := evidence.LoadPrivateKey(cfg.Evidence.SigningKey)
		if err != nil {
			return o, usagef("evidence.signing_key: %v", err)
		}
		o.SigningKey = key
	}
	eng, err := newClassifier(cfg)
	if err != nil {
		return o, err
	}
	if cfg.Classify.Registry != "" {
		o.Weak = eng.LicensedContact
	}
	o.Describe = eng.RuleDescription
	return o, nil
}

// runPersonas is `lokerwatch personas link`: links every stored ad, oldest
// first, as the crawl links new ones — for stores filled before personas
// existed, or to repair links a store error missed. It is idempotent.
func runPersonas(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "link" {
		fmt.Fprintln(e.stderr, "Usage: lokerwatch personas link [--config FILE] [--store URL]")
		return usagef("want: personas link")
	}
	var c common
	fs := flags(e, "personas link", "[--config FILE] [--store URL]")
	c.register(fs)
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	cfg, log, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := newClassifier(cfg)
	if err != nil {
		return err
	}
	l := persona.NewLinker(st, persona.Options{Weak: eng.LicensedContact, Logger: log})
	n, err := persona.Backfill(ctx, st, l, func(n int) { log.Info("linking personas", "ads", n) })
	if err != nil {
		return fmt.Errorf("after %s: %w", plural(n, "ad", "ads"), err)
	}
	fmt.Fprintf(e.stdout, "linked %s\n", plural(n, "ad", "ads"))
	return nil
}
