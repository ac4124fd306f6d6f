package demo

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/temoto/robotstxt"
	"go.yaml.in/yaml/v3"

	"github.com/lokerwatch/lokerwatch/config"
)

// got is an ad as the test's own, independent extraction sees it.
type got struct {
	Path, Title, Text string
	Company, Posted   string
}

type siteClient struct {
	t    *testing.T
	srv  *httptest.Server
	hits map[string]int
}

func newSiteClient(t *testing.T) *siteClient {
	t.Helper()
	c := &siteClient{t: t, hits: map[string]int{}}
	site := Site()
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits[r.URL.Path]++
		site.ServeHTTP(w, r)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *siteClient) get(path string) (int, string, []byte) {
	c.t.Helper()
	resp, err := c.srv.Client().Get(c.srv.URL + path)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("GET %s: read body: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func (c *siteClient) doc(path string) *goquery.Document {
	c.t.Helper()
	status, ctype, body := c.get(path)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/html") {
		c.t.Fatalf("GET %s: status %d, content type %q", path, status, ctype)
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(string(body)))
	if err != nil {
		c.t.Fatalf("GET %s: parse HTML: %v", path, err)
	}
	return d
}

// local turns an absolute link on the test server into its path+query.
func (c *siteClient) local(href string) string {
	c.t.Helper()
	u, err := url.Parse(href)
	if err != nil {
		c.t.Fatalf("bad link %q: %v", href, err)
	}
	if u.Host != "" && "http://"+u.Host != c.srv.URL {
		c.t.Fatalf("link %q leaves the sample web", href)
	}
	return u.RequestURI()
}

var spaces = regexp.MustCompile(`\s+`)

func squash(s string) string { return strings.TrimSpace(spaces.ReplaceAllString(s, " ")) }

// htmlText turns an HTML fragment (a JSON-LD description) into plain text.
func htmlText(t *testing.T, frag string) string {
	d, err := goquery.NewDocumentFromReader(strings.NewReader("<div>" + frag + "</div>"))
	if err != nil {
		t.Fatalf("parse description: %v", err)
	}
	var parts []string
	d.Find("p").Each(func(_ int, s *goquery.Selection) { parts = append(parts, s.Text()) })
	return strings.Join(parts, " ")
}

func crawlBoard(c *siteClient) []got {
	t := c.t
	var out []got
	seenPage := map[string]bool{}
	for next := "/jobs?page=1"; next != ""; {
		if seenPage[next] {
			t.Fatalf("board pagination loops at %s", next)
		}
		seenPage[next] = true
		d := c.doc(next)
		d.Find("article.card h2 a").Each(func(_ int, a *goquery.Selection) {
			href, _ := a.Attr("href")
			jd := c.doc(c.local(href))
			var job map[string]any
			jd.Find(`script[type="application/ld+json"]`).Each(func(_ int, s *goquery.Selection) {
				var v map[string]any
				if err := json.Unmarshal([]byte(s.Text()), &v); err != nil {
					t.Errorf("%s: JSON-LD does not parse: %v", href, err)
					return
				}
				if v["@type"] == "JobPosting" {
					job = v
				}
			})
			if job == nil {
				t.Errorf("%s: no JobPosting", href)
				return
			}
			org, _ := job["hiringOrganization"].(map[string]any)
			title, _ := job["title"].(string)
			desc, _ := job["description"].(string)
			posted, _ := job["datePosted"].(string)
			company, _ := org["name"].(string)
			pageURL, _ := job["url"].(string)
			if c.local(pageURL) != c.local(href) {
				t.Errorf("%s: JobPosting url %q is not the page", href, pageURL)
			}
			if _, ok := job["baseSalary"].(map[string]any); !ok {
				t.Errorf("%s: no baseSalary", href)
			}
			out = append(out, got{Path: c.local(href), Title: title, Text: htmlText(t, desc), Company: company, Posted: posted})
		})
		next = ""
		if a := d.Find(`nav.pagination a[rel="next"]`); a.Length() > 0 {
			href, _ := a.Attr("href")
			next = c.local(href)
		}
	}
	return out
}

func crawlChannel(c *siteClient) []got {
	t := c.t
	var out []got
	seenPage := map[string]bool{}
	for next := "/s/" + channelName; next != ""; {
		if seenPage[next] {
			t.Fatalf("channel paging loops at %s", next)
		}
		seenPage[next] = true
		d := c.doc(next)
		d.Find(".tgme_widget_message").Each(func(_ int, m *goquery.Selection) {
			txt := m.Find(".tgme_widget_message_text")
			txt.Find("br").ReplaceWithHtml("\n")
			href, _ := m.Find("a.tgme_widget_message_date").Attr("href")
			when, _ := m.Find("time[datetime]").Attr("datetime")
			out = append(out, got{Path: c.local(href), Text: txt.Text(), Posted: when})
		})
		next = ""
		if href, ok := d.Find("a.tme_messages_more").Attr("href"); ok {
			next = c.local(href)
		}
	}
	return out
}

func crawlFeed(c *siteClient) []got {
	t := c.t
	status, ctype, body := c.get("/feed.xml")
	if status != http.StatusOK || !strings.Contains(ctype, "xml") {
		t.Fatalf("feed: status %d, content type %q", status, ctype)
	}
	var raw struct {
		Version string `xml:"version,attr"`
		Items   []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			PubDate     string `xml:"pubDate"`
		} `xml:"channel>item"`
	}
	if err := xml.Unmarshal(body, &raw); err != nil {
		t.Fatalf("feed does not parse: %v", err)
	}
	if raw.Version != "2.0" {
		t.Errorf("feed version %q, want 2.0", raw.Version)
	}
	var out []got
	for _, it := range raw.Items {
		if st, _, _ := c.get(c.local(it.Link)); st != http.StatusOK {
			t.Errorf("feed item link %s: status %d", it.Link, st)
		}
		out = append(out, got{Path: c.local(it.Link), Title: it.Title, Text: it.Description, Posted: it.PubDate})
	}
	return out
}

func crawlForum(c *siteClient) []got {
	t := c.t
	var out []got
	seenPage := map[string]bool{}
	for next := "/forum?page=1"; next != ""; {
		if seenPage[next] {
			t.Fatalf("forum paging loops at %s", next)
		}
		seenPage[next] = true
		d := c.doc(next)
		d.Find("div.post").Each(func(_ int, p *goquery.Selection) {
			href, _ := p.Find("a.permalink").Attr("href")
			out = append(out, got{Path: c.local(href), Title: p.Find(".post-title").Text(), Text: p.Find(".post-body").Text()})
		})
		next = ""
		if href, ok := d.Find("a.next").Attr("href"); ok {
			next = c.local(href)
		}
	}
	return out
}

// TestSiteServesEveryAdOnce walks the sample web the way each source type is
// meant to be crawled, with its own parsers, and checks that every manifest
// ad is found exactly once, with its text, on the source it belongs to.
func TestSiteServesEveryAdOnce(t *testing.T) {
	c := newSiteClient(t)
	found := map[string][]got{
		SourceBoard:       crawlBoard(c),
		SourceChannel:     crawlChannel(c),
		SourceClassifieds: crawlFeed(c),
		SourceForum:       crawlForum(c),
	}
	want := map[string]SampleAd{}
	for _, a := range Ads() {
		want[a.Source+" "+a.Path()] = a
	}
	seen := map[string]bool{}
	for src, gs := range found {
		for _, g := range gs {
			key := src + " " + g.Path
			a, ok := want[key]
			if !ok {
				t.Errorf("%s: found %s, which is not in the manifest", src, g.Path)
				continue
			}
			if seen[key] {
				t.Errorf("%s: %s found twice", src, g.Path)
			}
			seen[key] = true
			if g.Title != "" || a.Title != "" {
				if squash(g.Title) != squash(a.Title) {
					t.Errorf("%s: title %q, want %q", key, g.Title, a.Title)
				}
			}
			if squash(g.Text) != squash(strings.Join(a.Lines(), "\n")) {
				t.Errorf("%s: text\n%q\nwant\n%q", key, squash(g.Text), squash(a.Text))
			}
			if src == SourceChannel && strings.Count(g.Text, "\n") != len(a.Lines())-1 {
				t.Errorf("%s: message lines are not kept as <br> breaks: %q", key, g.Text)
			}
			if src == SourceBoard && g.Company != a.Company {
				t.Errorf("%s: hiringOrganization %q, want %q", key, g.Company, a.Company)
			}
			if src != SourceForum && g.Posted == "" {
				t.Errorf("%s: no date", key)
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s: in the manifest but not reachable on the site", key)
		}
	}
	if c.hits[DisallowedPath] != 0 {
		t.Errorf("walk fetched %s", DisallowedPath)
	}
}

func TestManifestMix(t *testing.T) {
	ads := Ads()
	if n := len(ads); n < 36 || n > 44 {
		t.Errorf("%d ads, want about 40", n)
	}
	count := map[string]int{}
	for _, a := range ads {
		count["source "+a.Source]++
		count["label "+a.Label]++
		count["kind "+a.Kind]++
		count["lang "+a.Lang]++
		if a.Label == LabelBenign && a.Kind != "offer" {
			count["warning or news"]++
		}
		if a.Label == LabelBenign && a.Kind == "offer" {
			count["benign offer"]++
		}
		if a.Label != LabelBenign && a.Kind == "offer" && a.Borderline {
			t.Errorf("%s: a harmful offer should be clear-cut, not borderline", a.ID)
		}
		if len(a.Why) == 0 {
			t.Errorf("%s: no why", a.ID)
		}
	}
	for _, k := range []string{
		"source board", "source channel", "source classifieds", "source forum",
		"label scam", "label nonprocedural", "label trafficking", "label benign",
		"lang id", "lang en", "lang mixed",
	} {
		if count[k] < 2 {
			t.Errorf("%s: %d ads, want at least 2", k, count[k])
		}
	}
	if count["warning or news"] < 5 {
		t.Errorf("%d warning/news posts, want at least 5", count["warning or news"])
	}
	if count["benign offer"] < 6 {
		t.Errorf("%d legit offers, want at least 6", count["benign offer"])
	}
	t.Logf("mix: %v", count)
}

func TestParseManifestRejects(t *testing.T) {
	files, err := filepath.Glob("testdata/manifests/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad manifests in testdata/manifests: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// The first line of each file is "# want: <substring of the error>".
			first, _, _ := strings.Cut(string(data), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# want:"))
			_, err = parseManifest(data)
			if err == nil {
				t.Fatalf("no error, want one containing %q", want)
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q, want it to contain %q", err, want)
			}
		})
	}
}

func TestRobotsTxt(t *testing.T) {
	c := newSiteClient(t)
	status, ctype, body := c.get("/robots.txt")
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("robots.txt: status %d, content type %q", status, ctype)
	}
	rb, err := robotstxt.FromBytes(body)
	if err != nil {
		t.Fatalf("robots.txt does not parse: %v", err)
	}
	g := rb.FindGroup("lokerwatch")
	if g.Test(DisallowedPath) {
		t.Errorf("%s is allowed by robots.txt", DisallowedPath)
	}
	for _, a := range Ads() {
		if !g.Test(a.Path()) {
			t.Errorf("%s is disallowed by robots.txt", a.Path())
		}
	}
	for _, s := range Config(c.srv.URL).Sources {
		for _, seed := range s.Seeds {
			if p := c.local(seed); !g.Test(p) {
				t.Errorf("seed %s is disallowed", p)
			}
		}
	}
	// The listing links to the disallowed page, and it matches the board's
	// follow patterns: only robots.txt keeps a crawler out.
	href, ok := c.doc("/jobs?page=1").Find(`a[href="` + DisallowedPath + `"]`).Attr("href")
	if !ok {
		t.Fatalf("/jobs?page=1 does not link %s", DisallowedPath)
	}
	followed := false
	for _, f := range Config(c.srv.URL).Sources[0].Follow {
		if regexp.MustCompile(f).MatchString(c.srv.URL + href) {
			followed = true
		}
	}
	if !followed {
		t.Errorf("%s does not match the board's follow patterns", href)
	}
	if st, _, _ := c.get(DisallowedPath); st != http.StatusOK {
		t.Errorf("%s: status %d (the trap page must exist)", DisallowedPath, st)
	}
}

func TestSiteNotFound(t *testing.T) {
	c := newSiteClient(t)
	for _, p := range []string{
		"/jobs?page=0", "/jobs?page=4", "/jobs?page=x", "/job/nope", "/job/draft/other",
		"/s/lokerln?before=abc", "/s/lokerln?before=-3", "/lokerln/999", "/iklan/1", "/forum?page=9",
		"/forum/t/xyz", "/about", "/admin/login", "/s/otherchannel",
	} {
		if st, _, _ := c.get(p); st != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, st)
		}
	}
	// A channel page before the oldest post is empty, not an error.
	d := c.doc("/s/lokerln?before=1")
	if n := d.Find(".tgme_widget_message").Length(); n != 0 {
		t.Errorf("before=1: %d messages, want 0", n)
	}
	if d.Find("a.tme_messages_more").Length() != 0 {
		t.Errorf("before=1 links to older posts")
	}
}

// TestConfigIsValid runs Config through the config package's own parser and
// validation, so that the demo config is one a user could write.
func TestConfigIsValid(t *testing.T) {
	c := newSiteClient(t)
	cfg := Config(c.srv.URL)
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	parsed, err := config.Parse("demo.yaml", data)
	if err != nil {
		t.Fatalf("demo config does not validate: %v\n%s", err, data)
	}
	if len(parsed.Sources) != 4 || !parsed.Crawl.Robots || parsed.Crawl.HostDelay.D() > parsed.Crawl.Timeout.D() {
		t.Errorf("unexpected parsed config: %+v", parsed.Crawl)
	}
	for _, s := range cfg.Sources {
		for _, seed := range s.Seeds {
			if st, _, _ := c.get(c.local(seed)); st != http.StatusOK {
				t.Errorf("source %s: seed %s: status %d", s.Name, seed, st)
			}
		}
	}
}
