package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/internal/shareddata"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// sharedLabels writes a small labelled file for the CLI tests: the first
// perLabel ads of each label of ../shared/data/ads-train.jsonl (read at
// test time, never copied into the repository), so training under the
// race detector stays quick. It skips when the shared set is absent.
func sharedLabels(t *testing.T, perLabel int) (string, int) {
	t.Helper()
	src := shareddata.Path(t, "ads-train.jsonl")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	taken := map[string]int{}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		var in struct {
			Label string `json:"label"`
		}
		if json.Unmarshal([]byte(line), &in) != nil || taken[in.Label] >= perLabel {
			continue
		}
		taken[in.Label]++
		n++
		out.WriteString(line + "\n")
	}
	if len(taken) < 5 {
		t.Fatalf("%s has labels %v, want scam, nonprocedural, trafficking, legit and warning", src, taken)
	}
	return writeFile(t, "labels.jsonl", out.String()), n
}

// TestTrainAndEvalCommands: train writes a model that classify.model loads;
// eval cross-validates and prints the threshold and per-rule tables; bad
// flags are usage errors.
func TestTrainAndEvalCommands(t *testing.T) {
	smallLabels, n := sharedLabels(t, 6)
	dir := t.TempDir()
	model := filepath.Join(dir, "m.json")
	code, out, errs := runCLI(t, "", "train", "--labels", smallLabels, "-o", model)
	if code != 0 || !strings.Contains(out, "trained model") {
		t.Fatalf("train: exit %d\n%s%s", code, out, errs)
	}
	m, err := classifiers.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	if want := classifiers.DataLabel(smallLabels, n); len(m.Data) != 1 || m.Data[0] != want {
		t.Errorf("model data %v, want [%s]", m.Data, want)
	}
	cfg := writeFile(t, "c.yaml", "classify:\n  model: "+model+"\n")
	code, out, errs = runCLI(t, `{"id":"a","title":"Loker","text":"CS online Kamboja gaji 1000 USD WA 0812 3456 7890"}`+"\n", "classify", "--config", cfg)
	if code != 0 || !strings.Contains(out, "+"+m.Version) {
		t.Errorf("classify with classify.model: exit %d, want version +%s in %s%s", code, m.Version, out, errs)
	}

	code, out, errs = runCLI(t, "", "eval", "--labels", smallLabels, "--cv", "3", "--by-rule")
	if code != 0 {
		t.Fatalf("eval --cv: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"3-fold cross-validation", "threshold precision", "S/O", "warning posts flagged"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval --cv output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "", "eval", "--labels", smallLabels, "--rules-only")
	if code != 0 || !strings.Contains(out, "precision") {
		t.Errorf("eval --rules-only: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"eval", "--labels", smallLabels, "--cv", "1"},
		{"eval", "--labels", smallLabels, "--eval-only", smallLabels},
		{"train", "--labels", smallLabels},
		{"train", "-o", model},
		{"train", "--labels", "no-such-file.jsonl", "-o", model},
	} {
		if code, _, _ := runCLI(t, "", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	bad := writeFile(t, "bad.json", `{"format":1,"heads":{}}`)
	badCfg := writeFile(t, "b.yaml", "classify:\n  model: "+bad+"\n")
	if code, _, errs := runCLI(t, `{"id":"a","title":"x","text":"y"}`, "classify", "--config", badCfg); code != 2 || !strings.Contains(errs, "bad.json") {
		t.Errorf("broken model: exit %d, stderr %q; want 2 naming the file", code, errs)
	}
}

// TestRescoreAndVerdictTraining: after a model change, rescore re-scores
// stored ads, refreshes pending review items' scores (their place in the
// queue) and queues newly flagged ads once; train --from-store learns
// from decided items and skips undecided ones.
func TestRescoreAndVerdictTraining(t *testing.T) {
	smallLabels, n := sharedLabels(t, 6)
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "lw.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := classifiers.New(classifiers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ads := []*lokerwatch.Ad{
		{ID: "ad1", Source: "s", URL: "https://jobs.example/1", FetchedAt: time.Now(), Title: "Loker CS Kamboja", Text: "Dicari CS online di Kamboja, gaji 1000 USD, tiket gratis, tanpa pengalaman, bawa paspor saja. WA 0812 3456 7001"},
		{ID: "ad2", Source: "s", URL: "https://jobs.example/2", FetchedAt: time.Now(), Title: "Staf gudang", Text: "Dicari staf gudang di Bekasi, gaji UMR. Lamaran ke kantor."},
		{ID: "ad3", Source: "s", URL: "https://jobs.example/3", FetchedAt: time.Now(), Title: "Admin chat Myawaddy", Text: "Admin chat Myawaddy gaji 20 juta, berangkat minggu ini, visa turis. Japri 0812 3456 7003"},
	}
	var items []*lokerwatch.ReviewItem
	for _, ad := range ads {
		eng.Classify(ad)
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if ad.Assessment.Flagged {
			it, _, err := st.Enqueue(ctx, ad)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, it)
		}
	}
	if len(items) != 2 {
		t.Fatalf("%d ads flagged by the default model, want 2 (ad1, ad3)", len(items))
	}
	// An analyst decides ad3: scam.
	if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: items[1].ID, AdID: "ad3", Verdict: lokerwatch.VerdictScam, Reviewer: "ana", DecidedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	store := "sqlite:" + db
	model := filepath.Join(dir, "m.json")
	code, out, errs := runCLI(t, "", "train", "--labels", smallLabels, "--from-store", store, "-o", model)
	if want := fmt.Sprintf("on %d ads", n+1); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("train --from-store: exit %d, want %q (%d labelled + 1 decided)\n%s%s", code, want, n, out, errs)
	}
	m, err := classifiers.LoadModel(model)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "c.yaml", "classify:\n  model: "+model+"\n  threshold: 1\n")
	code, out, errs = runCLI(t, "", "rescore", "--config", cfg, "--store", store)
	if code != 0 || !strings.Contains(out, "3 ads scored") {
		t.Fatalf("rescore: exit %d\n%s%s", code, out, errs)
	}
	st, err = sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []string{"ad1", "ad2", "ad3"} {
		ad, err := st.GetAd(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(ad.Assessment.Version, "+"+m.Version) {
			t.Errorf("%s: version %q after rescore, want the new model %s", id, ad.Assessment.Version, m.Version)
		}
		it, err := st.ItemForAd(ctx, id)
		if err != nil {
			t.Fatalf("%s: review item after rescore (threshold 1 flags every ad): %v", id, err)
		}
		if it.Status == lokerwatch.StatusPending && it.Score != ad.Assessment.Score {
			t.Errorf("%s: pending item scores %d, ad %d: the queue was not re-ordered", id, it.Score, ad.Assessment.Score)
		}
		if id == "ad3" && (it.Status != lokerwatch.StatusDecided || it.Verdict != lokerwatch.VerdictScam) {
			t.Errorf("ad3: decided item changed by rescore: %+v", it)
		}
	}
	// A second rescore with the same model changes nothing.
	code, out, _ = runCLI(t, "", "rescore", "--config", cfg, "--store", store)
	if code != 0 || !strings.Contains(out, "0 changed") {
		t.Errorf("second rescore: exit %d: %s", code, out)
	}
	if _, err := os.Stat(model); err != nil {
		t.Fatal(err)
	}
}
