package demo

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	channelName     = "lokerln"
	channelPageSize = 6
	boardSite       = "LokerGlobal"
)

// DisallowedPath is a job ad page that robots.txt disallows and the first
// listing page links to: a crawler that obeys robots.txt never fetches it.
// It carries a scam JobPosting, so a crawler that ignored robots.txt would
// store (and flag) an ad no manifest entry expects.
const DisallowedPath = "/job/draft/cs-kamboja-vip"

var draftAd = SampleAd{
	ID: "draft/cs-kamboja-vip", Source: SourceBoard, Page: 1, Lang: "id", Label: LabelScam, Kind: "offer",
	Posted:   time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC),
	Title:    "DRAF - CS Kamboja VIP gaji 30 juta",
	Company:  "Global Digital Asia Co., Ltd",
	Location: "Bavet, Kamboja",
	Country:  "KH",
	Salary:   &Salary{Currency: "IDR", Min: 30000000, Max: 30000000},
	Text:     "Draf belum terbit: CS Kamboja gaji 30 juta, tanpa pengalaman, visa turis, tiket ditanggung. WA 0812-7741-3390.",
}

var pages = template.Must(template.New("site").Funcs(template.FuncMap{
	"author": forumAuthor,
}).ParseFS(siteFS, "site/templates/*.html"))

// Site returns the sample web: a job board (/jobs?page=N, /job/ID with
// JobPosting JSON-LD), a Telegram-style channel preview (/s/lokerln), an
// RSS feed (/feed.xml), a forum (/forum?page=N) and /robots.txt. Absolute
// links are built from the request's Host, so it works on any address.
func Site() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		render(w, "home.html", page{Title: "lokerwatch demo", Site: "lokerwatch demo web"})
	})
	mux.HandleFunc("GET /robots.txt", serveRobots)
	mux.HandleFunc("GET /jobs", serveJobs)
	mux.HandleFunc("GET /job/{id}", serveJob)
	mux.HandleFunc("GET /job/draft/{id}", serveDraft)
	mux.HandleFunc("GET /s/"+channelName, serveChannel)
	mux.HandleFunc("GET /"+channelName+"/{id}", serveMessage)
	mux.HandleFunc("GET /feed.xml", serveFeed)
	mux.HandleFunc("GET /iklan/{id}", serveClassified)
	mux.HandleFunc("GET /forum", serveForum)
	mux.HandleFunc("GET /forum/t/{id}", serveThread)
	return mux
}

// page is what the layout template needs; the page templates add their own.
type page struct {
	Title string
	Site  string
}

func render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, fmt.Sprintf("render %s: %v", name, err), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func serveRobots(w http.ResponseWriter, r *http.Request) {
	data, err := siteFS.ReadFile("site/robots.txt")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(data)
}

// adsOf returns the manifest ads of a source in manifest order.
func adsOf(source string) []SampleAd {
	var out []SampleAd
	for _, a := range manifest {
		if a.Source == source {
			out = append(out, a)
		}
	}
	return out
}

func findAd(source, id string) (SampleAd, bool) {
	for _, a := range manifest {
		if a.Source == source && a.ID == id {
			return a, true
		}
	}
	return SampleAd{}, false
}

// listing is a paginated page of a board or forum.
type listing struct {
	page
	Page, Pages, Prev, Next int
	PageNums                []int
	Ads                     []SampleAd
}

// pageOf selects the ads shown on ?page=N; ok is false for a page that does
// not exist (a 404, as real sites answer).
func pageOf(r *http.Request, source string) (l listing, ok bool) {
	n := 1
	if s := r.URL.Query().Get("page"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			return l, false
		}
		n = v
	}
	all := adsOf(source)
	for _, a := range all {
		l.Pages = max(l.Pages, a.Page)
		if a.Page == n {
			l.Ads = append(l.Ads, a)
		}
	}
	if n < 1 || n > l.Pages {
		return l, false
	}
	l.Page = n
	if n > 1 {
		l.Prev = n - 1
	}
	if n < l.Pages {
		l.Next = n + 1
	}
	for i := 1; i <= l.Pages; i++ {
		l.PageNums = append(l.PageNums, i)
	}
	return l, true
}

func serveJobs(w http.ResponseWriter, r *http.Request) {
	l, ok := pageOf(r, SourceBoard)
	if !ok {
		http.NotFound(w, r)
		return
	}
	l.page = page{Title: fmt.Sprintf("Lowongan kerja - halaman %d", l.Page), Site: boardSite}
	render(w, "jobs.html", l)
}

type jobPage struct {
	page
	Ad         SampleAd
	JSONLD     template.JS
	Breadcrumb template.JS
}

func serveJob(w http.ResponseWriter, r *http.Request) {
	a, ok := findAd(SourceBoard, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	renderJob(w, r, a)
}

func serveDraft(w http.ResponseWriter, r *http.Request) {
	if "draft/"+r.PathValue("id") != draftAd.ID {
		http.NotFound(w, r)
		return
	}
	renderJob(w, r, draftAd)
}

func renderJob(w http.ResponseWriter, r *http.Request, a SampleAd) {
	base := baseURL(r)
	ld, err := json.Marshal(jobPosting(base, a))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	bc, err := json.Marshal(map[string]any{
		"@context": "https://schema.org",
		"@type":    "BreadcrumbList",
		"itemListElement": []map[string]any{
			{"@type": "ListItem", "position": 1, "name": "Lowongan", "item": base + "/jobs?page=1"},
			{"@type": "ListItem", "position": 2, "name": a.Title},
		},
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// json.Marshal escapes <, > and &, so the data cannot close the script
	// element: it is safe to mark as JS.
	render(w, "job.html", jobPage{
		page:   page{Title: a.Title, Site: boardSite},
		Ad:     a,
		JSONLD: template.JS(ld), Breadcrumb: template.JS(bc),
	})
}

// jobPosting is the schema.org JobPosting a job board publishes for search
// engines; the description is HTML, as on real boards.
func jobPosting(base string, a SampleAd) map[string]any {
	var desc strings.Builder
	for _, l := range a.Lines() {
		desc.WriteString("<p>" + html.EscapeString(l) + "</p>")
	}
	jp := map[string]any{
		"@context":       "https://schema.org/",
		"@type":          "JobPosting",
		"title":          a.Title,
		"description":    desc.String(),
		"datePosted":     a.Posted.Format("2006-01-02"),
		"validThrough":   a.Posted.AddDate(0, 1, 0).Format("2006-01-02T15:04"),
		"employmentType": "FULL_TIME",
		"url":            base + a.Path(),
		"hiringOrganization": map[string]any{
			"@type": "Organization",
			"name":  a.Company,
		},
		"jobLocation": map[string]any{
			"@type": "Place",
			"address": map[string]any{
				"@type":           "PostalAddress",
				"addressLocality": a.Location,
				"addressCountry":  a.Country,
			},
		},
	}
	if a.Salary != nil {
		value := map[string]any{"@type": "QuantitativeValue", "unitText": "MONTH"}
		if a.Salary.Min == a.Salary.Max {
			value["value"] = a.Salary.Min
		} else {
			value["minValue"], value["maxValue"] = a.Salary.Min, a.Salary.Max
		}
		jp["baseSalary"] = map[string]any{"@type": "MonetaryAmount", "currency": a.Salary.Currency, "value": value}
	}
	return jp
}

// message is a channel post with what the preview page shows.
type message struct {
	SampleAd
	Views string
}

type channelPage struct {
	Channel  string
	Base     string
	Before   string // id for the "load older" link; "" when there is nothing older
	Messages []message
}

// serveChannel imitates t.me/s/NAME: the newest posts, oldest first on the
// page, with a "load older" link to ?before=ID of the oldest shown.
func serveChannel(w http.ResponseWriter, r *http.Request) {
	before := int64(-1)
	if s := r.URL.Query().Get("before"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			http.NotFound(w, r)
			return
		}
		before = v
	}
	all := adsOf(SourceChannel)
	slices.SortFunc(all, func(a, b SampleAd) int { return compareIDs(b.ID, a.ID) }) // newest first
	var shown []SampleAd
	older := false
	for _, a := range all {
		id, _ := strconv.ParseInt(a.ID, 10, 64)
		if before >= 0 && id >= before {
			continue
		}
		if len(shown) == channelPageSize {
			older = true
			break
		}
		shown = append(shown, a)
	}
	p := channelPage{Channel: channelName, Base: baseURL(r)}
	for i := len(shown) - 1; i >= 0; i-- {
		a := shown[i]
		p.Messages = append(p.Messages, message{SampleAd: a, Views: views(a.ID)})
	}
	if older {
		p.Before = shown[len(shown)-1].ID
	}
	render(w, "channel.html", p)
}

func compareIDs(a, b string) int {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// views makes a plausible, stable view count for a post.
func views(id string) string {
	n, _ := strconv.Atoi(id)
	v := 800 + (n*7919)%9000
	if v >= 1000 {
		return fmt.Sprintf("%.1fK", float64(v)/1000)
	}
	return strconv.Itoa(v)
}

type adPage struct {
	page
	Channel string
	Ad      SampleAd
}

func serveMessage(w http.ResponseWriter, r *http.Request) {
	a, ok := findAd(SourceChannel, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	render(w, "message.html", adPage{page: page{Title: "Info Loker LN #" + a.ID, Site: "Info Loker LN"}, Channel: channelName, Ad: a})
}

func serveClassified(w http.ResponseWriter, r *http.Request) {
	a, ok := findAd(SourceClassifieds, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	render(w, "classified.html", adPage{page: page{Title: a.Title, Site: "Iklan Baris Nusantara"}, Ad: a})
}

// RSS 2.0 as encoding/xml writes it (escaping every value).
type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string  `xml:"title"`
	Link        string  `xml:"link"`
	GUID        rssGUID `xml:"guid"`
	PubDate     string  `xml:"pubDate"`
	Category    string  `xml:"category"`
	Description string  `xml:"description"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func serveFeed(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	ads := adsOf(SourceClassifieds)
	slices.SortFunc(ads, func(a, b SampleAd) int { return b.Posted.Compare(a.Posted) })
	doc := rssDoc{Version: "2.0", Channel: rssChannel{
		Title:       "Iklan Baris Nusantara - Lowongan Kerja",
		Link:        base + "/",
		Description: "Iklan baris lowongan kerja terbaru",
		Language:    "id",
	}}
	if len(ads) > 0 {
		doc.Channel.LastBuildDate = ads[0].Posted.Format(time.RFC1123Z)
	}
	for _, a := range ads {
		link := base + a.Path()
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title:       a.Title,
			Link:        link,
			GUID:        rssGUID{IsPermaLink: true, Value: link},
			PubDate:     a.Posted.Format(time.RFC1123Z),
			Category:    feedCategory(a.Kind),
			Description: strings.Join(a.Lines(), "\n"),
		})
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(out)
}

func serveForum(w http.ResponseWriter, r *http.Request) {
	l, ok := pageOf(r, SourceForum)
	if !ok {
		http.NotFound(w, r)
		return
	}
	l.page = page{Title: fmt.Sprintf("Kerja di luar negeri - halaman %d", l.Page), Site: "Forum Perantau"}
	render(w, "forum.html", l)
}

func serveThread(w http.ResponseWriter, r *http.Request) {
	a, ok := findAd(SourceForum, r.PathValue("id"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	render(w, "thread.html", adPage{page: page{Title: a.Title, Site: "Forum Perantau"}, Ad: a})
}

// forumAuthor gives each post a stable member name.
func forumAuthor(id string) string {
	names := []string{"perantau_cilacap", "mbak_yuni", "arif.tki", "dewi_hk", "bang_ucok", "kang_asep88", "rina_tw", "pejuang_devisa"}
	n, _ := strconv.Atoi(id)
	return names[n%len(names)]
}

func feedCategory(kind string) string {
	switch kind {
	case "news":
		return "Berita"
	case "warning", "story":
		return "Info & Peringatan"
	}
	return "Lowongan Kerja"
}
