package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// The CLI decides as an account, through the same decision matrix as the
// desk (issue 20, finding 5).
func TestReviewDecideRoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	store := "sqlite:" + path
	for _, u := range []struct{ name, role string }{{"ana", "analyst"}, {"ivo", "investigator"}} {
		if code, _, errs := runCLI(t, "correct horse battery\n", "user", "add", u.name, "--role", u.role, "--password-stdin", "--store", store); code != 0 {
			t.Fatalf("add %s: %s", u.name, errs)
		}
	}
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, id := range []string{"a1", "a2"} {
		ad := &lokerwatch.Ad{ID: id, URL: "https://example.org/" + id, Source: "t", Title: id, FetchedAt: time.Now().UTC(),
			Assessment: &lokerwatch.Assessment{Score: 80, Flagged: true, Category: lokerwatch.CategoryTrafficking}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if _, _, err := st.Enqueue(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	item := func(ad string) string { return ad } // items are keyed by their ad
	if code, _, errs := runCLI(t, "", "review", "decide", item("a1"), "--verdict", "scam", "--reviewer", "nobody", "--store", store); code != 2 || !strings.Contains(errs, "no such account") {
		t.Errorf("decide as a non-account: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "decide", item("a1"), "--verdict", "trafficking", "--reviewer", "ivo", "--store", store); code != 0 {
		t.Fatalf("investigator decides: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "decide", item("a1"), "--verdict", "benign", "--amend", "--reviewer", "ana", "--store", store); code != 1 || !strings.Contains(errs, "not allowed") {
		t.Errorf("analyst amends an investigator's verdict: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "decide", item("a2"), "--verdict", "escalate", "--reviewer", "ana", "--store", store); code != 0 {
		t.Fatalf("analyst escalates: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "claim", item("a2"), "--reviewer", "ana", "--store", store); code != 1 || !strings.Contains(errs, "escalated") {
		t.Errorf("analyst claims an escalated item: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "decide", item("a2"), "--verdict", "benign", "--reviewer", "ana", "--store", store); code != 1 || !strings.Contains(errs, "escalated") {
		t.Errorf("analyst decides an escalated item: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "review", "decide", item("a2"), "--verdict", "scam", "--reviewer", "ivo", "--store", store); code != 0 {
		t.Errorf("investigator decides the escalated item: exit %d, %q", code, errs)
	}
}

// user token, user token list, user token revoke (issue 20, finding 7).
func TestUserTokenRevoke(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	if code, _, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--store", store); code != 0 {
		t.Fatal(errs)
	}
	code, tok, errs := runCLI(t, "", "user", "token", "ana", "--ttl", "48h", "--store", store)
	if code != 0 || !strings.HasPrefix(tok, "lwt_") || !strings.Contains(errs, "token id ") {
		t.Fatalf("token: exit %d, %q %q", code, tok, errs)
	}
	id := strings.Fields(errs[strings.Index(errs, "token id ")+len("token id "):])[0]
	id = strings.TrimSuffix(id, ",")
	code, out, _ := runCLI(t, "", "user", "token", "list", "ana", "--store", store)
	if code != 0 || !strings.HasPrefix(out, id) || strings.Contains(out, "never") {
		t.Fatalf("list: exit %d, %q (want %s with an expiry)", code, out, id)
	}
	if code, _, errs := runCLI(t, "", "user", "token", "revoke", "ana", id, "--store", store); code != 0 {
		t.Fatalf("revoke: exit %d, %q", code, errs)
	}
	if code, out, _ := runCLI(t, "", "user", "token", "list", "ana", "--store", store); code != 0 || out != "" {
		t.Errorf("after revoke: exit %d, %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "user", "token", "revoke", "ana", id, "--store", store); code != 1 {
		t.Errorf("revoke again: exit %d, want 1", code)
	}
	if code, _, _ := runCLI(t, "", "user", "token", "a", "b", "--store", store); code != 2 {
		t.Errorf("bad form: exit %d, want 2", code)
	}
}

// verify exits 0 only for a bundle intact and signed by the given key; 3
// when intact but not checked against a trusted key; 1 when not intact
// (issue 20, finding 8).
func TestVerifyExitCodes(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "other.pub.pem")
	if code, _, errs := runCLI(t, "", "keys", "generate", "--private", filepath.Join(dir, "other.pem"), "--public", other); code != 0 {
		t.Fatal(errs)
	}
	signed, err := os.ReadFile("testdata/signed.wacz")
	if err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.wacz")
	os.WriteFile(junk, append([]byte("JUNK"), signed...), 0o644)
	for _, c := range []struct {
		args []string
		want int
	}{
		{[]string{"--public", "testdata/verify-key.pub.pem", "testdata/signed.wacz"}, 0},
		{[]string{"testdata/signed.wacz"}, 3},
		{[]string{"testdata/unsigned.wacz"}, 3},
		{[]string{"--public", other, "testdata/signed.wacz"}, 1},
		{[]string{"--public", "testdata/verify-key.pub.pem", "testdata/unsigned.wacz"}, 1},
		{[]string{"--public", "testdata/verify-key.pub.pem", junk}, 1},
		{[]string{"testdata/none.wacz"}, 2},
	} {
		code, out, errs := runCLI(t, "", append([]string{"verify"}, c.args...)...)
		if code != c.want {
			t.Errorf("verify %v: exit %d, want %d\n%s%s", c.args, code, c.want, out, errs)
		}
	}
}

// purge --release refuses without a trusted key (issue 20, finding 2).
func TestPurgeReleaseNeedsKey(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "p.db")
	code, _, errs := runCLI(t, "", "purge", "--release", "testdata/signed.wacz", "--store", store)
	if code != 2 || !strings.Contains(errs, "trusted public key") {
		t.Errorf("release without a key: exit %d, %q", code, errs)
	}
	// Read commands open only an existing store (issue 22): make one.
	if code, _, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "admin", "--password-stdin", "--store", store); code != 0 {
		t.Fatalf("user add: exit %d, %q", code, errs)
	}
	code, out, errs := runCLI(t, "", "purge", "--release", "testdata/unsigned.wacz", "--public", "testdata/verify-key.pub.pem", "--store", store)
	if code != 1 || !strings.Contains(errs, "nothing released") || !strings.Contains(out, "released 0") {
		t.Errorf("release of an unsigned bundle: exit %d, %q %q", code, out, errs)
	}
}
