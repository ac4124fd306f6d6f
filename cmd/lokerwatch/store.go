package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// openStore opens the store named by cfg.Store, creating it when missing
// (crawl, seed, worker, demo, serve, user add). A URL with an unknown scheme
// is a usage error; one that cannot be opened is a runtime error.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	return openStoreMode(ctx, cfg, log, false)
}

// openExistingStore opens a store that must already exist: commands that
// only read or change what a crawl stored refuse to create an empty one
// (a mistyped --store, or none, would otherwise answer "0 ads").
func openExistingStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	return openStoreMode(ctx, cfg, log, true)
}

// noStoreHint ends the error of a store that does not exist.
const noStoreHint = "crawl or demo creates a store; --store or --config names another"

func openStoreMode(ctx context.Context, cfg *config.Config, log *slog.Logger, mustExist bool) (storage.Store, error) {
	u := cfg.Store
	switch {
	case strings.HasPrefix(u, "sqlite:"):
		if mustExist {
			if path := sqlitePath(u); path != "" && path != sqlite.MemoryPath {
				if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
					return nil, fmt.Errorf("open store %s: %s does not exist (%s)", u, path, noStoreHint)
				}
			}
		}
		st, err := sqlite.OpenURL(ctx, u)
		if err != nil {
			return nil, err // open sqlite store "PATH": …
		}
		return st, nil
	case strings.HasPrefix(u, "redis://"), strings.HasPrefix(u, "rediss://"):
		// go-redis prints pool errors with the standard logger; during an
		// outage that floods stderr past --log-format. The store's own
		// errors say what matters, so its chatter goes to debug.
		goredis.SetLogger(goredisLog{log})
		st, err := redis.OpenURL(ctx, u, redis.Options{
			Seen: redis.SeenOptions{
				Kind:      cfg.Crawl.Seen.Kind,
				Capacity:  cfg.Crawl.Seen.Capacity,
				ErrorRate: cfg.Crawl.Seen.ErrorRate,
			},
			Logger:    log,
			MustExist: mustExist,
		})
		if errors.Is(err, redis.ErrNoStore) {
			return nil, fmt.Errorf("%w (%s)", err, noStoreHint) // err names the URL and key prefix
		}
		if errors.Is(err, redis.ErrUnreachable) {
			// The store's error names the address three times (URL, "at",
			// dial): say it once, with the network's own reason.
			msg := fmt.Sprintf("cannot reach Redis at %s (is redis-server running, and reachable from here?)", redisAddr(u))
			var op *net.OpError
			if errors.As(err, &op) && op.Err != nil {
				msg += ": " + op.Err.Error()
			}
			return nil, shownError{msg, err}
		}
		if err != nil {
			return nil, err // open redis store URL: …
		}
		return st, nil
	}
	return nil, usagef("store %q: want sqlite:PATH, redis://HOST:PORT/DB or rediss://…", u)
}

// shownError shows msg but unwraps to err (so errors.Is still finds
// redis.ErrUnreachable).
type shownError struct {
	msg string
	err error
}

func (e shownError) Error() string { return e.msg }
func (e shownError) Unwrap() error { return e.err }

// sqlitePath is the file of a sqlite: store URL, as sqlite.OpenURL reads it.
func sqlitePath(u string) string {
	path := strings.TrimPrefix(u, "sqlite:")
	if rest, ok := strings.CutPrefix(path, "//"); ok {
		path = rest
	}
	return path
}

// redactURL hides a password in a store URL before it is printed.
func redactURL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		return scheme + "://xxxxx@" + rest[at+1:]
	}
	return u
}

// redisAddr is the HOST:PORT of a redis:// store URL, for messages.
func redisAddr(u string) string {
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		return p.Host
	}
	return redactURL(u)
}

// Back-off between attempts to reach Redis at start.
const (
	connectRetryMin = 500 * time.Millisecond
	connectRetryMax = 10 * time.Second
)

// openStoreWait opens the store like openStore, but while Redis is
// unreachable it says so (naming the address) and tries again with
// back-off: for up to timeout, or until ctx ends when timeout is 0. Any
// other error (a bad URL, a refused password) is returned at once.
func openStoreWait(ctx context.Context, cfg *config.Config, log *slog.Logger, timeout time.Duration) (storage.Store, error) {
	start := time.Now()
	wait := connectRetryMin
	for attempt := 1; ; attempt++ {
		st, err := openStore(ctx, cfg, log)
		if err == nil {
			if attempt > 1 {
				log.Info("connected to Redis", "addr", redisAddr(cfg.Store), "attempts", attempt,
					"waited", time.Since(start).Round(time.Millisecond).String())
			}
			return st, nil
		}
		if !errors.Is(err, redis.ErrUnreachable) || ctx.Err() != nil {
			return nil, err
		}
		if timeout > 0 && time.Since(start) >= timeout {
			return nil, fmt.Errorf("%w; gave up after --connect-timeout %s", err, timeout)
		}
		if timeout > 0 {
			wait = min(wait, timeout-time.Since(start))
		}
		log.Warn(fmt.Sprintf("cannot reach Redis at %s; will retry in %s until it is up", redisAddr(cfg.Store), wait.Round(time.Millisecond)),
			"attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for Redis at %s: %w", redisAddr(cfg.Store), ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, connectRetryMax)
	}
}

// goredisLog sends go-redis's internal messages to slog at debug level.
type goredisLog struct{ log *slog.Logger }

func (l goredisLog) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "go-redis: "+fmt.Sprintf(format, v...))
}
