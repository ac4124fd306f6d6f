package review

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lokerwatch/lokerwatch/evidence"
)

// TestBrowserInvestigation walks what an investigator does in a real
// Chromium: from a flagged ad to the bank account it names, to the
// persona behind it, into a new case, and out as a signed bundle that
// verify accepts. With LOKERWATCH_SCREENSHOTS=DIR it also writes the
// pictures of docs/investigator.md (investigate-*.png) there:
//
//	LOKERWATCH_SCREENSHOTS=$PWD/../docs go test -run TestBrowserInvestigation ./review
func TestBrowserInvestigation(t *testing.T) {
	b := browser(t)
	st := testStore(t)
	crawlDemo(t, st)
	key := signingKey(t)
	e := newEnv(t, st, func(o *Options) { o.SigningKey = key })
	base := e.ts.URL
	shots := os.Getenv("LOKERWATCH_SCREENSHOTS")
	shot := func(name string) {
		if shots == "" {
			return
		}
		png := get(b, "screenshot "+name, chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(shots, "investigate-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The board ad that asks for a deposit.
	ids, err := st.AdsByKey(t.Context(), keyOf("bank", "bca:4471209385"))
	if err != nil || len(ids) != 2 {
		t.Fatalf("demo account ads: %v %v", ids, err)
	}
	var boardAd string
	for _, id := range ids {
		if ad, _ := st.GetAd(t.Context(), id); ad != nil && ad.Source == "board" {
			boardAd = id
		}
	}
	if boardAd == "" {
		t.Fatal("no board ad with the account")
	}
	b.login(base, "ivan")
	b.do("open the ad", chromedp.Navigate(base+"/ad/"+boardAd), chromedp.WaitVisible(chromedp.CSS(`a.entity-bank`)))
	shot("ad")

	// ad -> account
	b.do("open the account", chromedp.Click(chromedp.CSS(`a.entity-bank`)), chromedp.WaitVisible(chromedp.CSS(`#entity-value`)))
	if v := get(b, "entity", chromedp.Text(chromedp.CSS("#entity-value"))); v != "bca:4471209385" {
		t.Fatalf("entity page of %q", v)
	}
	if n := get(b, "ads", chromedp.Text(chromedp.CSS("#entity-ads"))); n != "2 ads" {
		t.Fatalf("entity ads %q", n)
	}
	if h := get(b, "holder", chromedp.Text(chromedp.CSS(".holder"))); h != "Hendra Wijaya" {
		t.Errorf("holder %q", h)
	}
	shot("account")

	// account -> persona
	b.do("open the persona", chromedp.Click(chromedp.CSS(`a.persona-link`)), chromedp.WaitVisible(chromedp.CSS(`svg.persona-graph`)))
	size := get(b, "persona size", chromedp.Text(chromedp.CSS("#persona-size")))
	if size == "1 ads" || size == "" {
		t.Fatalf("persona size %q", size)
	}
	nodes := get(b, "graph nodes", chromedp.Evaluate[int](`document.querySelectorAll('svg.persona-graph a.node').length`))
	if nodes < 3 {
		t.Fatalf("graph has %d nodes", nodes)
	}
	shot("persona")

	// persona -> new case
	b.do("new case",
		chromedp.SetValue(chromedp.CSS("#addcase-case"), "new"),
		chromedp.SendKeys(chromedp.CSS("#addcase-title"), "Rekening BCA a.n. Hendra Wijaya"),
		chromedp.Click(chromedp.CSS("#addcase-submit")),
		chromedp.WaitVisible(chromedp.CSS(`article.case`)),
	)
	b.do("note",
		chromedp.SendKeys(chromedp.CSS("#case-note"), "Board ad and channel post take deposits into one BCA account and a TRC20 wallet."),
		chromedp.Submit(chromedp.CSS("#note-form")),
		chromedp.WaitVisible(chromedp.CSS(`.case-note`)),
	)
	b.do("refer",
		chromedp.SetValue(chromedp.CSS("#case-status-select"), "referred"),
		chromedp.Submit(chromedp.CSS("#status-form")),
		chromedp.WaitVisible(chromedp.CSS(`.case-referred`)),
	)
	shot("case")

	// case -> export: fetched by the page with its session, as the link does.
	href := get(b, "export link", chromedp.Evaluate[string](`document.querySelector('#case-export').getAttribute('href')`))
	b64 := get(b, "export", chromedp.Evaluate[string](`fetch(`+jsString(href)+`).then(r => r.arrayBuffer()).then(buf => {
		let s = ''; const u = new Uint8Array(buf);
		for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode.apply(null, u.subarray(i, i + 8192));
		return btoa(s);
	})`, chromedp.EvalAwaitPromise))
	bundle, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.Verify(bytes.NewReader(bundle), int64(len(bundle)), &key.PublicKey)
	if err != nil || !rep.Intact() || !rep.KeyTrusted {
		t.Fatalf("verify the exported bundle: %v %+v", err, rep)
	}
	if b.dialogs.Load() != 0 {
		t.Errorf("%d dialogs opened", b.dialogs.Load())
	}
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
