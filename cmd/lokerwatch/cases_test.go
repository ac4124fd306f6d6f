package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// demo --once, a case opened on the shared account, export --case signed,
// verify --public: the whole hand-over from the command line.
func TestExportCaseVerifies(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "lw.db")
	store := "sqlite:" + db
	if code, _, errs := runCLI(t, "", "demo", "--once", "--store", store); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	st, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	by := storage.CaseActor{User: "ina"}
	c, err := st.CreateCase(context.Background(), "BCA Hendra", by)
	if err == nil {
		_, err = st.AddCaseItem(context.Background(), c.ID, storage.CaseItem{Kind: "entity", Ref: "bank:bca:4471209385"}, by)
	}
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	priv, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub.pem")
	if code, _, errs := runCLI(t, "", "keys", "generate", "--private", priv, "--public", pub); code != 0 {
		t.Fatalf("keys: exit %d: %s", code, errs)
	}
	out := filepath.Join(dir, "case.wacz")
	code, stdout, errs := runCLI(t, "", "export", "--store", store, "--case", c.ID, "--key", priv, "-o", out)
	if code != 0 {
		t.Fatalf("export --case: exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "2 ads") {
		t.Errorf("export said %q, want 2 ads", stdout)
	}
	code, stdout, errs = runCLI(t, "", "verify", "--public", pub, out)
	if code != 0 || !strings.Contains(stdout, "INTACT") {
		t.Fatalf("verify: exit %d: %s %s", code, stdout, errs)
	}
	if code, _, _ := runCLI(t, "", "export", "--store", store, "--case", "99", "-o", filepath.Join(dir, "x.wacz")); code != 2 {
		t.Errorf("export of an unknown case: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "", "export", "--store", store, "--case", c.ID, "--format", "csv", "-o", filepath.Join(dir, "x.csv")); code != 2 {
		t.Errorf("export --case --format csv: exit %d, want 2", code)
	}
}

// personas link puts ads stored without personas into them, idempotently.
func TestPersonasLink(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "lw.db")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"DP ke BCA 1234567890 a.n. Budi", "transfer bca 123-456-7890"} {
		ad := &lokerwatch.Ad{ID: fmt.Sprint("old-", i), Source: fmt.Sprint("s", i), Title: "Loker", Text: text,
			Entities: lokerwatch.Entities{Accounts: []string{"bca:1234567890"}}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for range 2 {
		code, out, errs := runCLI(t, "", "personas", "link", "--store", "sqlite:"+db)
		if code != 0 || !strings.Contains(out, "linked 2 ads") {
			t.Fatalf("personas link: %d %q %s", code, out, errs)
		}
	}
	st, err = sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.PersonaOf(ctx, "old-1")
	if err != nil || p.Size != 2 {
		t.Fatalf("persona after link: %+v %v", p, err)
	}
	if code, _, _ := runCLI(t, "", "personas"); code != 2 {
		t.Errorf("personas without link: exit %d", code)
	}
}
