package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/review"
	"github.com/lokerwatch/lokerwatch/storage"
)

func runServe(ctx context.Context, e *env, args []string) error {
	var c common
	var listen, tlsCert, tlsKey string
	var secure bool
	fs := flags(e, "serve", "--config FILE [--store URL] [--listen ADDR] [--tls-cert FILE --tls-key FILE]")
	c.register(fs)
	fs.StringVar(&listen, "listen", "", "address to serve on (default review.listen from config)")
	fs.StringVar(&tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM)")
	fs.StringVar(&tlsKey, "tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	fs.BoolVar(&secure, "secure-cookies", false, "mark cookies Secure although serving plain HTTP (behind a TLS-terminating proxy)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (tlsCert == "") != (tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	cfg, log, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	if listen == "" {
		listen = cfg.Review.Listen
	}
	reg := newRegistry(st, log)
	inv, err := investigationOptions(cfg)
	if err != nil {
		return err
	}
	srv, err := review.New(review.Options{
		Store: st, Logger: log, Gatherer: reg, Registerer: reg,
		Lease: cfg.Review.Lease.D(), SessionTTL: cfg.Review.SessionTTL.D(), TokenTTL: cfg.Review.TokenTTL.D(),
		TrustedProxies: cfg.Review.TrustedProxies,
		SecureCookies:  secure || tlsCert != "",
		SigningKey:     inv.SigningKey, Weak: inv.Weak,
	})
	if err != nil {
		return fmt.Errorf("review server: %w", err)
	}
	// Alerts that crawls left in the outbox (retries, a full queue) are
	// sent from here too.
	al, err := startAlerts(ctx, cfg, st, log, reg)
	if err != nil {
		return err
	}
	defer al.close()
	users, err := st.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	if len(users) == 0 {
		fmt.Fprintln(e.stderr, "no accounts yet: create one with  lokerwatch user add NAME --role admin")
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return usagef("listen on %s: %v", listen, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // exports stream for a while
		IdleTimeout:       2 * time.Minute,
	}
	scheme := "http"
	if tlsCert != "" {
		scheme = "https"
	}
	log.Info("review desk listening", "url", scheme+"://"+ln.Addr().String())
	done := make(chan error, 1)
	go func() {
		if tlsCert != "" {
			done <- hs.ServeTLS(ln, tlsCert, tlsKey)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	// Summaries of failed logins still held in memory go to the audit log.
	if err := srv.Close(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

func runUser(ctx context.Context, e *env, args []string) error {
	return dispatch(ctx, e, "user", args, []subcommand{{"add", userAdd}, {"token", userToken}, {"list", userList}})
}

func userAdd(ctx context.Context, e *env, args []string) error {
	var c common
	var role string
	var fromStdin bool
	fs := flags(e, "user add", "NAME --role analyst|investigator|admin [--password-stdin]")
	c.register(fs)
	fs.StringVar(&role, "role", "", "analyst, investigator or admin (required)")
	fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one user NAME")
	}
	r, err := review.ParseRole(role)
	if err != nil {
		return usageError{err}
	}
	pw, err := readPassword(e, fromStdin)
	if err != nil {
		return err
	}
	if len(pw) < review.MinPasswordLen {
		return usagef("the password needs at least %d characters", review.MinPasswordLen)
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		if err := review.AddUser(ctx, st, fs.Arg(0), r, pw); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "user %s (%s) saved\n", fs.Arg(0), r)
		return nil
	})
}

// readPassword reads a password from stdin (--password-stdin) or asks for
// it twice on the terminal without echo.
func readPassword(e *env, fromStdin bool) (string, error) {
	if fromStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	f, ok := e.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usagef("no terminal to ask for a password: use --password-stdin")
	}
	fmt.Fprint(e.stderr, "password: ")
	a, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	fmt.Fprint(e.stderr, "again: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("read password: %w", err)
	}
	if string(a) != string(b) {
		return "", usagef("the passwords differ")
	}
	return string(a), nil
}

// userToken is "user token NAME" (make one), "user token list NAME" and
// "user token revoke NAME ID|TOKEN". A user may be called "list" or
// "revoke": the number of arguments tells the forms apart.
func userToken(ctx context.Context, e *env, args []string) error {
	var c common
	var ttl time.Duration
	fs := flags(e, "user token", "NAME [--ttl 2160h] | list NAME | revoke NAME ID|TOKEN")
	c.register(fs)
	fs.DurationVar(&ttl, "ttl", 0, "lifetime of the new token (default review.token_ttl, 90 days)")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	a := fs.Args()
	switch {
	case len(a) == 1:
	case len(a) == 2 && a[0] == "list":
		return withStore(ctx, e, &c, func(st storage.Store) error {
			toks, err := review.Tokens(ctx, st, a[1])
			if err != nil {
				return err
			}
			for _, t := range toks {
				fmt.Fprintf(e.stdout, "%s  created %s  expires %s\n", review.TokenID(&t), t.CreatedAt.UTC().Format(time.RFC3339), expiry(t.Expires))
			}
			return nil
		})
	case len(a) == 3 && a[0] == "revoke":
		return withStore(ctx, e, &c, func(st storage.Store) error {
			t, err := review.RevokeToken(ctx, st, a[1], a[2])
			if err != nil {
				return err
			}
			if err := st.AppendAudit(ctx, lokerwatch.AuditEvent{Time: time.Now().UTC(), Actor: cliActor(), Action: "user.token.revoke",
				Object: a[1], Detail: "token " + review.TokenID(t) + " (command line)"}); err != nil {
				return fmt.Errorf("token revoked, but not logged: %w", err)
			}
			fmt.Fprintf(e.stdout, "token %s of %s revoked\n", review.TokenID(t), a[1])
			return nil
		})
	default:
		return usagef("want: user token NAME | user token list NAME | user token revoke NAME ID")
	}
	if ttl < 0 {
		return usagef("--ttl must be positive")
	}
	cfg, _, st, err := c.open(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	if ttl == 0 {
		ttl = cfg.Review.TokenTTL.D()
	}
	tok, sess, err := review.NewTokenTTL(ctx, st, a[0], ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, tok)
	fmt.Fprintf(e.stderr, "shown once: send it as  Authorization: Bearer TOKEN\ntoken id %s, expires %s; revoke with  lokerwatch user token revoke %s %s\n",
		review.TokenID(sess), expiry(sess.Expires), a[0], review.TokenID(sess))
	return nil
}

func expiry(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// cliActor names who runs a command, for the audit trail.
func cliActor() string {
	if u := os.Getenv("USER"); u != "" {
		return u + " (cli)"
	}
	return "cli"
}

func userList(ctx context.Context, e *env, args []string) error {
	var c common
	fs := flags(e, "user list", "")
	c.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	return withStore(ctx, e, &c, func(st storage.Store) error {
		users, err := st.ListUsers(ctx)
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, u := range users {
			state := ""
			if u.Disabled {
				state = " (disabled)"
			}
			fmt.Fprintf(e.stdout, "%-20s %-12s %s%s\n", u.Name, u.Role, u.CreatedAt.Format("2006-01-02"), state)
		}
		return nil
	})
}
