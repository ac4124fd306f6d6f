package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/evidence"
)

// parseTime accepts RFC 3339 or a plain date.
func parseTime(flagName, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--%s %q: want a date (2026-11-27) or RFC 3339 time", flagName, s)
}

func runExport(ctx context.Context, e *env, args []string) error {
	var c common
	var out, format, verdicts, since, until, entity, keyPath, actor, caseID string
	var all bool
	fs := flags(e, "export", "-o FILE [--format wacz|csv|jsonl] [--verdict LIST] [--since T] [--until T] [--entity VALUE] [--case ID] [--key FILE]")
	c.register(fs)
	fs.StringVar(&out, "o", "", "output `FILE` (required)")
	fs.StringVar(&format, "format", "wacz", "wacz (signed case bundle with captures), csv or jsonl")
	fs.StringVar(&verdicts, "verdict", "", "comma-separated verdicts to include (scam,nonprocedural,trafficking,benign,escalate,undecided); default all")
	fs.StringVar(&since, "since", "", "only ads seen at or after this time")
	fs.StringVar(&until, "until", "", "only ads seen before this time")
	fs.StringVar(&entity, "entity", "", "only ads naming this phone (any format), handle, e-mail or agency")
	fs.StringVar(&keyPath, "key", "", "signing key `FILE` (PEM); default evidence.signing_key from config; none: unsigned")
	fs.StringVar(&actor, "actor", "", "who exports, for the audit trail (default: $USER)")
	fs.BoolVar(&all, "all", false, "include ads that were not flagged")
	fs.StringVar(&caseID, "case", "", "export case `ID` (its ads, notes, entities, persona graphs and timeline) as a WACZ bundle")
	if err := parse(fs, args); err != nil {
		return err
	}
	if out == "" {
		return usagef("-o FILE is required")
	}
	if caseID != "" && (verdicts != "" || since != "" || until != "" || entity != "" || all || format != "wacz") {
		return usagef("--case exports the case's ads as a WACZ bundle; it takes no --format, --verdict, --since, --until, --entity or --all")
	}
	f, err := evidence.ParseFormat(format)
	if err != nil {
		return usageError{err}
	}
	vs, err := evidence.ParseVerdicts(verdicts)
	if err != nil {
		return usageError{err}
	}
	sinceT, err := parseTime("since", since)
	if err != nil {
		return err
	}
	untilT, err := parseTime("until", until)
	if err != nil {
		return err
	}
	cfg, log, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	if keyPath == "" {
		keyPath = cfg.Evidence.SigningKey
	}
	var key *ecdsa.PrivateKey
	if keyPath != "" && f == evidence.FormatWACZ {
		if key, err = evidence.LoadPrivateKey(keyPath); err != nil {
			return usagef("signing key: %v", err)
		}
	}
	if actor == "" {
		actor = os.Getenv("USER")
	}
	// Write to a temporary file and rename, so a failed export never
	// leaves a half bundle that looks whole.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".lokerwatch-export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	opts := evidence.ExportOptions{
		Format: f, Verdicts: vs, Since: sinceT, Until: untilT, Entity: entity, IncludeUnflagged: all,
		Key: key, Actor: actor, Software: "lokerwatch " + version, Logger: log,
	}
	var sum *evidence.ExportSummary
	if caseID != "" {
		sum, err = exportCase(ctx, cfg, st, caseID, tmp, opts)
	} else {
		sum, err = evidence.Export(ctx, st, tmp, opts)
	}
	if err != nil {
		tmp.Close()
		if caseID != "" && errors.Is(err, lokerwatch.ErrNotFound) {
			return usagef("case %s: no such case", caseID)
		}
		return err // evidence.Export names what it was exporting
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	signed := "unsigned"
	if sum.Signed {
		signed = "signed with key " + sum.KeyFingerprint
	}
	fmt.Fprintf(e.stdout, "%s: %s, %s, %s, %s, %s\n", out, sum.Format, plural(sum.Ads, "ad", "ads"),
		plural(sum.Captures, "capture", "captures"), plural(sum.Bytes, "byte", "bytes"), signed)
	return nil
}

func runVerify(_ context.Context, e *env, args []string) error {
	var pubPath, format string
	fs := flags(e, "verify", "[--public FILE] BUNDLE")
	fs.StringVar(&pubPath, "public", "", "public key `FILE` (PEM) the bundle must be signed with")
	fs.StringVar(&format, "format", "text", "text or jsonl")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one bundle file")
	}
	var pub *ecdsa.PublicKey
	if pubPath != "" {
		var err error
		if pub, err = evidence.LoadPublicKey(pubPath); err != nil {
			return usagef("public key: %v", err)
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	var rep *evidence.Report
	if pub != nil {
		rep, err = evidence.Verify(f, fi.Size(), pub)
	} else {
		rep, err = evidence.Verify(f, fi.Size(), nil)
	}
	if err != nil {
		return fmt.Errorf("verify %s: %w", fs.Arg(0), err)
	}
	if format == "jsonl" {
		if err := json.NewEncoder(e.stdout).Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(e.stdout); err != nil {
		return err
	}
	if !rep.Intact() {
		return fmt.Errorf("%s is not intact", fs.Arg(0))
	}
	if !rep.Trusted() {
		return untrustedError{fmt.Errorf("%s is intact, but its signature was not checked against a trusted key (unsigned, or no --public FILE): it shows the bundle is unchanged since someone made it, not who", fs.Arg(0))}
	}
	return nil
}

func runKeys(_ context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "generate" {
		fmt.Fprintln(e.stderr, "Usage: lokerwatch keys generate --private FILE --public FILE [--curve P-384|P-256]")
		return usagef("want: keys generate")
	}
	var priv, pub, curve string
	fs := flags(e, "keys generate", "--private FILE --public FILE [--curve P-384|P-256]")
	fs.StringVar(&priv, "private", "", "where to write the private key (PEM, mode 0600)")
	fs.StringVar(&pub, "public", "", "where to write the public key (PEM)")
	fs.StringVar(&curve, "curve", string(evidence.P384), "P-384 (what ReplayWeb.page checks) or P-256")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if priv == "" || pub == "" {
		return usagef("--private and --public are required")
	}
	if err := evidence.GenerateKeys(priv, pub, evidence.Curve(curve)); err != nil {
		return fmt.Errorf("generate keys: %w", err)
	}
	fmt.Fprintf(e.stdout, "private key %s, public key %s\n", priv, pub)
	return nil
}

func runPurge(ctx context.Context, e *env, args []string) error {
	var c common
	var dry bool
	var actor, release, reason, pubPath string
	fs := flags(e, "purge", "[--dry-run] [--release BUNDLE [--public FILE] [--reason TEXT]] [--config FILE] [--store URL]")
	c.register(fs)
	fs.BoolVar(&dry, "dry-run", false, "count what would be deleted, delete nothing")
	fs.StringVar(&actor, "actor", "", "who purges, for the audit trail (default: $USER)")
	fs.StringVar(&release, "release", "", "first mark the captures in this exported `BUNDLE` as released (held safely elsewhere), so this purge deletes them; the bundle must verify intact and signed by a trusted key")
	fs.StringVar(&pubPath, "public", "", "trusted public key `FILE` (PEM) the --release bundle must be signed with (default: the public half of evidence.signing_key)")
	fs.StringVar(&reason, "reason", "", "why the bundle's captures are released (kept in the audit trail)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if pubPath != "" && release == "" {
		return usagef("--public goes with --release")
	}
	if actor == "" {
		actor = os.Getenv("USER")
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	// Only what a bundle verified with a trusted key holds is released: an
	// unchecked or truncated bundle could list any capture. A missing key
	// is bad usage, said before the store is opened.
	var pub crypto.PublicKey
	if release != "" {
		switch {
		case pubPath != "":
			k, err := evidence.LoadPublicKey(pubPath)
			if err != nil {
				return usagef("--public: %v", err)
			}
			pub = k
		case cfg.Evidence.SigningKey != "":
			k, err := evidence.LoadPrivateKey(cfg.Evidence.SigningKey)
			if err != nil {
				return usagef("evidence.signing_key: %v", err)
			}
			pub = k.Public()
		default:
			return usagef("--release needs a trusted public key: --public FILE, or evidence.signing_key in the config")
		}
	}
	log, err := c.logger(e)
	if err != nil {
		return err
	}
	st, err := openExistingStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if release != "" {
		f, err := os.Open(release)
		if err != nil {
			return usageError{err}
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		if !dry {
			n, err := evidence.ReleaseVerified(ctx, st, f, fi.Size(), pub, actor, reason, time.Now())
			fmt.Fprintf(e.stdout, "released %s of %s\n", plural(n, "capture", "captures"), release)
			if err != nil {
				return fmt.Errorf("release: %w", err)
			}
		}
	}
	n, err := evidence.Purge(ctx, st, evidence.Policy{BenignDays: cfg.Evidence.Retention.BenignDays, DryRun: dry, Actor: actor}, time.Now())
	if err != nil {
		return err
	}
	verb := "deleted"
	if dry {
		verb = "would delete"
	}
	fmt.Fprintf(e.stdout, "%s %s\n", verb, plural(n, "capture", "captures"))
	return nil
}
