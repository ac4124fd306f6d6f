package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// openStore opens the store named by cfg.Store. A URL with an unknown scheme
// is a usage error; one that cannot be opened is a runtime error.
func openStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (storage.Store, error) {
	u := cfg.Store
	switch {
	case strings.HasPrefix(u, "sqlite:"):
		st, err := sqlite.OpenURL(ctx, u)
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", u, err)
		}
		return st, nil
	case strings.HasPrefix(u, "redis://"), strings.HasPrefix(u, "rediss://"):
		st, err := redis.OpenURL(ctx, u, redis.Options{
			Seen: redis.SeenOptions{
				Kind:      cfg.Crawl.Seen.Kind,
				Capacity:  cfg.Crawl.Seen.Capacity,
				ErrorRate: cfg.Crawl.Seen.ErrorRate,
			},
			Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("open store %s: %w", redactURL(u), err)
		}
		return st, nil
	}
	return nil, usagef("store %q: want sqlite:PATH, redis://HOST:PORT/DB or rediss://…", u)
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
