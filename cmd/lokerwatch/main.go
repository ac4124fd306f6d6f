// Command lokerwatch finds overseas job ads that recruit Indonesian migrant
// workers into scam compounds, non-procedural placement or trafficking.
//
// This package only parses flags, builds the parts and maps errors to exit
// codes: 0 ok, 1 runtime failure, 2 bad usage or bad config, 3 (verify) a
// bundle intact but not checked against a trusted key.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lokerwatch/lokerwatch/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a command gets from the process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	environ        []string
}

// usageError is bad usage or bad config: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// untrustedError is a bundle that verify found intact but could not tie
// to a trusted key: exit code 3.
type untrustedError struct{ err error }

func (e untrustedError) Error() string { return e.err.Error() }
func (e untrustedError) Unwrap() error { return e.err }

func commands() []command {
	return []command{
		{"demo", "serve a built-in sample web, crawl it and print the review queue", runDemo},
		{"crawl", "crawl the configured sources in this process until done", runCrawl},
		{"seed", "add the configured sources' seeds to a shared frontier", runSeed},
		{"worker", "work a shared crawl (Redis store) until it is finished", runWorker},
		{"status", "print frontier and review queue counts", runStatus},
		{"ads", "list stored ads", runAds},
		{"classify", "score JSON-lines ads from stdin or files", runClassify},
		{"eval", "measure precision and recall against labelled JSON lines", runEval},
		{"train", "fit the model's weights from labelled files and analysts' verdicts", runTrain},
		{"rescore", "score stored ads again (after a model or rule change) and re-order the queue", runRescore},
		{"serve", "run the review console, JSON API, /metrics and health checks", runServe},
		{"review", "work the review queue: list, show, claim, decide", runReview},
		{"export", "export a case bundle (WACZ), CSV or JSON lines", runExport},
		{"verify", "verify an exported bundle's hashes, WARC digests and signature", runVerify},
		{"keys", "generate a signing key pair: keys generate", runKeys},
		{"personas", "link every stored ad into its persona (after an upgrade): personas link", runPersonas},
		{"purge", "apply the evidence retention policy", runPurge},
		{"user", "manage review desk accounts: add, token, list", runUser},
		{"config", "check a config file: config check FILE", runConfig},
		{"version", "print the version", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ()})
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, e *env) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		return exitCode(e.stderr, c.name, err)
	}
	fmt.Fprintf(e.stderr, "lokerwatch: unknown command %q\n\n", args[0])
	printUsage(e.stderr)
	return 2
}

func exitCode(w io.Writer, name string, err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(w, "lokerwatch %s: %v\n", name, err)
		return 2
	case errors.As(err, new(untrustedError)):
		fmt.Fprintf(w, "lokerwatch %s: %v\n", name, err)
		return 3
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(w, "lokerwatch %s: interrupted\n", name)
		return 1
	default:
		fmt.Fprintf(w, "lokerwatch %s: %v\n", name, err)
		return 1
	}
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "lokerwatch finds overseas job ads that recruit Indonesian migrant workers into scams and trafficking.")
	fmt.Fprintln(w, "\nUsage: lokerwatch COMMAND [flags]   (lokerwatch COMMAND --help for a command's flags)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nExit codes: 0 ok, 1 runtime failure, 2 bad usage or bad config, 3 verify: intact but not signed by a trusted key.")
}

// flags makes a FlagSet whose errors are usage errors and whose help
// names the command.
func flags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("lokerwatch "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: lokerwatch %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// common flags shared by the commands that read config or data.
type common struct {
	metricsListen string
	push          string // crawl: Pushgateway URL for the final metrics
	configPath    string
	store         string
	logFormat     string
	logLevel      string
	// create lets the command create a store that does not exist yet
	// (serve, user add); the others only open an existing one.
	create bool
}

// registerMetrics adds --metrics-listen (crawl and worker).
func (c *common) registerMetrics(fs *flag.FlagSet) {
	fs.StringVar(&c.metricsListen, "metrics-listen", "", "serve /metrics, /healthz and /readyz on `ADDR` (e.g. :9090)")
}

// registerPush adds --push (crawl).
func (c *common) registerPush(fs *flag.FlagSet) {
	fs.StringVar(&c.push, "push", "", "push the final metrics to the Prometheus Pushgateway at `URL` (job lokerwatch-crawl)")
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.configPath, "config", "", "config `FILE` (YAML); defaults and LOKERWATCH_* environment apply without it")
	fs.StringVar(&c.store, "store", "", "store `URL`: sqlite:PATH or redis://HOST:PORT/DB (overrides config)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// load reads the config (a bad config is a usage error) and applies --store.
func (c *common) load(e *env) (*config.Config, error) {
	cfg, err := config.Load(c.configPath, e.environ)
	if err != nil {
		return nil, configError(err)
	}
	if c.store != "" {
		cfg.Store = c.store
	}
	return cfg, nil
}

// configError is a bad config as a usage error; several problems are
// counted and listed one a line under it.
func configError(err error) error {
	var es config.Errors
	if errors.As(err, &es) && len(es) > 1 {
		lines := make([]string, len(es))
		for i, fe := range es {
			lines[i] = "  " + fe.Error()
		}
		return usageError{fmt.Errorf("%d problems in the config:\n%s", len(es), strings.Join(lines, "\n"))}
	}
	return usageError{err}
}

func (c *common) logger(e *env) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.logFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(e.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(e.stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", c.logFormat)
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := flags(e, "version", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "lokerwatch %s\n", version)
	return nil
}

func runConfig(_ context.Context, e *env, args []string) error {
	fs := flags(e, "config", "check FILE")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 || fs.Arg(0) != "check" {
		fs.Usage()
		return usagef("want: config check FILE")
	}
	cfg, err := config.Load(fs.Arg(1), e.environ)
	if err != nil {
		return configError(err)
	}
	fmt.Fprintf(e.stdout, "%s: ok (%s, store %s)\n", fs.Arg(1), plural(len(cfg.Sources), "source", "sources"), cfg.Store)
	return nil
}
