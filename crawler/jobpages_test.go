package crawler

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readAdPage extracts an ad page as the crawler does for a followed page
// of a job board: its JobPostings, else the page itself.
func readAdPage(t *testing.T, file string) ([]found, extraction) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "jobpages", file))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("https://board.example/job/" + strings.TrimSuffix(file, ".html"))
	p := &page{URL: u, ContentType: "text/html; charset=utf-8", Body: htmlUTF8("text/html; charset=utf-8", body)}
	ex, err := jobBoard{}.extract(p)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(ex.Ads) == 0 {
		if f, ok := pageAd(p, len(ex.Problems) > 0); ok {
			return []found{f}, ex
		}
	}
	return ex.Ads, ex
}

// TestJobPages reads ad pages in the shapes real boards publish
// (testdata/jobpages): JSON-LD with trailing commas, comments, raw line
// breaks and control characters in strings, descriptions escaped twice or
// three times, and pages with no usable JobPosting, read from the page.
func TestJobPages(t *testing.T) {
	for _, tt := range []struct {
		file     string
		title    string
		company  string
		text     []string // each must be in the text
		not      []string // none may be
		fromPage bool
		noAd     bool
	}{
		{file: "trailing-commas.html", title: "Admin Gudang", company: "PT Gudang Jaya", text: []string{"Dibutuhkan admin gudang di Bekasi."}, not: []string{"<p>"}},
		{file: "comments.html", title: "Sopir Pribadi - Taiwan", company: "PT Sukses Abadi", text: []string{"Gaji NTD 30.000."}, not: []string{"TODO", "generated"}},
		{file: "raw-controls.html", title: "Operator Produksi", company: "PT Garis", text: []string{"Baris pertama.\nBaris kedua:", "gaji 5 juta.", "Akhir."}, not: []string{"\x0b", "\t"}},
		{file: "double-escaped.html", title: "Customer Service Kamboja", text: []string{"Gaji 20 juta per bulan", "Tiket ditanggung", "Berangkat minggu ini"}, not: []string{"<p>", "&lt;", "<li>", "</ul>"}},
		{file: "triple-escaped.html", title: "Admin Game Online", text: []string{"Kerja di Myawaddy, gaji > 15 juta.", "Hubungi WA."}, not: []string{"<p>", "&lt;", "&amp;", "<br>"}},
		// Real markup with escaped markup in it: the escaped part is text.
		{file: "escaped-payload.html", title: "Admin", text: []string{"Gaji besar.", "<p> adalah tag paragraf."}},
		{file: "graph-trailing.html", title: "Perawat Lansia Jepang", text: []string{"Program resmi G to G melalui BP2MI."}},
		{file: "no-jsonld.html", title: "Dicari TKW ke Malaysia, berangkat cepat", text: []string{"Dicari TKW ke Malaysia", "potong gaji 10 bulan", "WA 0812-3456-7890"}, not: []string{"Beranda", "©", "track()", "color:red"}, fromPage: true},
		{file: "broken-jsonld.html", title: "Pemandu Karaoke Kuala Lumpur", text: []string{"Paspor dipegang manajemen."}, not: []string{"Menu", "Data rusak"}, fromPage: true},
		{file: "posting-without-text.html", title: "Staf Dapur Hotel Dubai", text: []string{"Gaji AED 2.000"}, fromPage: true},
		// A page of links without any JobPosting is no ad.
		{file: "link-page.html", noAd: true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			ads, ex := readAdPage(t, tt.file)
			if tt.noAd {
				if len(ads) != 0 {
					t.Errorf("ads %+v, want none", ads)
				}
				return
			}
			if len(ads) != 1 {
				t.Fatalf("%d ads (problems %v), want 1", len(ads), ex.Problems)
			}
			f := ads[0]
			if f.Title != tt.title || f.Company != tt.company || f.FromPage != tt.fromPage {
				t.Errorf("title %q company %q from_page %v; want %q %q %v", f.Title, f.Company, f.FromPage, tt.title, tt.company, tt.fromPage)
			}
			for _, s := range tt.text {
				if !strings.Contains(f.Text, s) {
					t.Errorf("text %q lacks %q", f.Text, s)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(f.Text, s) {
					t.Errorf("text %q has %q", f.Text, s)
				}
			}
			if !tt.fromPage && len(ex.Problems) > 0 {
				t.Errorf("problems: %v", ex.Problems)
			}
		})
	}
}

func TestEscapeControls(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"a":"b"}`, `{"a":"b"}`},
		{"{\"a\":\"x\ny\"}", `{"a":"x\ny"}`},
		{"{\n\"a\":\t\"x\\\"\ty\"}", "{\n\"a\":\t\"x\\\"\\ty\"}"}, // outside strings: left alone
		{"{\"a\":\"\x01\"}", `{"a":"\u0001"}`},
	} {
		if got := string(escapeControls([]byte(tt.in))); got != tt.want {
			t.Errorf("escapeControls(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
