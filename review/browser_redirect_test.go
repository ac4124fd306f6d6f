package review

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Issue 20, finding 4: ?next= and the login form's next field must not
// send a browser to another site, whatever the browser strips or folds
// (tab, LF, CR, \v, \f, backslash...). Checked in Chromium, which is what
// decides where a Location really goes.
func TestBrowserLoginNextStaysOnSite(t *testing.T) {
	b := browser(t)
	e := newEnv(t, testStore(t))
	loadFixtures(t, e.st) // the queue table b.login waits for
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<title>evil</title>evil")
	}))
	defer evil.Close()
	evilHost := strings.TrimPrefix(evil.URL, "http://")
	base := e.ts.URL
	nexts := []string{"/\t/", "/\v/", "/\f/", "/\n/", "/\r/", "/\\", "/\\/", "/ /", "/\x00/", "/\u00a0/", "\t//", "//"}
	where := func() string {
		loc := get(b, "location", chromedp.Location())
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("location %q: %v", loc, err)
		}
		return u.Host
	}
	home := strings.TrimPrefix(base, "http://")
	// Already logged in, /login?next= redirects at once.
	b.login(base, "alice")
	for _, n := range nexts {
		next := n + evilHost + "/"
		b.do(fmt.Sprintf("visit /login with next %q", next),
			chromedp.Navigate(base+"/login?next="+url.QueryEscape(next)),
			chromedp.WaitReady(chromedp.CSS("body")))
		if h := where(); h != home {
			t.Errorf("/login?next=%q while logged in ended at %s, not %s", next, h, home)
		}
	}
	b.do("log out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#name")))
	// Logging in through the form with a hostile next.
	for i, n := range nexts {
		next := n + evilHost + "/"
		b.do(fmt.Sprintf("log in with next %q", next),
			chromedp.Navigate(base+"/login?next="+url.QueryEscape(next)),
			chromedp.WaitVisible(chromedp.CSS("#name")),
			chromedp.SendKeys(chromedp.CSS("#name"), "alice"),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			chromedp.Click(chromedp.CSS("#login")),
			chromedp.WaitNotPresent(chromedp.CSS("#name")), // left the login page, for wherever
		)
		if h := where(); h != home {
			t.Errorf("login %d with next %q ended at %s, not %s", i, next, h, home)
		}
		b.do("log out", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"] button`)),
			chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
			chromedp.WaitVisible(chromedp.CSS("#name")))
	}
}
