// Package config owns the YAML schema of lokerwatch.yaml: defaults,
// LOKERWATCH_<SECTION>_<KEY> environment overrides, and validation whose
// errors name the file, line and field.
package config

import (
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// Config is the whole configuration file.
type Config struct {
	Store    string   `yaml:"store"`
	Crawl    Crawl    `yaml:"crawl"`
	Sources  []Source `yaml:"sources"`
	Classify Classify `yaml:"classify"`
	Review   Review   `yaml:"review"`
	Evidence Evidence `yaml:"evidence"`
	Notify   Notify   `yaml:"notify"`

	// Path is the file the config was loaded from ("" for defaults).
	Path string `yaml:"-"`
}

// Crawl holds fetch and politeness settings.
type Crawl struct {
	UserAgent   string   `yaml:"user_agent"`
	Parallelism int      `yaml:"parallelism"` // concurrent fetches per process
	HostDelay   Duration `yaml:"host_delay"`  // minimum time between two fetches of one host
	MaxDepth    int      `yaml:"max_depth"`   // hops from the listing (its own pages are depth 0); 0 = seeds only
	MaxPages    int      `yaml:"max_pages"`   // pages fetched per crawl; 0 = no limit
	MaxBody     ByteSize `yaml:"max_body"`    // response body limit, after decompression
	Timeout     Duration `yaml:"timeout"`     // whole request, headers and body
	Robots      bool     `yaml:"robots"`      // obey robots.txt (and Crawl-delay)
	// AllowPrivate lists hosts, host:port or CIDRs that may resolve to
	// loopback or private addresses (everything else private is refused).
	AllowPrivate []string `yaml:"allow_private"`

	MaxCrawlDelay Duration `yaml:"max_crawl_delay"` // cap on robots.txt Crawl-delay
	RobotsTTL     Duration `yaml:"robots_ttl"`      // how long a robots.txt answer is cached
	MaxAttempts   int      `yaml:"max_attempts"`    // tries before a URL is dead
	Lease         Duration `yaml:"lease"`           // frontier lease, extended while fetching
	// Heartbeat is how long a worker counts as alive after its last beat
	// (it beats every third of it); when it lapses, its leases come back
	// to the queue at once, whatever their own length.
	Heartbeat Duration `yaml:"heartbeat"`
	// MaxWorkerDeaths: a URL being fetched when its worker died this many
	// times goes to the dead letters.
	MaxWorkerDeaths int  `yaml:"max_worker_deaths"`
	MaxRedirects    int  `yaml:"max_redirects"`
	MaxURLLength    int  `yaml:"max_url_length"`
	PagesPerHost    int  `yaml:"pages_per_host"` // 0 = no limit
	Seen            Seen `yaml:"seen"`
}

// Seen chooses how the frontier remembers URLs.
type Seen struct {
	Kind      string  `yaml:"kind"`       // exact or bloom (Redis store only)
	Capacity  int64   `yaml:"capacity"`   // bloom: expected URLs
	ErrorRate float64 `yaml:"error_rate"` // bloom: false-positive rate
}

// Source is one place to crawl.
type Source struct {
	Name    string                `yaml:"name"`
	Type    lokerwatch.SourceType `yaml:"type"`
	Seeds   []string              `yaml:"seeds"`
	Follow  []string              `yaml:"follow"`  // regexps; links matching one are followed
	Profile *Profile              `yaml:"profile"` // html sources only
	Every   Duration              `yaml:"every"`   // recrawl listing pages this often; 0 = once
	// AdEvery revisits ad pages (followed links) this often, with a
	// conditional request, so that an ad edited in place is seen; 0 = never.
	AdEvery Duration `yaml:"ad_every"`

	// Line is where the source starts in the file, for error messages.
	Line int `yaml:"-"`
}

// Profile is a site profile of CSS selectors for html sources.
type Profile struct {
	Item  string `yaml:"item"`  // one element per ad
	Title string `yaml:"title"` // inside item
	Text  string `yaml:"text"`  // inside item
	Link  string `yaml:"link"`  // inside item: permalink (href)
	Next  string `yaml:"next"`  // on the page: next page link (href)
}

// Classify holds detection settings.
type Classify struct {
	Threshold int    `yaml:"threshold"` // score at or above which an ad is flagged
	Rules     string `yaml:"rules"`     // directory of extra rule/lexicon YAML files
	Registry  string `yaml:"registry"`  // licensed agencies (YAML or CSV)
	// Model is a model file written by `lokerwatch train`; empty means the
	// embedded default model.
	Model string `yaml:"model"`
	// Rates converts foreign currencies to rupiah (code -> IDR per unit),
	// overriding the built-in defaults.
	Rates map[string]float64 `yaml:"rates"`
}

// Review holds the review desk settings.
type Review struct {
	Listen     string   `yaml:"listen"`
	Lease      Duration `yaml:"lease"`       // how long a claim holds without renewal
	SessionTTL Duration `yaml:"session_ttl"` // browser session lifetime
	// TokenTTL is the lifetime of new API tokens (default 90 days).
	TokenTTL Duration `yaml:"token_ttl"`
	// TrustedProxies are addresses or CIDRs of reverse proxies whose
	// X-Forwarded-For is believed; empty: the TCP peer is the client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Evidence holds capture and export settings.
type Evidence struct {
	SigningKey string    `yaml:"signing_key"` // PEM private key for export signatures
	Retention  Retention `yaml:"retention"`
}

// Retention says how long captures are kept.
type Retention struct {
	// BenignDays keeps captures of ads decided benign this many days;
	// other captures are kept until exported and released.
	BenignDays int `yaml:"benign_days"`
}

// Duration is a time.Duration written as "500ms", "1h".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ByteSize is a size written as 5MiB, 512KB or a plain number of bytes.
type ByteSize int64

// Notify sends on-call alerts for review items (package notify): a rule
// picks items by score, category and source and names the channels.
type Notify struct {
	Rules    []NotifyRule `yaml:"rules"`
	Webhook  Webhook      `yaml:"webhook"`
	Telegram TelegramBot  `yaml:"telegram"`
	// DeskURL is the review desk's public base URL, for links in alerts
	// (e.g. https://desk.example.org); empty: no link.
	DeskURL string `yaml:"desk_url"`
	// Queue bounds the in-memory queue of alerts waiting for a sender;
	// when it is full, alerts wait in the store's outbox instead.
	Queue       int      `yaml:"queue"`
	Workers     int      `yaml:"workers"`      // concurrent senders per process
	MaxAttempts int      `yaml:"max_attempts"` // tries before an alert is given up
	Backoff     Duration `yaml:"backoff"`      // wait after the first failure, doubling
	MaxBackoff  Duration `yaml:"max_backoff"`  // cap on the wait
	Timeout     Duration `yaml:"timeout"`      // one delivery request
}

// NotifyRule selects review items to announce. Empty lists match all.
type NotifyRule struct {
	Name       string                `yaml:"name"`
	MinScore   int                   `yaml:"min_score"`  // score at or above
	Categories []lokerwatch.Category `yaml:"categories"` // scam, nonprocedural, trafficking
	Sources    []string              `yaml:"sources"`    // source names
	To         []string              `yaml:"to"`         // webhook, telegram

	// Line is where the rule starts in the file, for error messages.
	Line int `yaml:"-"`
}

// Webhook is a URL that receives a signed JSON POST per alert.
type Webhook struct {
	URL string `yaml:"url"`
	// Secret keys the HMAC-SHA256 signature (LOKERWATCH_NOTIFY_WEBHOOK_SECRET).
	Secret string `yaml:"secret"`
}

// TelegramBot sends alerts as Telegram Bot API messages.
type TelegramBot struct {
	// API is the Bot API base URL (default https://api.telegram.org).
	API string `yaml:"api"`
	// Token is the bot token (LOKERWATCH_NOTIFY_TELEGRAM_TOKEN); it is a
	// secret and never logged.
	Token  string `yaml:"token"`
	ChatID string `yaml:"chat_id"` // a chat ID (-100…) or @channelname
}
