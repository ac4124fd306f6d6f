package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
)

// fileList is a repeatable flag (--labels A --labels B, or --labels A,B).
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, ",") }
func (f *fileList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*f = append(*f, p)
		}
	}
	return nil
}

// readLabelled reads labelled JSON-lines files; evalOnly marks examples
// that cross-validation scores but never fits on.
func readLabelled(ctx context.Context, e *env, files []string, evalOnly bool) ([]classifiers.Example, error) {
	var out []classifiers.Example
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, usagef("%v", err)
		}
		exs, bad, err := classifiers.ReadExamples(ctx, f, prefixWriter{e.stderr, name + ": "}, name)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		if bad > 0 {
			return nil, fmt.Errorf("%s: %d label lines could not be read (see above)", name, bad)
		}
		for i := range exs {
			exs[i].EvalOnly = evalOnly
		}
		out = append(out, exs...)
	}
	return out, nil
}

type prefixWriter struct {
	w interface{ Write([]byte) (int, error) }
	p string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	if _, err := p.w.Write([]byte(p.p)); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

func classifierOptions(cfg *config.Config) classifiers.Options {
	return classifiers.Options{Threshold: cfg.Classify.Threshold, RulesDir: cfg.Classify.Rules, Registry: cfg.Classify.Registry,
		Rates: cfg.Classify.Rates, ModelFile: cfg.Classify.Model}
}

func runEval(ctx context.Context, e *env, args []string) error {
	var c common
	var labels, evalOnly fileList
	var showErrors, byRule, table, rulesOnly, noText bool
	var cv int
	fs := flags(e, "eval", "--labels FILE… [--eval-only FILE…] [--cv K] [--by-rule] [--thresholds] [--errors] [--rules-only] [--config FILE]")
	c.register(fs)
	fs.Var(&labels, "labels", "labelled JSON lines (id, title, text, lang, flag, optional label, difficulty); repeat or comma-separate (required)")
	fs.Var(&evalOnly, "eval-only", "labelled files scored in cross-validation but never fitted on (a reporting set)")
	fs.IntVar(&cv, "cv", 0, "K-fold cross-validation: each ad is scored by a model trained without its fold (near-duplicates share a fold)")
	fs.BoolVar(&byRule, "by-rule", false, "each rule's hits on risky and safe ads and its precision (S/O)")
	fs.BoolVar(&table, "thresholds", true, "print precision and recall by threshold")
	fs.BoolVar(&showErrors, "errors", false, "list each miss and false alarm with its signals")
	fs.BoolVar(&rulesOnly, "rules-only", false, "score with the rules' YAML weights, no model (the earlier scoring, a baseline)")
	fs.BoolVar(&noText, "no-text", false, "with --cv: train without the text model (what does it add?)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if len(labels) == 0 {
		return usagef("--labels FILE is required")
	}
	if cv == 1 || cv < 0 {
		return usagef("--cv %d: want 0 (off) or at least 2 folds", cv)
	}
	if len(evalOnly) > 0 && cv == 0 {
		return usagef("--eval-only needs --cv")
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	exs, err := readLabelled(ctx, e, labels, false)
	if err != nil {
		return err
	}
	more, err := readLabelled(ctx, e, evalOnly, true)
	if err != nil {
		return err
	}
	exs = append(exs, more...)
	opt := classifierOptions(cfg)
	opt.RulesOnly = rulesOnly
	var rep *classifiers.Report
	if cv > 0 {
		if rulesOnly {
			return usagef("--cv trains a model; --rules-only has none")
		}
		rep, err = classifiers.CrossValidate(ctx, opt, exs, cv, classifiers.TrainOptions{NoText: noText})
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		fmt.Fprintf(e.stdout, "%d-fold cross-validation (near-duplicates in one fold; %s only scored, never fitted)\n", cv, plural(len(more), "ad", "ads"))
	} else {
		eng, err := classifiers.New(opt)
		if err != nil {
			return usageError{fmt.Errorf("load classifier: %w", err)}
		}
		rep = eng.Evaluate(exs)
	}
	rep.Print(e.stdout, showErrors)
	if table {
		rep.PrintThresholds(e.stdout)
	}
	if byRule {
		rep.PrintByRule(e.stdout)
	}
	return nil
}

func runTrain(ctx context.Context, e *env, args []string) error {
	var c common
	var labels fileList
	var fromStore, out string
	fs := flags(e, "train", "--labels FILE… [--from-store URL] -o model.json [--config FILE]")
	c.register(fs)
	fs.Var(&labels, "labels", "labelled JSON lines to train on; repeat or comma-separate")
	fs.StringVar(&fromStore, "from-store", "", "also train on analysts' decisions in this store `URL` (scam, nonprocedural, trafficking: risky; benign: not; escalated and undecided items are skipped)")
	fs.StringVar(&out, "o", "", "write the model to `FILE` (required); load it with classify.model")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if out == "" {
		return usagef("-o FILE is required")
	}
	if len(labels) == 0 && fromStore == "" {
		return usagef("give --labels FILE and/or --from-store URL")
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	var exs []classifiers.Example
	var data []string
	for _, name := range labels {
		more, err := readLabelled(ctx, e, []string{name}, false)
		if err != nil {
			return err
		}
		exs = append(exs, more...)
		data = append(data, classifiers.DataLabel(name, len(more)))
	}
	if fromStore != "" {
		scfg := *cfg
		scfg.Store = fromStore
		log, err := c.logger(e)
		if err != nil {
			return err
		}
		st, err := openExistingStore(ctx, &scfg, log)
		if err != nil {
			return err
		}
		verdicts, err := verdictExamples(ctx, st)
		st.Close()
		if err != nil {
			return err
		}
		exs = append(exs, verdicts...)
		data = append(data, fmt.Sprintf("store: %d decided items", len(verdicts)))
	}
	opt := classifierOptions(cfg)
	opt.RulesOnly = true
	eng, err := classifiers.New(opt)
	if err != nil {
		return usageError{fmt.Errorf("load classifier: %w", err)}
	}
	t0 := time.Now()
	m, err := eng.Train(exs, classifiers.TrainOptions{Data: data})
	if err != nil {
		return err
	}
	body, err := m.Encode()
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	if err := os.WriteFile(out, body, 0o644); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	buckets := 0
	if m.Text != nil {
		buckets = len(m.Text.Buckets)
	}
	fmt.Fprintf(e.stdout, "trained model %s on %s in %s: %s, %s; wrote %s\n",
		m.Version, plural(len(exs), "ad", "ads"), time.Since(t0).Round(time.Millisecond), plural(len(m.Features), "feature", "features"),
		plural(buckets, "text n-gram bucket", "text n-gram buckets"), out)
	return nil
}

// verdictExamples turns analysts' decisions into labelled examples: the
// item's current verdict (amendments supersede), escalated and undecided
// items skipped.
func verdictExamples(ctx context.Context, st storage.Store) ([]classifiers.Example, error) {
	items, err := st.ListItems(ctx, storage.ReviewFilter{Status: lokerwatch.StatusDecided})
	if err != nil {
		return nil, fmt.Errorf("list decided review items: %w", err)
	}
	var out []classifiers.Example
	for _, it := range items {
		flag, ok := it.Verdict.Label()
		if !ok {
			continue
		}
		ad, err := st.GetAd(ctx, it.AdID)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue // purged since
		}
		if err != nil {
			return nil, fmt.Errorf("review item %s: %w", it.ID, err)
		}
		out = append(out, classifiers.Example{Ad: ad, Flag: flag, Label: string(it.Verdict), Source: "store"})
	}
	return out, nil
}

func runRescore(ctx context.Context, e *env, args []string) error {
	var c common
	var dry bool
	fs := flags(e, "rescore", "[--dry-run] [--config FILE] [--store URL]")
	c.register(fs)
	fs.BoolVar(&dry, "dry-run", false, "count what would change without writing")
	if err := parse(fs, reorder(fs, args)); err != nil {
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
	// IDs first: writing while a scan streams would hold the scan open
	// against its own writes.
	var ids []string
	if err := st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		ids = append(ids, ad.ID)
		return nil
	}); err != nil {
		return fmt.Errorf("list ads: %w", err)
	}
	var n, changed, newlyFlagged, requeued int
	rescore := func(id string) error {
		ad, err := st.GetAd(ctx, id)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			return nil // purged meanwhile
		}
		if err != nil {
			return fmt.Errorf("read ad %s: %w", id, err)
		}
		n++
		old := ad.Assessment
		eng.Classify(ad)
		a := ad.Assessment
		if old != nil && old.Score == a.Score && old.Flagged == a.Flagged && old.Version == a.Version {
			return nil
		}
		changed++
		if dry {
			if a.Flagged && (old == nil || !old.Flagged) {
				newlyFlagged++
			}
			return nil
		}
		if _, err := st.PutAd(ctx, ad); err != nil {
			return fmt.Errorf("store ad %s: %w", ad.ID, err)
		}
		item, err := st.ItemForAd(ctx, ad.ID)
		switch {
		case errors.Is(err, lokerwatch.ErrNotFound):
			if a.Flagged {
				if _, _, err := st.Enqueue(ctx, ad); err != nil {
					return fmt.Errorf("queue ad %s: %w", ad.ID, err)
				}
				newlyFlagged++
			}
		case err != nil:
			return fmt.Errorf("review item of ad %s: %w", ad.ID, err)
		case item.Status == lokerwatch.StatusPending:
			// Enqueue refreshes a pending item's score (and so its place).
			if _, _, err := st.Enqueue(ctx, ad); err != nil {
				return fmt.Errorf("re-order review item %s: %w", item.ID, err)
			}
			requeued++
		}
		return nil
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := rescore(id); err != nil {
			return fmt.Errorf("ad %s: %w", id, err)
		}
	}
	log.Info("rescore done", "ads", n, "changed", changed, "newly_flagged", newlyFlagged, "requeued", requeued, "version", eng.Version(), "dry_run", dry)
	fmt.Fprintf(e.stdout, "%s scored with %s: %d changed, %d newly flagged, %s re-ordered%s\n",
		plural(n, "ad", "ads"), eng.Version(), changed, newlyFlagged, plural(requeued, "pending review item", "pending review items"),
		map[bool]string{true: " (dry run: nothing written)"}[dry])
	return nil
}
