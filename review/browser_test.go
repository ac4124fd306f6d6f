package review

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokerwatch/lokerwatch"
)

const chromiumPath = "/usr/bin/chromium"

type tab struct {
	t       *testing.T
	ctx     context.Context
	dialogs atomic.Int32 // alert, confirm or prompt opened by a page
}

// The browser is shared by the tests of the package (started on first
// use, stopped by TestMain); each test gets a tab in its own browser
// context, so cookies and storage are not shared.
var shared struct {
	once   sync.Once
	ctx    context.Context
	stop   func()
	dir    string
	err    error
	failed bool
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.stop != nil {
		shared.stop()
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

func startBrowser() {
	shared.dir, shared.err = os.MkdirTemp("", "lokerwatch-chromium-")
	if shared.err != nil {
		return
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(shared.dir),
		chromedp.WindowSize(1366, 900),
	)
	ctx, cancelC := chromedp.NewContext(actx)
	shared.ctx, shared.stop = ctx, func() { cancelC(); cancelA() }
	shared.err = chromedp.Do(ctx) // starts the browser, bound to ctx
}

// browser opens a tab in a fresh browser context of the shared headless
// Chromium. It counts JavaScript dialogs, which the hostile ads try to
// open, and dismisses them so that the page does not stall.
func browser(t *testing.T) *tab {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser tests need Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	shared.once.Do(startBrowser)
	if shared.err != nil {
		t.Fatalf("start chromium: %v", shared.err)
	}
	ctx, cancel := chromedp.NewContext(shared.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open tab: %v", err)
	}
	tb := &tab{t: t, ctx: ctx}
	opened := make(chan string, 16)
	if err := chromedp.Listen(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			tb.dialogs.Add(1)
			select {
			case opened <- d.Message:
			default:
			}
		}
	}); err != nil {
		t.Fatalf("listen: %v", err)
	}
	go func() {
		for {
			select {
			case msg := <-opened:
				t.Logf("dialog opened: %q", msg)
				chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			case <-ctx.Done():
				return
			}
		}
	}()
	return tb
}

// do runs steps with a time limit, failing the test with where it was.
func (b *tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	start := time.Now()
	defer func() { b.t.Logf("%s: %v", what, time.Since(start).Round(time.Millisecond)) }()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

func get[T any](b *tab, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *tab) login(base, name string) {
	b.t.Helper()
	b.do("log in "+name,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("table#queue")),
	)
}

func key(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }

// waitItem waits for the ad page of an item.
func waitItem(adID string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`article.ad[data-item=%q] #adtext`, adID)))
}

func TestBrowserKeyboardFlow(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	base := e.ts.URL

	// Anonymous: the console sends us to the login page.
	b.do("anonymous", chromedp.Navigate(base+"/ad/ad-kamboja"), chromedp.WaitVisible(chromedp.CSS("#name")))
	if loc := get(b, "location", chromedp.Location()); !strings.HasPrefix(loc, base+"/login?next=") {
		t.Fatalf("anonymous page went to %s", loc)
	}
	b.login(base, "alice")

	// j/k move the selection (the two Kamboja ads are one repost-cluster
	// row, see browser_queue_test.go); c claims and opens the top item.
	b.do("j j k", key("j"), key("j"), key("k"))
	if sel := get(b, "selected", chromedp.AttributeValue(chromedp.CSS("tr.selected"), "data-ad")); sel.Value != "ad-thai" {
		t.Fatalf("after j j k the selected row is %q", sel.Value)
	}
	b.do("k, c", key("k"), key("c"), waitItem("ad-kamboja"))

	// Every signal span is highlighted; j visits them in order.
	marks := get(b, "marks", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#adtext mark')).map(m => m.textContent)`))
	for _, want := range []string{"admin online", "Sihanoukville, Kamboja", "Kamboja", "Gaji 15 juta per bulan", "tanpa pengalaman", "visa turis", "WA 0812-3456-7890"} {
		if !slices.Contains(marks, want) {
			t.Errorf("no highlighted %q among %q", want, marks)
		}
	}
	b.do("j", key("j"))
	if cur := get(b, "current mark", chromedp.Text(chromedp.CSS("#adtext mark.current"))); len(marks) == 0 || cur != marks[0] {
		t.Errorf("j went to %q, want the first highlight", cur)
	}

	// Linked ads open, and the way back leads to the item again.
	b.do("open linked ad", chromedp.Click(chromedp.CSS(`#linked a[href="/ad/ad-thai"]`)), waitItem("ad-thai"))
	if title := get(b, "title", chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(title, "Thailand") {
		t.Errorf("linked ad title %q", title)
	}
	b.do("back to the item", chromedp.Navigate(base+"/ad/ad-kamboja"), waitItem("ad-kamboja"))

	// Three items by keyboard: 1 (scam), note + e (escalate), 3 (trafficking).
	b.do("decide scam", key("1"), waitItem("ad-kamboja-repost"))
	b.do("note and escalate",
		key("n"), chromedp.SendKeys(chromedp.CSS("#note"), "repost of the same compound"), key(kb.Escape),
		key("e"), waitItem("ad-thai"))
	b.do("decide trafficking", key("3"), waitItem("ad-hostile"))

	want := map[string]struct {
		v    lokerwatch.Verdict
		note string
	}{
		"ad-kamboja":        {lokerwatch.VerdictScam, ""},
		"ad-kamboja-repost": {lokerwatch.VerdictEscalate, "repost of the same compound"},
		"ad-thai":           {lokerwatch.VerdictTrafficking, ""},
	}
	for id, w := range want {
		ds, err := e.st.Decisions(context.Background(), id)
		if err != nil || len(ds) != 1 || ds[0].Verdict != w.v || ds[0].Note != w.note || ds[0].Reviewer != "alice" {
			t.Errorf("decisions of %s: %+v %v; want one %s by alice", id, ds, err, w.v)
		}
	}

	// ? shows the help; the analyst is refused the users and export pages.
	b.do("?", key("?"))
	if hidden := get(b, "help", chromedp.Evaluate[bool](`document.getElementById('help').hidden`)); hidden {
		t.Error("? did not open the help")
	}
	for _, path := range []string{"/users", "/export"} {
		b.do("open "+path, chromedp.Navigate(base+path))
		if h1 := get(b, "h1", chromedp.Text(chromedp.CSS("main h1"))); h1 != "403 Forbidden" {
			t.Errorf("analyst on %s sees %q", path, h1)
		}
	}
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
}

func TestBrowserHostileAdRunsNoScript(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	base := e.ts.URL
	b.login(base, "alice")

	b.do("hostile ad page",
		chromedp.Navigate(base+"/ad/ad-hostile"),
		waitItem("ad-hostile"),
		chromedp.Click(chromedp.CSS("#captured summary")), // the capture is folded
		chromedp.WaitReady(chromedp.CSS("iframe.capture")),
		// The iframe's document (sandboxed, opaque origin) finished loading.
		chromedp.Poll[chromedp.Void](`performance.getEntriesByType('resource').some(r => r.name.includes('/capture/0'))`,
			chromedp.WithPollingTimeout(5*time.Second)),
	)
	if v := get(b, "flag", chromedp.Evaluate[string](`typeof window.__pwned`)); v != "undefined" {
		t.Errorf("a script from the ad ran: window.__pwned is %s", v)
	}
	if title := get(b, "h1", chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(title, "<script>window.__pwned=1;alert('title')</script>") {
		t.Errorf("title not shown as text: %q", title)
	}
	text := get(b, "text", chromedp.Text(chromedp.CSS("#adtext")))
	for _, want := range []string{`<img src=x onerror="window.__pwned=1;alert('img')">`, `<a href="javascript:window.__pwned=1">`, `"</script><script>window.__pwned=1</script>"`} {
		if !strings.Contains(text, want) {
			t.Errorf("ad text does not show %q as text", want)
		}
	}
	live := get(b, "live markup", chromedp.Evaluate[int](
		`document.querySelectorAll('a[href^="javascript:" i], [onerror], [onload], svg, img, #adtext *:not(mark):not(span.anchor)').length`))
	if live != 0 {
		t.Errorf("%d live javascript:/event-handler/markup elements in the page", live)
	}
	if n := get(b, "iframes", chromedp.Evaluate[int](`document.querySelectorAll('iframe[sandbox=""]').length`)); n != 1 {
		t.Errorf("%d fully sandboxed capture iframes, want 1", n)
	}

	// Opened on its own, the capture (raw HTML with JSON-LD) is plain text.
	b.do("capture as text", chromedp.Navigate(base+"/ad/ad-hostile/capture/0"), chromedp.WaitReady(chromedp.CSS("body")))
	ctype := get(b, "type", chromedp.Evaluate[string](`document.contentType`))
	pwned := get(b, "flag", chromedp.Evaluate[string](`typeof window.__pwned`))
	body := get(b, "body", chromedp.Evaluate[string](`document.body.innerText`))
	if ctype != "text/plain" || pwned != "undefined" || !strings.Contains(body, `<script type="application/ld+json">`) {
		t.Errorf("capture page: type %q, __pwned %s, body %q", ctype, pwned, body)
	}
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened by the hostile ad", n)
	}
}

// A page on another origin posts a form and a fetch to the console while
// the analyst is logged in. Nothing changes, even when the attacker knows
// the CSRF token: the Origin / Sec-Fetch-Site check refuses it first.
func TestBrowserForgedCrossSitePost(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	base := e.ts.URL
	b.login(base, "alice")
	csrf := get(b, "token", chromedp.AttributeValue(chromedp.CSS(`meta[name="csrf-token"]`), "content")).Value
	if csrf == "" {
		t.Fatal("no CSRF token in the page")
	}

	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/form":
			fmt.Fprintf(w, `<form id=f method=post action="%s/item/ad-kamboja/decide">
<input name=verdict value=benign><input name=csrf value="%s"><input name=next value=1></form>
<script>document.getElementById('f').submit()</script>`, base, csrf)
		case "/fetch":
			fmt.Fprintf(w, `<script>
fetch(%q + "/api/items/ad-thai/decide", {method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"}, body: '{"verdict":"benign"}'}).finally(() => { document.title = "sent" });
</script>`, base)
		}
	}))
	defer evil.Close()

	b.do("forged form post", chromedp.Navigate(evil.URL+"/form"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if h1 := get(b, "h1", chromedp.Text(chromedp.CSS("main h1"))); h1 != "403 Forbidden" {
		t.Errorf("forged form post answered with %q", h1)
	}
	b.do("forged fetch", chromedp.Navigate(evil.URL+"/fetch"),
		chromedp.Poll[chromedp.Void](`document.title === "sent"`, chromedp.WithPollingTimeout(5*time.Second)))
	for _, id := range []string{"ad-kamboja", "ad-thai"} {
		if ds, _ := e.st.Decisions(context.Background(), id); len(ds) != 0 {
			t.Errorf("forged request decided %s: %+v", id, ds)
		}
	}
	if m := e.client(t).get("/metrics").body; !strings.Contains(m, `lokerwatch_review_refused_requests_total{reason="cross_origin"} 2`) {
		t.Errorf("want 2 requests refused as cross-origin; metrics:\n%s", grepLines(m, "refused"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBrowserScreenshot writes the picture of the console in README.md and
// docs/analyst.md (an ad being reviewed) to the file named by
// LOKERWATCH_SCREENSHOT, e.g.
//
//	LOKERWATCH_SCREENSHOT=$PWD/../docs/console.png go test -run TestBrowserScreenshot ./review
func TestBrowserScreenshot(t *testing.T) {
	out := os.Getenv("LOKERWATCH_SCREENSHOT")
	if out == "" {
		t.Skip("set LOKERWATCH_SCREENSHOT=FILE.png to write a screenshot of the console")
	}
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st)
	ctx := context.Background()
	if _, err := e.st.Decide(ctx, lokerwatch.Decision{ItemID: "ad-thai", Verdict: lokerwatch.VerdictTrafficking, Reviewer: "bob",
		Note: "passport withheld, debt for the ticket"}); err != nil {
		t.Fatal(err)
	}
	b.login(e.ts.URL, "alice")
	b.do("open the top item", key("c"), waitItem("ad-kamboja"))
	png := get(b, "screenshot", chromedp.CaptureScreenshot())
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("queue", chromedp.Navigate(e.ts.URL+"/?status=all"), chromedp.WaitVisible(chromedp.CSS("table#queue")))
	if q := os.Getenv("LOKERWATCH_SCREENSHOT_QUEUE"); q != "" {
		if err := os.WriteFile(q, get(b, "screenshot", chromedp.CaptureScreenshot()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
