package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch/config"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review"
	"github.com/lokerwatch/lokerwatch/storage"
)

// open loads the config, makes the logger and opens the store (one that
// exists, unless c.create).
func (c *common) open(ctx context.Context, e *env) (*config.Config, *slog.Logger, storage.Store, error) {
	cfg, err := c.load(e)
	if err != nil {
		return nil, nil, nil, err
	}
	log, err := c.logger(e)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := openStoreMode(ctx, cfg, log, !c.create)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, log, st, nil
}

// withStore opens the store named by the common flags and runs fn.
func withStore(ctx context.Context, e *env, c *common, fn func(storage.Store) error) error {
	_, _, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// subcommand is one verb of a command group (review list, user add…).
type subcommand struct {
	name string
	run  func(ctx context.Context, e *env, args []string) error
}

// dispatch runs the subcommand named by args[0].
func dispatch(ctx context.Context, e *env, group string, args []string, subs []subcommand) error {
	names := make([]string, len(subs))
	for i, sc := range subs {
		names[i] = sc.name
	}
	want := strings.Join(names, ", ")
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(e.stderr, "Usage: lokerwatch %s %s [flags]\n", group, strings.Join(names, "|"))
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return usagef("want a subcommand: %s", want)
	}
	for _, sc := range subs {
		if sc.name == args[0] {
			return sc.run(ctx, e, args[1:])
		}
	}
	return usagef("unknown %s subcommand %q (want %s)", group, args[0], want)
}

func checkFormat(format string) error {
	if format != "table" && format != "jsonl" {
		return usagef("--format %q: want table or jsonl", format)
	}
	return nil
}

type adLine struct {
	ID        string              `json:"id"`
	URL       string              `json:"url"`
	Source    string              `json:"source"`
	Title     string              `json:"title"`
	Text      string              `json:"text"`
	Score     int                 `json:"score"`
	Flagged   bool                `json:"flagged"`
	Category  lokerwatch.Category `json:"category"`
	Lang      string              `json:"lang,omitempty"`
	FirstSeen time.Time           `json:"first_seen,omitzero"`
	LastSeen  time.Time           `json:"last_seen,omitzero"`
	// Sources are every source that found the ad; RemovedAt is when its
	// page answered 404/410 on a revisit; FromPage says it was read from
	// the page's own text, without a structured posting.
	Sources    []lokerwatch.Sighting `json:"sources,omitempty"`
	RemovedAt  time.Time             `json:"removed_at,omitzero"`
	FromPage   bool                  `json:"from_page,omitempty"`
	Entities   lokerwatch.Entities   `json:"entities"`
	Assessment any                   `json:"assessment,omitempty"`
}

func runAds(ctx context.Context, e *env, args []string) error {
	var c common
	var flagged bool
	var format string
	var limit int
	fs := flags(e, "ads", "[--flagged] [--format table|jsonl] [--store URL]")
	c.register(fs)
	fs.BoolVar(&flagged, "flagged", false, "only flagged ads, highest score first (then the most recently seen)")
	fs.StringVar(&format, "format", "table", "output: table or jsonl")
	fs.IntVar(&limit, "limit", 0, "at most this many ads (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkFormat(format); err != nil {
		return err
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		// Flagged ads are a work list: collected and sorted by risk. The
		// full listing streams in the store's order.
		f := storage.AdFilter{FlaggedOnly: flagged, Limit: limit}
		if flagged {
			f.Limit = 0 // the highest scores may be anywhere in the store's order
		}
		var lines []adLine
		enc := json.NewEncoder(e.stdout)
		err := st.ScanAds(ctx, f, func(ad *lokerwatch.Ad) error {
			l := adLine{ID: ad.ID, URL: ad.URL, Source: ad.Source, Title: ad.Title, Text: ad.Text,
				Lang: ad.Lang, FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen, Entities: ad.Entities,
				Sources: ad.Sources, RemovedAt: ad.RemovedAt, FromPage: ad.FromPage}
			if a := ad.Assessment; a != nil {
				l.Score, l.Flagged, l.Category = a.Score, a.Flagged, a.Category
				l.Assessment = a
			}
			if format == "jsonl" && !flagged {
				return enc.Encode(l)
			}
			lines = append(lines, l)
			return nil
		})
		if err != nil {
			return fmt.Errorf("list ads: %w", err)
		}
		if flagged {
			sortAdLines(lines)
			if limit > 0 && len(lines) > limit {
				lines = lines[:limit]
			}
		}
		if format == "jsonl" {
			for i := range lines {
				if err := enc.Encode(&lines[i]); err != nil {
					return err
				}
			}
			return nil
		}
		tb := newTable("SCORE", "FLAG", "CATEGORY", "SOURCE", "TITLE", "URL", "REMOVED")
		for _, l := range lines {
			flag := ""
			if l.Flagged {
				flag = "yes"
			}
			removed := ""
			if !l.RemovedAt.IsZero() {
				removed = l.RemovedAt.Format("2006-01-02")
			}
			tb.add(strconv.Itoa(l.Score), flag, string(l.Category), l.Source, clip(l.Title, 60), l.URL, removed)
		}
		return tb.write(e.stdout)
	})
}

// sortAdLines orders ads by score, highest first, then the most recently
// seen, then ID (so the order is the same on every store).
func sortAdLines(lines []adLine) {
	slices.SortStableFunc(lines, func(a, b adLine) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
}

func runReview(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "review", args, []subcommand{
		{"list", reviewList}, {"show", reviewShow}, {"claim", reviewClaim}, {"decide", reviewDecide},
	})
}

func reviewList(ctx context.Context, e *env, args []string) error {
	var c common
	var status, format, category string
	var limit int
	fs := flags(e, "review list", "[--status pending|claimed|decided|all] [--format table|jsonl]")
	c.register(fs)
	fs.StringVar(&status, "status", "pending", "pending, claimed, decided or all")
	fs.StringVar(&format, "format", "table", "output: table or jsonl")
	fs.StringVar(&category, "category", "", "only this category (scam, nonprocedural, trafficking)")
	fs.IntVar(&limit, "limit", 0, "at most this many items (0: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkFormat(format); err != nil {
		return err
	}
	f := storage.ReviewFilter{Category: lokerwatch.Category(category), Limit: limit}
	switch status {
	case "pending", "claimed", "decided":
		f.Status = lokerwatch.ReviewStatus(status)
	case "all":
	default:
		return usagef("--status %q: want pending, claimed, decided or all", status)
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		items, err := st.ListItems(ctx, f)
		if err != nil {
			return fmt.Errorf("list review items: %w", err)
		}
		return printItems(e.stdout, items, format)
	})
}

func printItems(w io.Writer, items []lokerwatch.ReviewItem, format string) error {
	if format == "jsonl" {
		enc := json.NewEncoder(w)
		for i := range items {
			if err := enc.Encode(&items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	tb := newTable("ID", "SCORE", "CATEGORY", "STATUS", "SOURCE", "TITLE")
	for _, it := range items {
		status := string(it.Status)
		if it.Verdict != "" {
			status += ":" + string(it.Verdict)
		}
		tb.add(it.ID, strconv.Itoa(it.Score), string(it.Category), status, it.Source, clip(it.Title, 70))
	}
	return tb.write(w)
}

func reviewShow(ctx context.Context, e *env, args []string) error {
	var c common
	var format string
	fs := flags(e, "review show", "ID [--format table|jsonl]")
	c.register(fs)
	fs.StringVar(&format, "format", "table", "output: table or jsonl")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one review item ID")
	}
	if err := checkFormat(format); err != nil {
		return err
	}
	id := fs.Arg(0)
	return withStore(ctx, e, &c, func(st storage.Store) error {
		it, err := st.GetItem(ctx, id)
		if err != nil {
			return err // names the item
		}
		ad, err := st.GetAd(ctx, it.AdID)
		if err != nil {
			return fmt.Errorf("ad %s of review item %s: %w", it.AdID, id, err)
		}
		hist, err := st.Decisions(ctx, id)
		if err != nil {
			return fmt.Errorf("decisions of review item %s: %w", id, err)
		}
		if format == "jsonl" {
			return json.NewEncoder(e.stdout).Encode(map[string]any{"item": it, "ad": ad, "decisions": hist})
		}
		w := e.stdout
		fmt.Fprintf(w, "item      %s (%s)\n", it.ID, it.Status)
		fmt.Fprintf(w, "ad        %s\nurl       %s\nsource    %s\n", ad.ID, ad.URL, ad.Source)
		fmt.Fprintf(w, "title     %s\n", ad.Title)
		if a := ad.Assessment; a != nil {
			fmt.Fprintf(w, "score     %d  category %s  flagged %v\n", a.Score, a.Category, a.Flagged)
			fmt.Fprintf(w, "per cat.  scam %d  nonprocedural %d  trafficking %d\n",
				a.Categories[lokerwatch.CategoryScam], a.Categories[lokerwatch.CategoryNonprocedural], a.Categories[lokerwatch.CategoryTrafficking])
			fmt.Fprintln(w, "signals:")
			for _, s := range a.Signals {
				fmt.Fprintf(w, "  %+4d  %-14s %-28s %q\n", s.Weight, s.Category, s.Rule, s.Evidence)
				if s.Description != "" {
					fmt.Fprintf(w, "        %s\n", s.Description)
				}
			}
		}
		ents, _ := json.Marshal(ad.Entities)
		fmt.Fprintf(w, "entities  %s\n", ents)
		fmt.Fprintf(w, "text:\n%s\n", ad.Text)
		if len(hist) > 0 {
			fmt.Fprintln(w, "decisions:")
			for _, d := range hist {
				fmt.Fprintf(w, "  %s  %-13s by %s  %s\n", d.DecidedAt.Format(time.RFC3339), d.Verdict, d.Reviewer, d.Note)
			}
		}
		return nil
	})
}

func reviewClaim(ctx context.Context, e *env, args []string) error {
	var c common
	var reviewer, format string
	var lease time.Duration
	fs := flags(e, "review claim", "[ID] --reviewer NAME [--lease 10m]")
	c.register(fs)
	fs.StringVar(&reviewer, "reviewer", "", "who claims (required)")
	fs.DurationVar(&lease, "lease", 10*time.Minute, "how long the claim holds")
	fs.StringVar(&format, "format", "table", "output: table or jsonl")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if reviewer == "" {
		return usagef("--reviewer is required")
	}
	if fs.NArg() > 1 {
		return usagef("want at most one review item ID")
	}
	if err := checkFormat(format); err != nil {
		return err
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		var it *lokerwatch.ReviewItem
		var err error
		if fs.NArg() == 1 {
			// The decision matrix applies here as on the desk: the
			// reviewer is an account, and its role counts.
			u, uerr := reviewerAccount(ctx, st, reviewer)
			if uerr != nil {
				return uerr
			}
			it, err = review.Claim(ctx, st, u, fs.Arg(0), lease)
		} else {
			it, err = st.ClaimNext(ctx, reviewer, lease, storage.ReviewFilter{})
		}
		if errors.Is(err, lokerwatch.ErrEmpty) {
			fmt.Fprintln(e.stderr, "the review queue is empty")
			return nil
		}
		if err != nil && fs.NArg() == 0 {
			return fmt.Errorf("claim the next review item: %w", err)
		}
		if err != nil {
			return err // review.Claim and the store name the item
		}
		return printItems(e.stdout, []lokerwatch.ReviewItem{*it}, format)
	})
}

func reviewDecide(ctx context.Context, e *env, args []string) error {
	var c common
	var verdict, reviewer, note string
	var amend bool
	fs := flags(e, "review decide", "ID --verdict scam|nonprocedural|trafficking|benign|escalate --reviewer NAME [--note TEXT]")
	c.register(fs)
	fs.StringVar(&verdict, "verdict", "", "scam, nonprocedural, trafficking, benign or escalate (required)")
	fs.StringVar(&reviewer, "reviewer", "", "who decides (required)")
	fs.StringVar(&note, "note", "", "free-text note kept with the decision")
	fs.BoolVar(&amend, "amend", false, "change the verdict of an item already decided (the earlier decision is kept in the history)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one review item ID")
	}
	v, err := lokerwatch.ParseVerdict(verdict)
	if err != nil {
		return usageError{err}
	}
	if reviewer == "" {
		return usagef("--reviewer is required")
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		u, err := reviewerAccount(ctx, st, reviewer)
		if err != nil {
			return err
		}
		it, err := review.Decide(ctx, st, u, lokerwatch.Decision{ItemID: fs.Arg(0), Verdict: v, Reviewer: reviewer,
			Note: note, DecidedAt: time.Now().UTC(), Amend: amend})
		if err != nil {
			return err // review.Decide and the store name the item
		}
		fmt.Fprintf(e.stdout, "%s: %s by %s\n", it.ID, it.Verdict, it.Reviewer)
		return nil
	})
}

// reviewerAccount is the enabled account that --reviewer names: the CLI
// decides as that user, with its role (see review.MayDecide).
func reviewerAccount(ctx context.Context, st storage.Store, name string) (*storage.User, error) {
	u, err := st.GetUser(ctx, name)
	if errors.Is(err, lokerwatch.ErrNotFound) {
		return nil, usagef("--reviewer %s: no such account (create it with  lokerwatch user add %s --role analyst)", name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("reviewer %s: %w", name, err)
	}
	if u.Disabled {
		return nil, usagef("--reviewer %s: the account is disabled", name)
	}
	return u, nil
}

// reorder moves positional arguments after flags so that both
// "decide ID --verdict x" and "decide --verdict x ID" work. Whether a flag
// takes the next argument as its value is asked of fs itself.
func reorder(fs *flag.FlagSet, args []string) []string {
	var flagArgs, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-"):
			flagArgs = append(flagArgs, a)
			if !strings.Contains(a, "=") && takesValue(fs, a) && i+1 < len(args) {
				flagArgs = append(flagArgs, args[i+1])
				i++
			}
		default:
			pos = append(pos, a)
		}
	}
	return append(flagArgs, pos...)
}

// takesValue reports whether the flag named by arg ("-x", "--x") expects a
// value; boolean, help and unknown flags do not (flag.Parse reports the
// unknown ones).
func takesValue(fs *flag.FlagSet, arg string) bool {
	f := fs.Lookup(strings.TrimLeft(arg, "-"))
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}
