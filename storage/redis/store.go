// Package redis is the distributed store: every storage interface on one
// Redis (github.com/redis/go-redis/v9), so that many workers on many
// machines share one crawl and one review desk.
//
// Every change that touches more than one key runs as a Lua script (or a
// WATCH/MULTI transaction for ads and evidence), so workers never race on
// read-modify-write. Scripts read the clock with redis TIME, so leases and
// host politeness do not depend on the workers' clocks. All keys start with
// a prefix (default "lw:"); scripts build keys from it, so the store needs
// one Redis primary (Redis Cluster is not supported).
package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// DefaultPrefix starts every key when Options.Prefix is empty.
const DefaultPrefix = "lw:"

// ErrUnreachable is wrapped into errors caused by Redis being down or
// unreachable, so a worker can tell an outage (log, back off, retry) from a
// refused operation.
var ErrUnreachable = errors.New("redis unreachable")

// Options tune the store. The zero value is usable.
type Options struct {
	// Prefix starts every key (default "lw:"); it overrides ?prefix= in the URL.
	Prefix string
	// Seen chooses how the frontier remembers URLs.
	Seen SeenOptions
	// Logger receives warnings (e.g. seen options that differ from the ones
	// the store was created with). Default: slog.Default().
	Logger *slog.Logger
	// TLSConfig replaces the default TLS settings of a rediss:// URL (to
	// trust a private CA or present a client certificate). The server name
	// defaults to the URL's host.
	TLSConfig *tls.Config
	// RetryBase and RetryMax shape the exponential back-off of failed
	// fetches: RetryBase·2^(attempts-1), at most RetryMax.
	// Defaults 1s and 1h.
	RetryBase, RetryMax time.Duration
	// MustExist makes OpenURL fail with ErrNoStore instead of creating a
	// store where the prefix holds no lokerwatch keys (commands that only
	// read a store must not leave an empty one behind a typo).
	MustExist bool
}

// ErrNoStore is returned by OpenURL with Options.MustExist when no
// lokerwatch store lives under the prefix.
var ErrNoStore = errors.New("no lokerwatch store there")

// Store implements storage.Store on Redis.
type Store struct {
	rdb    *goredis.Client
	addr   string
	prefix string
	log    *slog.Logger
	opts   Options

	seenMu sync.Mutex
	seen   *seenParams // read from / written to Redis on first use

	errs *prometheus.CounterVec // lokerwatch_redis_errors_total{op}

	urlIndex atomic.Int32 // adurl: 0 not looked at yet, 1 absent, 2 present
}

var _ storage.Store = (*Store)(nil)

// OpenURL connects to redis://[user:pass@]HOST:PORT/DB (rediss:// for TLS).
// The query may carry prefix=KEYPREFIX and any go-redis option
// (dial_timeout=3s, …). It checks that Redis answers and says clearly
// (naming the address) when it does not.
func OpenURL(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	ro, prefix, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = prefix
	}
	if opts.TLSConfig != nil {
		if ro.TLSConfig == nil {
			return nil, fmt.Errorf("redis store URL %s: TLS settings given for a plain redis:// URL (use rediss://)", redactURL(rawURL))
		}
		tc := opts.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = ro.TLSConfig.ServerName
		}
		ro.TLSConfig = tc
	}
	s := New(goredis.NewClient(ro), opts)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open redis store %s: %w", redactURL(rawURL), err)
	}
	if opts.MustExist {
		ok, err := s.exists(ctx)
		if err == nil && !ok {
			err = ErrNoStore
		}
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open redis store %s (key prefix %q): %w", redactURL(rawURL), s.prefix, err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open redis store %s: %w", redactURL(rawURL), err)
	}
	return s, nil
}

// exists reports whether a lokerwatch store lives under the prefix: its
// key-layout version key, or (a store from before that key) any key at all.
func (s *Store) exists(ctx context.Context) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.k("schema")).Result()
	if err != nil {
		return false, s.wrap("get key layout version", err)
	}
	if n > 0 {
		return true, nil
	}
	var cursor uint64
	for {
		keys, next, err := s.rdb.Scan(ctx, cursor, s.k("*"), 1000).Result()
		if err != nil {
			return false, s.wrap("scan keys", err)
		}
		if len(keys) > 0 {
			return true, nil
		}
		if next == 0 {
			return false, nil
		}
		cursor = next
	}
}

// parseURL turns a store URL into go-redis options and the key prefix.
func parseURL(rawURL string) (*goredis.Options, string, error) {
	shown := redactURL(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("redis store URL %s: %w", shown, err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", fmt.Errorf("redis store URL %s: scheme must be redis:// or rediss:// (TLS), got %q", shown, u.Scheme)
	}
	if u.Host == "" {
		return nil, "", fmt.Errorf("redis store URL %s: no host (want redis://[user:pass@]HOST:PORT/DB)", shown)
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return nil, "", fmt.Errorf("redis store URL %s: bad port %q", shown, p)
		}
	}
	q := u.Query()
	prefix := q.Get("prefix")
	q.Del("prefix")
	u.RawQuery = q.Encode()
	ro, err := goredis.ParseURL(u.String())
	if err != nil {
		// go-redis errors never include the password; ours never do either.
		return nil, "", fmt.Errorf("redis store URL %s: %w", shown, err)
	}
	return ro, prefix, nil
}

// redactURL hides the password of a store URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if err != nil {
			return "(unparsable URL)"
		}
		return raw
	}
	return u.Redacted()
}

// New wraps an existing go-redis client. The store owns it from then on
// (Close closes it).
func New(rdb *goredis.Client, opts Options) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RetryBase <= 0 {
		opts.RetryBase = time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = time.Hour
	}
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lokerwatch_redis_errors_total",
		Help: "Redis operations that failed (unreachable, out of memory, script errors), by operation.",
	}, []string{"op"})
	// The operations of a crawl and the review queue start at 0, so rate()
	// and the RedisErrors alert see a series before the first failure.
	for _, op := range []string{"add", "claim", "extend", "ack", "fail", "reap", "enqueue", "decide", "renew", "release", "put", "get", "list", "scan", "count", "append"} {
		errs.WithLabelValues(op)
	}
	return &Store{
		rdb:    rdb,
		addr:   rdb.Options().Addr,
		prefix: opts.Prefix,
		log:    opts.Logger,
		opts:   opts,
		errs:   errs,
	}
}

// Describe and Collect make the store a prometheus.Collector of its error
// counter, so a process registers it once it has opened the store.
func (s *Store) Describe(ch chan<- *prometheus.Desc) { s.errs.Describe(ch) }

// Collect implements prometheus.Collector.
func (s *Store) Collect(ch chan<- prometheus.Metric) { s.errs.Collect(ch) }

// countErr counts a failed operation. The label is the first word of the
// operation's description, which is always a literal verb in this package
// ("claim", "ack", "enqueue", …), so its values are bounded.
func (s *Store) countErr(op string) {
	verb, _, _ := strings.Cut(op, " ")
	s.errs.WithLabelValues(verb).Inc()
}

// Client returns the underlying go-redis client (for benchmarks and tools).
func (s *Store) Client() *goredis.Client { return s.rdb }

// Prefix returns the key prefix in use.
func (s *Store) Prefix() string { return s.prefix }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.wrap("ping", s.rdb.Ping(ctx).Err())
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.rdb.Close() }

func (s *Store) k(parts ...string) string { return s.prefix + strings.Join(parts, "") }

// Error codes returned by the Lua scripts (redis.error_reply).
const (
	codeNotFound    = "LW notfound"
	codeNotClaimant = "LW notclaimant"
	codeDecided     = "LW decided"
	codeLeaseLost   = "LW leaselost"
)

// wrap adds the operation to err and turns Redis and script errors into the
// lokerwatch sentinels or ErrUnreachable.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, goredis.Nil) {
		return fmt.Errorf("%s: %w", op, lokerwatch.ErrNotFound)
	}
	var re goredis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		for code, sentinel := range map[string]error{
			codeNotFound:    lokerwatch.ErrNotFound,
			codeNotClaimant: lokerwatch.ErrNotClaimant,
			codeDecided:     lokerwatch.ErrAlreadyDecided,
			codeLeaseLost:   lokerwatch.ErrLeaseLost,
		} {
			if strings.HasPrefix(msg, code) {
				return fmt.Errorf("%s: %w", op, sentinel)
			}
		}
		s.countErr(op)
		if strings.HasPrefix(msg, "LOADING") || strings.HasPrefix(msg, "MASTERDOWN") ||
			strings.HasPrefix(msg, "TRYAGAIN") || strings.HasPrefix(msg, "BUSY") {
			return fmt.Errorf("%s: %w at %s: %w", op, ErrUnreachable, s.addr, err)
		}
		return fmt.Errorf("%s: redis %s: %w", op, s.addr, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err) // the caller gave up; not an outage
	}
	s.countErr(op)
	if isNetErr(err) {
		return fmt.Errorf("%s: %w at %s: %w", op, ErrUnreachable, s.addr, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, goredis.ErrClosed) ||
		errors.Is(err, goredis.ErrPoolTimeout) || errors.Is(err, goredis.ErrPoolExhausted)
}

// ms converts a time to Unix milliseconds; zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts Unix milliseconds back; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
