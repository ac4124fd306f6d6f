package crawler

import (
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/config"
)

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestExtractors(t *testing.T) {
	board := config.Source{Name: "board", Type: lokerwatch.SourceJobBoard,
		Seeds: []string{"https://board.example/jobs?page=1"}, Follow: []string{`/jobs\?page=`, `/job/`}}
	channel := config.Source{Name: "channel", Type: lokerwatch.SourceTelegram, Seeds: []string{"https://t.me/s/lokerln"}}
	feeds := config.Source{Name: "feed", Type: lokerwatch.SourceRSS, Seeds: []string{"https://iklan.example/feed.xml"}}
	forum := config.Source{Name: "forum", Type: lokerwatch.SourceHTML, Seeds: []string{"https://forum.example/forum?page=1"},
		Profile: &config.Profile{Item: "div.post", Title: ".post-title", Text: ".post-body", Link: "a.permalink", Next: "a.next"}}

	tests := []struct {
		name     string
		src      config.Source
		file     string
		pageURL  string
		ct       string
		ads      []found
		links    []link
		problems int
		wantErr  string
	}{
		{
			name: "jobboard single posting", src: board, file: "jobboard_single.html",
			pageURL: "https://board.example/job/7", ct: "text/html",
			ads: []found{{
				Permalink: "https://board.example/job/7",
				Title:     "Operator Produksi & Gudang",
				Text:      "PT Maju Jaya membuka lowongan operator produksi.\n\nPria/wanita\nUsia 18-30\n\nGaji UMK.",
				Company:   "PT Maju Jaya", Location: "Karawang, Jawa Barat, ID; Bekasi",
				Salary: "IDR 4800000-5200000 per MONTH", PostedAt: date("2026-05-02T00:00:00Z"),
			}},
			links: []link{{URL: "https://board.example/jobs?page=2", Kind: "listing"}, {URL: "https://board.example/job/8", Kind: "page"}},
		},
		{
			name: "jobboard @graph, arrays, a broken block", src: board, file: "jobboard_graph.html",
			pageURL: "https://board.example/jobs?page=3", ct: "text/html",
			ads: []found{
				{Permalink: "https://board.example/job/77?ref_src=tw", Title: "Customer Service Thailand",
					Text: "Gaji 25 juta, tiket ditanggung.", Company: "Golden Asia Ltd", Location: "Remote; Indonesia",
					Salary: "USD 1500 per MONTH", PostedAt: date("2026-05-10T01:30:00Z")},
				{Permalink: "https://board.example/jobs?page=3", Anchor: "job-A-9", Title: "Admin Online", Text: "Kerja di Kamboja"},
			},
			problems: 1,
		},
		{
			name: "jobboard listing without postings", src: board, file: "jobboard_none.html",
			pageURL: "https://board.example/jobs?page=1", ct: "text/html",
			links: []link{{URL: "https://board.example/job/1", Kind: "page"}, {URL: "https://board.example/job/2", Kind: "page"}},
		},
		{
			name: "telegram channel preview", src: channel, file: "telegram.html",
			pageURL: "https://t.me/s/lokerln", ct: "text/html; charset=utf-8",
			ads: []found{
				{Permalink: "https://t.me/lokerln/101", Title: "DICARI ADMIN ONLINE 🇰🇭",
					Text:     "DICARI ADMIN ONLINE 🇰🇭\nGaji $1500, tiket & visa ditanggung.\n\nHubungi wa.me/6281234567890",
					PostedAt: date("2026-05-01T10:15:00Z")},
				{Permalink: "https://t.me/lokerln/104", Title: "Waspada penipuan lowongan kerja ke Kamboja!",
					Text: "Waspada penipuan lowongan kerja ke Kamboja!", PostedAt: date("2026-05-02T02:00:00Z")},
			},
			links: []link{{URL: "https://t.me/s/lokerln?before=101", Kind: "listing"}},
		},
		{
			name: "rss 2.0", src: feeds, file: "feed_rss.xml", pageURL: "https://iklan.example/feed.xml", ct: "application/rss+xml",
			ads: []found{
				{Permalink: "https://iklan.example/ad/55?utm_campaign=rss", Title: "Dicari TKW ke Malaysia tanpa biaya",
					Text: "Berangkat cepat, paspor diurus agen.", PostedAt: date("2026-05-04T00:00:00Z")},
				{Permalink: "https://iklan.example/feed.xml", Anchor: "guid-item-2", Title: "Lowongan perawat Jepang resmi",
					Text: "Program resmi SISKOP2MI."},
			},
			problems: 1,
		},
		{
			name: "atom", src: feeds, file: "feed_atom.xml", pageURL: "https://forum.example/feed.atom", ct: "application/atom+xml",
			ads: []found{{Permalink: "https://forum.example/t/900", Title: "Kerja di Myanmar gaji 20jt",
				Text: "Tanpa pengalaman, paspor ditahan selama kontrak.", PostedAt: date("2026-05-05T09:00:00Z")}},
		},
		{
			name: "feed that is not XML", src: feeds, file: "feed_broken.txt", pageURL: "https://iklan.example/feed.xml",
			ct: "text/html", wantErr: "parse feed",
		},
		{
			name: "html profile", src: forum, file: "profile.html", pageURL: "https://forum.example/forum?page=2", ct: "text/html",
			ads: []found{
				{Permalink: "https://forum.example/forum/t/1", Title: "Loker Taiwan pabrik", Text: "Potongan gaji 8 bulan untuk biaya."},
				{Permalink: "https://forum.example/forum?page=2", Title: "Tanpa link", Text: "Post tanpa permalink."},
			},
			links:    []link{{URL: "https://forum.example/forum?page=3", Kind: "listing"}},
			problems: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := newSource(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			body, err := os.ReadFile(filepath.Join("testdata", "extract", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(tt.pageURL)
			p := &page{URL: u, ContentType: tt.ct, Body: body}
			ex, err := src.ext.extract(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if isHTML(tt.ct, body) {
				src.followLinks(p, &ex)
			}
			// Anchors made from text digests are checked for presence only.
			for i := range ex.Ads {
				if strings.HasPrefix(ex.Ads[i].Anchor, "post-") && i < len(tt.ads) && tt.ads[i].Anchor == "" {
					ex.Ads[i].Anchor = ""
				}
			}
			if !reflect.DeepEqual(ex.Ads, tt.ads) {
				t.Errorf("ads:\n got %#v\nwant %#v", ex.Ads, tt.ads)
			}
			// A link said to be canonical is queued as it is.
			for i, ln := range ex.Links {
				if c, err := Canonical(ln.URL); ln.canonical && (err != nil || c != ln.URL) {
					t.Errorf("link %q marked canonical, but Canonical gives %q, %v", ln.URL, c, err)
				}
				ex.Links[i].canonical = false
			}
			if !reflect.DeepEqual(ex.Links, tt.links) {
				t.Errorf("links:\n got %v\nwant %v", ex.Links, tt.links)
			}
			if len(ex.Problems) != tt.problems {
				t.Errorf("problems = %v, want %d", ex.Problems, tt.problems)
			}
		})
	}
}

func TestHTMLTextDropsMarkup(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<p>Gaji <b>besar</b></p><script>alert(1)</script><style>p{}</style>`, "Gaji besar"},
		{`&lt;script&gt;alert(1)&lt;/script&gt; kerja`, "<script>alert(1)</script> kerja"},
		{"plain  text\n\n\n\nwith gaps\x00", "plain text\n\nwith gaps"},
		{"line<br>break<br/><br>para", "line\nbreak\n\npara"},
		{"<img src=x onerror=alert(1)>caption", "caption"},
		{"bad \xff\xfe utf8", "bad utf8"},
	}
	for _, tt := range tests {
		if got := htmlText(tt.in); got != tt.want {
			t.Errorf("htmlText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTextOfDeepNesting(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		b.WriteString("<div>")
	}
	b.WriteString("deep")
	got := htmlText("top " + b.String())
	if got != "top\ndeep" {
		t.Errorf("htmlText of deep nesting = %q, want the text without markup", got)
	}
}
