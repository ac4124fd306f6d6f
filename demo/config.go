package demo

import (
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

// Config returns the crawl configuration for the sample web served at
// baseURL (e.g. "http://127.0.0.1:40123"): the four sources of the example
// config in the README, robots.txt obeyed, loopback allowed, and a short
// host delay so the demo takes a second or two.
func Config(baseURL string) *config.Config {
	base := strings.TrimRight(baseURL, "/")
	cfg := config.Default()
	cfg.Crawl.HostDelay = config.Duration(20 * time.Millisecond)
	cfg.Crawl.Timeout = config.Duration(10 * time.Second)
	cfg.Crawl.Parallelism = 4
	cfg.Crawl.MaxDepth = 6
	cfg.Crawl.Robots = true
	cfg.Crawl.AllowPrivate = []string{"127.0.0.1"}
	cfg.Sources = []config.Source{
		{
			Name:   SourceBoard,
			Type:   lokerwatch.SourceJobBoard,
			Seeds:  []string{base + "/jobs?page=1"},
			Follow: []string{`/jobs\?page=`, `/job/`},
		},
		{
			Name:  SourceChannel,
			Type:  lokerwatch.SourceTelegram,
			Seeds: []string{base + "/s/" + channelName},
		},
		{
			Name:  SourceClassifieds,
			Type:  lokerwatch.SourceRSS,
			Seeds: []string{base + "/feed.xml"},
		},
		{
			Name:  SourceForum,
			Type:  lokerwatch.SourceHTML,
			Seeds: []string{base + "/forum?page=1"},
			Profile: &config.Profile{
				Item: "div.post", Title: ".post-title", Text: ".post-body", Link: "a.permalink", Next: "a.next",
			},
		},
	}
	cfg.Classify.Threshold = 50
	return cfg
}
