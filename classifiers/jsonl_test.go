package classifiers

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestClassifyJSONL(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"a1","title":"Loker CS Kamboja","text":"Customer service di Bavet, gaji $1.000, tanpa pengalaman, visa turis, tiket gratis. WA 0813 1111 2222"}`,
		`this is not json`,
		``,
		`{"id":"a2","title":"Kurir Bandung","text":"Lowongan kurir motor di Bandung, gaji UMK, BPJS."}`,
		`{"id":"a3"}`,
		`{"id":"a4","title":"x","text":"y"} {"id":"a5"}`,
	}, "\n")
	var out, errs strings.Builder
	bad, err := engine(t).ClassifyJSONL(context.Background(), strings.NewReader(in), &out, &errs, false)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 3 {
		t.Errorf("bad = %d, want 3 (errors: %s)", bad, errs.String())
	}
	for _, want := range []string{"line 2: not a JSON object", "line 5: no title or text", "line 6: more than one JSON value"} {
		if !strings.Contains(errs.String(), want) {
			t.Errorf("errors %q lack %q", errs.String(), want)
		}
	}
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	if len(lines) != 2 {
		t.Fatalf("%d output lines, want 2", len(lines))
	}
	first := lines[0]
	for _, k := range []string{"id", "score", "flagged", "category", "categories", "signals", "entities", "fingerprint"} {
		if _, ok := first[k]; !ok {
			t.Errorf("output lacks %q: %v", k, first)
		}
	}
	if first["id"] != "a1" || first["flagged"] != true || first["category"] != "scam" {
		t.Errorf("first line: %v", first)
	}
	sig := first["signals"].([]any)[0].(map[string]any)
	for _, k := range []string{"rule", "category", "weight", "evidence", "start", "end"} {
		if _, ok := sig[k]; !ok {
			t.Errorf("signal lacks %q: %v", k, sig)
		}
	}
	if lines[1]["flagged"] != false || lines[1]["category"] != "" {
		t.Errorf("second line: %v", lines[1])
	}
}

func TestExplain(t *testing.T) {
	in := `{"id":"x1","title":"Loker Kamboja","text":"Admin sosmed di Sihanoukville, gaji 15jt, visa turis aja. WA 0813 1111 2222"}`
	var out strings.Builder
	if _, err := engine(t).ClassifyJSONL(context.Background(), strings.NewReader(in), &out, &strings.Builder{}, true); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"== x1", "FLAGGED scam", "sc.lure_in_hotspot", `"Sihanoukville"`, "scam-compound recruitment profile", "phones +6281311112222"} {
		if !strings.Contains(s, want) {
			t.Errorf("explanation lacks %q:\n%s", want, s)
		}
	}
}

func TestEvalJSONL(t *testing.T) {
	in := strings.Join([]string{
		`{"id":"s1","lang":"id","label":"scam","flag":true,"title":"CS Kamboja","text":"Customer service di Phnom Penh, gaji 15 juta, tanpa pengalaman, visa turis, tiket gratis. WA 0813 1111 2222"}`,
		`{"id":"s2","lang":"en","label":"scam","flag":true,"title":"Nice job","text":"Nice office job, apply now."}`,
		`{"id":"l1","lang":"id","label":"legit","flag":false,"title":"Kurir","text":"Kurir motor Bandung, gaji UMK."}`,
		`{"id":"w1","lang":"id","label":"warning","flag":false,"title":"WASPADA","text":"Hati-hati loker CS Kamboja gaji 15 juta visa turis, itu modus penipuan. Jangan daftar!"}`,
		`{"id":"nolabel","title":"x","text":"y"}`,
	}, "\n")
	var out, errs strings.Builder
	rep, bad, err := engine(t).EvalJSONL(context.Background(), strings.NewReader(in), &out, &errs, true)
	if err != nil {
		t.Fatal(err)
	}
	if bad != 1 || !strings.Contains(errs.String(), `line 5: no boolean "flag"`) {
		t.Errorf("bad = %d, errors %q", bad, errs.String())
	}
	o := rep.Overall
	if o.TP != 1 || o.FN != 1 || o.FP != 0 || o.TN != 2 || o.Precision != 1 || o.Recall != 0.5 {
		t.Errorf("overall %+v", o)
	}
	if m := rep.ByLang["en"]; m == nil || m.FN != 1 {
		t.Errorf("by language: %+v", rep.ByLang)
	}
	if l := rep.ByLabel["scam"]; l == nil || l.N != 2 || l.Flagged != 1 || l.SameCategory != 1 {
		t.Errorf("by label: %+v", rep.ByLabel["scam"])
	}
	if rep.Confusion["legit"]["none"] != 1 || rep.Confusion["scam"]["scam"] != 1 {
		t.Errorf("confusion %v", rep.Confusion)
	}
	if len(rep.Misses) != 1 || rep.Misses[0].ID != "s2" || rep.WarningsFlagged != 0 {
		t.Errorf("misses %v, warnings flagged %d", rep.Misses, rep.WarningsFlagged)
	}
	for _, want := range []string{"precision 1.000  recall 0.500", "misses (1)", "- s2 [scam, en]", "confusion"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestClassifyJSONLCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := engine(t).ClassifyJSONL(ctx, strings.NewReader(`{"id":"a","title":"t","text":"x"}`), &strings.Builder{}, &strings.Builder{}, false)
	if err == nil {
		t.Error("cancelled context did not stop classification")
	}
}
