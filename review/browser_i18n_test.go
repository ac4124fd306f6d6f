package review

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lokerwatch/lokerwatch/classifiers"
)

// A browser whose language is Indonesian (Accept-Language id-ID) gets the
// console in Indonesian, from the login page on; the switcher in the
// header turns it to English, and the choice holds on the next pages and
// over Accept-Language. With LW_SCREENSHOTS=DIR it writes
// DIR/console-id.png (an entity page in Indonesian) and DIR/ad-id.png (an
// ad page, its "why" from the rules' Indonesian descriptions):
//
//	LW_SCREENSHOTS=$PWD/../docs go test -run TestBrowserIndonesian ./review
func TestBrowserIndonesian(t *testing.T) {
	b := browser(t)
	st := testStore(t)
	crawlDemo(t, st)
	eng, err := classifiers.New(classifiers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st, func(o *Options) { o.Describe = eng.RuleDescription })
	base := e.ts.URL
	if _, err := chromedp.Call(b.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
		Headers: network.Headers{"Accept-Language": "id-ID,id;q=0.9,en-US;q=0.8,en;q=0.7"}}); err != nil {
		t.Fatal(err)
	}
	lang := func() string {
		return get(b, "page language", chromedp.Evaluate[string](`document.documentElement.lang`))
	}
	text := func(sel string) string {
		return get(b, "text of "+sel, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).textContent`))
	}

	b.do("login page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#name")))
	if l, h := lang(), text("h1"); l != "id" || h != "Masuk" {
		t.Fatalf("login page: lang %q, heading %q", l, h)
	}
	if lbl := text("label"); !strings.Contains(lbl, "Nama pengguna") {
		t.Errorf("login form label %q", lbl)
	}
	b.do("log in",
		chromedp.SendKeys(chromedp.CSS("#name"), "ivan"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("table#queue")),
	)
	if nav := text("header.top nav"); !strings.Contains(nav, "Antrean") || !strings.Contains(nav, "Kasus") || strings.Contains(nav, "Queue") {
		t.Errorf("menu %q", nav)
	}
	// The queue, then the ad page of its top row.
	queue := text("main")
	for _, want := range []string{"Klaim berikutnya", "klaim saya", "menunggu", "Skor", "Ulangan", "Terkait", "Masuk antrean"} {
		if !strings.Contains(queue, want) {
			t.Errorf("queue in Indonesian: no %q", want)
		}
	}
	for _, en := range []string{"Claim next", "my claims", "Reposts", "Linked", "Queued", "waiting"} {
		if strings.Contains(queue, en) {
			t.Errorf("queue in Indonesian shows %q", en)
		}
	}
	b.window(winW, winH)
	top := get(b, "top row", chromedp.Evaluate[string](`document.querySelector('tr[data-row]').dataset.ad`))
	b.do("ad page", chromedp.Navigate(base+"/ad/"+top), chromedp.WaitVisible(chromedp.CSS("#why-sentence")))
	if s := text("#why-sentence"); !strings.HasPrefix(s, "Ditandai ") || !strings.Contains(s, ", dan ") {
		t.Errorf("why sentence in Indonesian: %q", s)
	}
	adPage := text("main")
	for _, want := range []string{"Alasan", "Menaikkan skor", "Teks", "Iklan terkait", "Penipuan (online scam)", "Teruskan", "pertama terlihat"} {
		if !strings.Contains(adPage, want) {
			t.Errorf("ad page in Indonesian: no %q", want)
		}
	}
	for _, en := range []string{"Raised the score", "Linked ads", "Escalate", "first seen", "Supporting evidence", "highlighted: what fired"} {
		if strings.Contains(adPage, en) {
			t.Errorf("ad page in Indonesian shows %q", en)
		}
	}
	if dir := os.Getenv("LW_SCREENSHOTS"); dir != "" {
		png := get(b, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(dir, "ad-id.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The investigator's page of the demo's shared bank account.
	b.do("entity page", chromedp.Navigate(base+demoAccount), chromedp.WaitVisible(chromedp.CSS("#entity-value")))
	page := text("main")
	for _, want := range []string{"rekening bank", "pertama terlihat", "Linimasa", "Muncul bersamanya", "Tambahkan ke kasus", "terbaru di atas"} {
		if !strings.Contains(page, want) {
			t.Errorf("entity page in Indonesian: no %q", want)
		}
	}
	for _, en := range []string{"Timeline", "first seen", "Named with it", "Add to a case", "newest first"} {
		if strings.Contains(page, en) {
			t.Errorf("entity page in Indonesian shows %q", en)
		}
	}
	if dir := os.Getenv("LW_SCREENSHOTS"); dir != "" {
		png := get(b, "screenshot", chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(dir, "console-id.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Switch to English: the same page comes back in English.
	b.do("switch to English",
		chromedp.Click(chromedp.CSS(`#langswitch button[data-lang="en"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #entity-value`)),
	)
	if loc := get(b, "location", chromedp.Location()); loc != base+demoAccount {
		t.Errorf("after switching the browser is at %s", loc)
	}
	if page := text("main"); !strings.Contains(page, "Timeline") || !strings.Contains(page, "bank account") || strings.Contains(page, "Linimasa") {
		t.Errorf("entity page after switching to English: %q", page)
	}
	if pressed := get(b, "pressed", chromedp.Evaluate[string](`document.querySelector('#langswitch button[aria-pressed="true"]').dataset.lang`)); pressed != "en" {
		t.Errorf("the switcher marks %q as the current language", pressed)
	}
	// The choice holds on other pages, over the browser's Indonesian.
	b.do("cases", chromedp.Navigate(base+"/cases"), chromedp.WaitVisible(chromedp.CSS("#newcase-form")))
	if l, h := lang(), text("h1"); l != "en" || h != "Cases" {
		t.Errorf("cases page after choosing English: lang %q, heading %q", l, h)
	}
	// And back.
	b.do("switch to Indonesian",
		chromedp.Click(chromedp.CSS(`#langswitch button[data-lang="id"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="id"] #newcase-form`)),
	)
	if h := text("h1"); h != "Kasus" {
		t.Errorf("cases page back in Indonesian: heading %q", h)
	}
}
