package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override: LOKERWATCH_<SECTION>_<KEY>,
// or LOKERWATCH_STORE for the top-level store.
const EnvPrefix = "LOKERWATCH_"

// FieldError is one problem with a config value, located in the file.
type FieldError struct {
	File  string // "" for defaults, "environment" for overrides
	Line  int    // 0 when unknown
	Field string // dotted path, e.g. crawl.host_delay or sources[2].type
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config; Load reports them all at once
// so a rule author fixes a file in one pass.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Default returns the configuration used when a key is not set.
func Default() *Config {
	return &Config{
		Store: "sqlite:./lokerwatch.db",
		Crawl: Crawl{
			UserAgent:       "lokerwatch/0.1 (+https://github.com/lokerwatch/lokerwatch)",
			Parallelism:     8,
			HostDelay:       Duration(time.Second),
			MaxDepth:        6,
			MaxBody:         5 << 20,
			Timeout:         Duration(30 * time.Second),
			Robots:          true,
			MaxCrawlDelay:   Duration(30 * time.Second),
			RobotsTTL:       Duration(24 * time.Hour),
			MaxAttempts:     4,
			Lease:           Duration(2 * time.Minute),
			Heartbeat:       Duration(5 * time.Second),
			MaxWorkerDeaths: 3,
			MaxRedirects:    5,
			MaxURLLength:    2048,
			Seen:            Seen{Kind: "exact", Capacity: 10_000_000, ErrorRate: 0.01},
		},
		Classify: Classify{Threshold: 50},
		Review: Review{
			Listen:     "127.0.0.1:8080",
			Lease:      Duration(10 * time.Minute),
			SessionTTL: Duration(12 * time.Hour),
			TokenTTL:   Duration(90 * 24 * time.Hour),
		},
		Evidence: Evidence{Retention: Retention{BenignDays: 30}},
		Notify: Notify{
			Telegram: TelegramBot{API: "https://api.telegram.org"},
			Queue:    1000, Workers: 2, MaxAttempts: 12,
			Backoff: Duration(2 * time.Second), MaxBackoff: Duration(10 * time.Minute), Timeout: Duration(10 * time.Second),
		},
	}
}

// Load reads a config file, applies environment overrides from environ
// (os.Environ() in the CLI) and validates the result. path "" means defaults
// plus environment only.
func Load(path string, environ []string) (*Config, error) {
	cfg := Default()
	var lines lineMap
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
		lines, err = decode(path, data, cfg)
		if err != nil {
			return nil, err
		}
		cfg.Path = path
	}
	if err := applyEnv(cfg, environ); err != nil {
		return nil, err
	}
	if errs := cfg.validate(path, lines); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// Parse is Load for config bytes already in memory; name is used in errors.
func Parse(name string, data []byte) (*Config, error) {
	cfg := Default()
	lines, err := decode(name, data, cfg)
	if err != nil {
		return nil, err
	}
	cfg.Path = name
	if errs := cfg.validate(name, lines); len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// lineMap maps a dotted field path to the line it is written on.
type lineMap map[string]int

// find returns the line of field, or of its nearest parent written in the
// file (a missing key is reported where its section is).
func (m lineMap) find(field string) int {
	for field != "" {
		if n, ok := m[field]; ok {
			return n
		}
		i := strings.LastIndexAny(field, ".[")
		if i < 0 {
			return 0
		}
		field = field[:i]
	}
	return 0
}

func decode(file string, data []byte, cfg *Config) (lineMap, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return lineMap{}, nil // empty file: defaults
		}
		return nil, yamlError(file, err)
	}
	if len(doc.Content) == 0 {
		return lineMap{}, nil
	}
	root := doc.Content[0]
	lines := lineMap{}
	var errs Errors
	checkKeys(file, root, reflect.TypeOf(Config{}), "", lines, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := root.Decode(cfg); err != nil {
		return nil, yamlError(file, err)
	}
	for i := range cfg.Sources {
		cfg.Sources[i].Line = lines[fmt.Sprintf("sources[%d]", i)]
	}
	for i := range cfg.Notify.Rules {
		cfg.Notify.Rules[i].Line = lines[fmt.Sprintf("notify.rules[%d]", i)]
	}
	return lines, nil
}

var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns yaml.v3's messages ("yaml: line 3: …") into file:line form.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var errs Errors
		for _, m := range te.Errors {
			errs = append(errs, lineErr(file, m))
		}
		return errs
	}
	return Errors{lineErr(file, err.Error())}
}

func lineErr(file, msg string) *FieldError {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &FieldError{File: file, Line: n, Msg: m[2]}
	}
	return &FieldError{File: file, Msg: msg}
}

// checkKeys walks the YAML tree beside the Go type, records where each field
// is written and reports keys the schema does not know.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string, lines lineMap, errs *Errors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t.Kind() == reflect.Struct && t != reflect.TypeOf(time.Time{}):
		if n.Kind != yaml.MappingNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			*errs = append(*errs, &FieldError{File: file, Line: n.Line, Field: trimPath(path), Msg: fmt.Sprintf("want a mapping of keys, got %s", nodeKind(n))})
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "." + k.Value
			lines[trimPath(p)] = k.Line
			f, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, &FieldError{File: file, Line: k.Line, Field: trimPath(p),
					Msg: fmt.Sprintf("unknown key (known keys: %s)", strings.Join(sortedKeys(fields), ", "))})
				continue
			}
			checkKeys(file, v, f.Type, p, lines, errs)
		}
	case t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8:
		if n.Kind != yaml.SequenceNode {
			if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
				return
			}
			*errs = append(*errs, &FieldError{File: file, Line: n.Line, Field: trimPath(path), Msg: fmt.Sprintf("want a list, got %s", nodeKind(n))})
			return
		}
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			lines[trimPath(p)] = c.Line
			checkKeys(file, c, t.Elem(), p, lines, errs)
		}
	}
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func trimPath(p string) string { return strings.TrimPrefix(p, ".") }

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	m := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

func sortedKeys(m map[string]reflect.StructField) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// applyEnv sets LOKERWATCH_<SECTION>_<KEY> overrides on scalar and list
// fields. An unknown LOKERWATCH_ variable is an error, as an unknown key is.
func applyEnv(cfg *Config, environ []string) error {
	var errs Errors
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		key := strings.ToLower(strings.TrimPrefix(name, EnvPrefix))
		field, path, ok := envField(root, key)
		if !ok {
			errs = append(errs, &FieldError{File: "environment", Field: name, Msg: "unknown setting (want LOKERWATCH_<SECTION>_<KEY>, e.g. LOKERWATCH_CRAWL_PARALLELISM)"})
			continue
		}
		if err := setScalar(field, val); err != nil {
			errs = append(errs, &FieldError{File: "environment", Field: name + " (" + path + ")", Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// envField finds the field for "crawl_host_delay": a top-level scalar
// ("store") or a section followed by a key, descending into nested
// sections (crawl_seen_kind, evidence_retention_benign_days).
func envField(v reflect.Value, key string) (reflect.Value, string, bool) {
	t := v.Type()
	for name, f := range yamlFields(t) {
		fv := v.FieldByIndex(f.Index)
		if key == name && isScalarish(fv) {
			return fv, name, true
		}
		if strings.HasPrefix(key, name+"_") && fv.Kind() == reflect.Struct {
			if inner, p, ok := envField(fv, strings.TrimPrefix(key, name+"_")); ok {
				return inner, name + "." + p, true
			}
		}
	}
	return reflect.Value{}, "", false
}

func isScalarish(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Float64, reflect.Bool:
		return true
	case reflect.Slice:
		return v.Type().Elem().Kind() == reflect.String
	}
	return false
}

func setScalar(v reflect.Value, s string) error {
	// Decode through YAML so env values take the same syntax as the file
	// ("500ms", "5MiB", "true").
	var node yaml.Node
	if v.Kind() == reflect.Slice {
		var items []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				items = append(items, p)
			}
		}
		v.Set(reflect.ValueOf(items).Convert(v.Type()))
		return nil
	}
	node = yaml.Node{Kind: yaml.ScalarNode, Value: s}
	if v.Kind() == reflect.String {
		node.Tag = "!!str"
	}
	return node.Decode(v.Addr().Interface())
}

// UnmarshalYAML accepts Go durations ("500ms", "1h30m") and plain seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if s == "" || s == "0" {
		*d = 0
		return nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		*d = Duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 500ms, 30s, 1h)", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration the way it is read.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d Duration) String() string { return time.Duration(d).String() }

var sizeRe = regexp.MustCompile(`^(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)([bB]?)$`)

// ParseByteSize reads 5MiB, 512KB, 1.5GiB, 1048576.
func ParseByteSize(s string) (ByteSize, error) {
	m := sizeRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (e.g. 5MiB, 512KB, 1048576)", s)
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: %w", s, err)
	}
	base := 1000.0
	if m[3] == "i" {
		base = 1024
	}
	pow := strings.Index("kmgt", strings.ToLower(m[2])) + 1
	if m[2] == "" {
		pow = 0
	}
	for i := 0; i < pow; i++ {
		n *= base
	}
	return ByteSize(n), nil
}

// UnmarshalYAML accepts sizes with units.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes the size in bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// validate checks values; every error names the file, line and field.
func (c *Config) validate(file string, lines lineMap) Errors {
	var errs Errors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{File: file, Line: lines.find(field), Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !strings.HasPrefix(c.Store, "sqlite:") && !strings.HasPrefix(c.Store, "redis://") && !strings.HasPrefix(c.Store, "rediss://") {
		bad("store", "%q is not a store URL (want sqlite:PATH, redis://HOST:PORT/DB or rediss://…)", c.Store)
	}
	cr := c.Crawl
	if cr.UserAgent == "" {
		bad("crawl.user_agent", "must not be empty: sites need to know who is crawling")
	}
	if cr.Parallelism < 1 || cr.Parallelism > 1024 {
		bad("crawl.parallelism", "%d is out of range (1–1024)", cr.Parallelism)
	}
	if cr.HostDelay < 0 {
		bad("crawl.host_delay", "must not be negative")
	}
	if cr.MaxDepth < 0 {
		bad("crawl.max_depth", "must not be negative")
	}
	if cr.MaxPages < 0 {
		bad("crawl.max_pages", "must not be negative (0 means no limit)")
	}
	if cr.MaxBody <= 0 {
		bad("crawl.max_body", "must be positive, e.g. 5MiB")
	}
	if cr.Timeout <= 0 {
		bad("crawl.timeout", "must be positive, e.g. 30s")
	}
	if cr.MaxAttempts < 1 {
		bad("crawl.max_attempts", "must be at least 1")
	}
	if cr.Lease < Duration(time.Second) {
		bad("crawl.lease", "must be at least 1s")
	}
	if cr.Heartbeat < Duration(time.Second) || cr.Heartbeat > cr.Lease {
		bad("crawl.heartbeat", "must be at least 1s and at most crawl.lease")
	}
	if cr.MaxWorkerDeaths < 1 {
		bad("crawl.max_worker_deaths", "must be at least 1")
	}
	if cr.MaxRedirects < 0 {
		bad("crawl.max_redirects", "must not be negative")
	}
	if cr.MaxURLLength < 16 {
		bad("crawl.max_url_length", "must be at least 16")
	}
	for i, a := range cr.AllowPrivate {
		if err := checkAllow(a); err != nil {
			bad(fmt.Sprintf("crawl.allow_private[%d]", i), "%v", err)
		}
	}
	switch cr.Seen.Kind {
	case "exact", "bloom":
	default:
		bad("crawl.seen.kind", "%q is not exact or bloom", cr.Seen.Kind)
	}
	if cr.Seen.Kind == "bloom" {
		if cr.Seen.Capacity < 1 {
			bad("crawl.seen.capacity", "must be positive")
		}
		if cr.Seen.ErrorRate <= 0 || cr.Seen.ErrorRate >= 1 {
			bad("crawl.seen.error_rate", "must be between 0 and 1, e.g. 0.01")
		}
	}
	names := map[string]int{}
	for i, s := range c.Sources {
		at := fmt.Sprintf("sources[%d]", i)
		if s.Name == "" {
			bad(at+".name", "every source needs a name")
		} else if j, dup := names[s.Name]; dup {
			bad(at+".name", "%q is also the name of sources[%d]", s.Name, j)
		} else {
			names[s.Name] = i
		}
		switch s.Type {
		case lokerwatch.SourceJobBoard, lokerwatch.SourceTelegram, lokerwatch.SourceRSS, lokerwatch.SourceHTML:
		default:
			bad(at+".type", "unknown source type %q (want jobboard, telegram, rss or html)", s.Type)
		}
		if len(s.Seeds) == 0 {
			bad(at+".seeds", "needs at least one seed URL")
		}
		for j, seed := range s.Seeds {
			u, err := url.Parse(seed)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(fmt.Sprintf("%s.seeds[%d]", at, j), "%q is not an http(s) URL", seed)
			}
		}
		for j, f := range s.Follow {
			if _, err := regexp.Compile(f); err != nil {
				bad(fmt.Sprintf("%s.follow[%d]", at, j), "bad pattern: %v", err)
			}
		}
		if s.Type == lokerwatch.SourceHTML {
			if s.Profile == nil || s.Profile.Item == "" || s.Profile.Text == "" {
				bad(at+".profile", "html sources need a profile with at least item and text selectors")
			}
		} else if s.Profile != nil {
			bad(at+".profile", "profile is only for html sources")
		}
		if s.Every < 0 {
			bad(at+".every", "must not be negative")
		}
		if s.AdEvery < 0 {
			bad(at+".ad_every", "must not be negative")
		}
	}
	if c.Classify.Threshold < 0 || c.Classify.Threshold > 100 {
		bad("classify.threshold", "%d is out of range (0–100)", c.Classify.Threshold)
	}
	for cur, r := range c.Classify.Rates {
		if r <= 0 {
			bad("classify.rates."+cur, "rate must be positive")
		}
	}
	if t := c.Review.TokenTTL; t < Duration(time.Minute) || t > Duration(10*365*24*time.Hour) {
		bad("review.token_ttl", "must be between 1m and 87600h (10 years)")
	}
	for i, p := range c.Review.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad(fmt.Sprintf("review.trusted_proxies[%d]", i), "%q is neither an IP address nor a CIDR", p)
			}
		}
	}
	if c.Review.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Review.Listen); err != nil {
			bad("review.listen", "%q is not host:port", c.Review.Listen)
		}
	}
	if c.Evidence.Retention.BenignDays < 0 {
		bad("evidence.retention.benign_days", "must not be negative")
	}
	c.Notify.validate(bad)
	return errs
}

// validate checks the notify section (notify.go in package notify reads it).
func (n *Notify) validate(bad func(field, format string, args ...any)) {
	used := map[string]bool{}
	names := map[string]int{}
	for i, r := range n.Rules {
		at := fmt.Sprintf("notify.rules[%d]", i)
		if r.Name == "" {
			bad(at+".name", "every rule needs a name (it is shown in the alert)")
		} else if j, dup := names[r.Name]; dup {
			bad(at+".name", "%q is also the name of notify.rules[%d]", r.Name, j)
		} else {
			names[r.Name] = i
		}
		if r.MinScore < 0 || r.MinScore > 100 {
			bad(at+".min_score", "%d is out of range (0–100)", r.MinScore)
		}
		for j, c := range r.Categories {
			switch c {
			case lokerwatch.CategoryScam, lokerwatch.CategoryNonprocedural, lokerwatch.CategoryTrafficking:
			default:
				bad(fmt.Sprintf("%s.categories[%d]", at, j), "unknown category %q (want scam, nonprocedural or trafficking)", c)
			}
		}
		if len(r.To) == 0 {
			bad(at+".to", "name at least one channel: webhook or telegram")
		}
		for j, to := range r.To {
			switch to {
			case "webhook", "telegram":
				used[to] = true
			default:
				bad(fmt.Sprintf("%s.to[%d]", at, j), "unknown channel %q (want webhook or telegram)", to)
			}
		}
	}
	if w := n.Webhook; used["webhook"] || w.URL != "" {
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("notify.webhook.url", "%q is not an http(s) URL", w.URL)
		}
		if len(w.Secret) < 16 {
			bad("notify.webhook.secret", "needs a secret of at least 16 characters to sign with (or LOKERWATCH_NOTIFY_WEBHOOK_SECRET)")
		}
	}
	if tg := n.Telegram; used["telegram"] || tg.Token != "" || tg.ChatID != "" {
		if u, err := url.Parse(tg.API); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("notify.telegram.api", "%q is not an http(s) URL", tg.API)
		}
		if tg.Token == "" || strings.ContainsAny(tg.Token, "/?# ") {
			bad("notify.telegram.token", "needs the bot token from @BotFather (or LOKERWATCH_NOTIFY_TELEGRAM_TOKEN)")
		}
		if tg.ChatID == "" {
			bad("notify.telegram.chat_id", "needs the chat to write to (a chat ID such as -1001234567890, or @channelname)")
		}
	}
	if n.Queue < 1 {
		bad("notify.queue", "must be at least 1")
	}
	if n.Workers < 1 || n.Workers > 64 {
		bad("notify.workers", "%d is out of range (1–64)", n.Workers)
	}
	if n.MaxAttempts < 1 {
		bad("notify.max_attempts", "must be at least 1")
	}
	if n.Backoff <= 0 || n.MaxBackoff < n.Backoff {
		bad("notify.backoff", "must be positive and at most notify.max_backoff")
	}
	if n.Timeout <= 0 {
		bad("notify.timeout", "must be positive, e.g. 10s")
	}
}

// checkAllow accepts a host, host:port or CIDR.
func checkAllow(a string) error {
	if a == "" {
		return errors.New("empty entry")
	}
	if strings.Contains(a, "/") {
		if _, _, err := net.ParseCIDR(a); err != nil {
			return fmt.Errorf("%q is not a CIDR: %v", a, err)
		}
		return nil
	}
	if h, p, err := net.SplitHostPort(a); err == nil {
		if h == "" {
			return fmt.Errorf("%q has no host", a)
		}
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q has a bad port", a)
		}
		return nil
	}
	if strings.ContainsAny(a, " \t:@?#") && net.ParseIP(a) == nil {
		return fmt.Errorf("%q is not a host, host:port or CIDR", a)
	}
	return nil
}
