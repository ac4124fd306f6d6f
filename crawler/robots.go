package crawler

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/temoto/robotstxt"

	"github.com/lokerwatch/lokerwatch/storage"
)

const (
	maxRobotsBody = 512 << 10 // Google reads the first 500 KiB
	// robotsErrorTTL is how long a 5xx robots.txt answer is kept before the
	// host is asked again; the host rests as long, so the retries of its
	// URLs (which count towards max_attempts) are spread over a while
	// rather than spent in seconds.
	robotsErrorTTL = 5 * time.Minute
	// robotsLocalTTL bounds how long this process trusts its in-memory copy
	// of a store entry, so a robots.txt refreshed by another worker is seen.
	robotsLocalTTL = time.Minute
)

// errRobotsUnavailable means robots.txt could not be read for now (server
// error, network failure): the request is retried later, not dropped.
var errRobotsUnavailable = errors.New("robots.txt unavailable")

// robotsStatusError is a robots.txt answered with a server error (it is
// errRobotsUnavailable; the status tells the fetch outcome).
type robotsStatusError struct{ status int }

func (e *robotsStatusError) Error() string {
	return fmt.Sprintf("%v: HTTP %d", errRobotsUnavailable, e.status)
}

func (e *robotsStatusError) Unwrap() error { return errRobotsUnavailable }

// robotsRules is a host's parsed robots.txt.
type robotsRules struct {
	data   *robotstxt.RobotsData
	status int
	until  time.Time // local expiry
	// fetched is when this process fetched robots.txt from the host (zero
	// when it came from the store): that fetch counts towards host_delay.
	fetched time.Time
}

// robots answers "may this URL be fetched, and how slowly" from robots.txt,
// cached in the store (shared by all workers, TTL crawl.robots_ttl) and in
// memory for a short while.
type robots struct {
	store    storage.RobotsCache
	agent    string // product token matched against User-agent lines
	ttl      time.Duration
	maxDelay time.Duration
	fetch    func(ctx context.Context, u string) (status int, body []byte, err error)

	mu    sync.Mutex
	local map[string]*robotsRules
	// inflight collapses concurrent fetches of one host's robots.txt.
	inflight map[string]*sync.WaitGroup
}

// agentToken is the product name robots.txt groups are matched against:
// "lokerwatch/0.1 (+https://…)" -> "lokerwatch".
func agentToken(ua string) string {
	tok := strings.Fields(ua)
	if len(tok) == 0 {
		return "*"
	}
	name, _, _ := strings.Cut(tok[0], "/")
	return strings.ToLower(name)
}

// robotsKey is the cache key of a URL's robots.txt: scheme://host[:port].
func robotsKey(u *url.URL) string { return u.Scheme + "://" + u.Host }

// check reports whether u may be fetched and the Crawl-delay asked for
// (capped at maxDelay). errRobotsUnavailable means try again later.
func (r *robots) check(ctx context.Context, u *url.URL) (allowed bool, delay time.Duration, err error) {
	rules, err := r.rules(ctx, u)
	if err != nil {
		return false, 0, err
	}
	if rules.status >= 500 {
		return false, 0, &robotsStatusError{status: rules.status}
	}
	g := rules.data.FindGroup(r.agent)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	delay = g.CrawlDelay
	if r.maxDelay > 0 && (delay > r.maxDelay || delay < 0) {
		// Negative only when a huge value overflowed: the site wants it slow.
		delay = r.maxDelay
	}
	if delay < 0 {
		delay = 0
	}
	return g.Test(path), delay, nil
}

func (r *robots) rules(ctx context.Context, u *url.URL) (*robotsRules, error) {
	key := robotsKey(u)
	for {
		r.mu.Lock()
		if rr, ok := r.local[key]; ok && time.Now().Before(rr.until) {
			r.mu.Unlock()
			return rr, nil
		}
		if wg, ok := r.inflight[key]; ok {
			r.mu.Unlock()
			wg.Wait()
			continue
		}
		wg := &sync.WaitGroup{}
		wg.Add(1)
		r.inflight[key] = wg
		r.mu.Unlock()

		rr, err := r.load(ctx, key)

		r.mu.Lock()
		delete(r.inflight, key)
		if err == nil {
			r.local[key] = rr
		}
		r.mu.Unlock()
		wg.Done()
		return rr, err
	}
}

// load reads robots.txt from the store, or fetches and stores it.
func (r *robots) load(ctx context.Context, key string) (*robotsRules, error) {
	body, status, found, err := r.store.GetRobots(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("robots cache %s: %w", key, err)
	}
	var fetched time.Time
	if !found {
		status, body, err = r.fetch(ctx, key+"/robots.txt")
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%w: %s/robots.txt: %w", errRobotsUnavailable, key, err)
		}
		ttl := r.ttl
		if status >= 500 || status == http.StatusTooManyRequests {
			status = http.StatusServiceUnavailable
			ttl = min(ttl, robotsErrorTTL)
		}
		fetched = time.Now()
		if err := r.store.PutRobots(ctx, key, body, status, ttl); err != nil {
			return nil, fmt.Errorf("robots cache %s: %w", key, err)
		}
	}
	return &robotsRules{data: parseRobots(status, body), status: status, until: time.Now().Add(min(robotsLocalTTL, r.ttl)), fetched: fetched}, nil
}

// fetchedAt is when this process last fetched u's robots.txt from the host
// (zero if it came from the store or is not cached here).
func (r *robots) fetchedAt(u *url.URL) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rr, ok := r.local[robotsKey(u)]; ok {
		return rr.fetched
	}
	return time.Time{}
}

// parseRobots reads a robots.txt answer the way Google does: 2xx is parsed,
// 4xx (none) allows everything, 5xx disallows everything for now. Lines the
// parser rejects are dropped and the rest kept, so one bad line does not
// throw away the Disallow rules around it.
func parseRobots(status int, body []byte) *robotstxt.RobotsData {
	if status >= 300 && status < 400 {
		// Redirects are followed by the fetcher; one left here went nowhere.
		status = http.StatusNotFound
	}
	if status < 200 || status >= 600 {
		status = http.StatusServiceUnavailable
	}
	if len(body) > maxRobotsBody {
		body = body[:maxRobotsBody]
	}
	d, err := robotstxt.FromStatusAndBytes(status, body)
	if err == nil {
		return d
	}
	var kept bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 4096), maxRobotsBody)
	agent := false
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "user-agent":
			agent = true
		case "allow", "disallow":
			if !agent {
				continue // rules outside a group apply to no one
			}
		case "crawl-delay":
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if !agent || err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
				continue
			}
		case "sitemap":
		default:
			continue
		}
		kept.WriteString(line)
		kept.WriteByte('\n')
	}
	if d, err := robotstxt.FromBytes(kept.Bytes()); err == nil {
		return d
	}
	d, _ = robotstxt.FromStatusAndBytes(http.StatusNotFound, nil)
	return d
}

// readRobots fetches robots.txt with the crawler's client (same guard,
// same user agent, same limits as every other fetch).
func readRobots(client *http.Client, userAgent string) func(ctx context.Context, u string) (int, []byte, error) {
	return func(ctx context.Context, u string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("User-Agent", userAgent)
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(io.LimitReader(res.Body, maxRobotsBody))
		if err != nil {
			return 0, nil, err
		}
		return res.StatusCode, body, nil
	}
}
