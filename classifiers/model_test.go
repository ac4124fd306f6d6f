package classifiers

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/internal/shareddata"
)

// sharedFile finds ../shared/data/NAME beside the module root, or skips.
func sharedFile(t testing.TB, name string) string {
	t.Helper()
	return shareddata.Path(t, name)
}

func readExamples(t testing.TB, path string, evalOnly bool) []Example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exs, bad, err := ReadExamples(context.Background(), f, io.Discard, filepath.Base(path))
	if err != nil || bad > 0 {
		t.Fatalf("read %s: %d bad lines, %v", path, bad, err)
	}
	for i := range exs {
		exs[i].EvalOnly = evalOnly
	}
	return exs
}

func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("model fitting under the race detector takes minutes; `make quality` runs this test without it")
	}
}

// TestCrossValidationGate is issue 18's gate: 5-fold cross-validation over
// the training set and the development set (the development ads are only
// scored, never fitted on; near-duplicates share a fold) reaches precision
// and recall of at least 0.93, flags at most 3% of warnings, and recalls
// at least 0.9 of the ads marked hard.
func TestCrossValidationGate(t *testing.T) {
	skipUnderRace(t)
	exs := readExamples(t, sharedFile(t, "ads-train.jsonl"), false)
	exs = append(exs, readExamples(t, devSet(t), true)...)
	rep, err := CrossValidate(context.Background(), Options{}, exs, 5, TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out, false)
	rep.PrintThresholds(&out)
	t.Log("\n" + out.String())
	o := rep.Overall
	if o.Precision < 0.93 || o.Recall < 0.93 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.93", o.Precision, o.Recall)
	}
	if rep.Warnings == 0 || float64(rep.WarningsFlagged) > 0.03*float64(rep.Warnings) {
		t.Errorf("%d of %d warnings flagged, want at most 3%%", rep.WarningsFlagged, rep.Warnings)
	}
	if h := rep.Hard; h.TP+h.FN == 0 || h.Recall < 0.9 {
		t.Errorf("recall on hard ads %.3f (%d risky hard ads), want >= 0.9", h.Recall, h.TP+h.FN)
	}
}

// TestEmbeddedModelRetrains re-trains the default model from the shared
// training set, as `lokerwatch train --labels ads-train.jsonl` does, and
// requires the embedded model byte for byte: the shipped weights are what
// the shipped code learns from the shipped data.
func TestEmbeddedModelRetrains(t *testing.T) {
	skipUnderRace(t)
	path := sharedFile(t, "ads-train.jsonl")
	exs := readExamples(t, path, false)
	e, err := New(Options{RulesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.Train(exs, TrainOptions{Data: []string{DataLabel(path, len(exs))}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, embeddedModel) {
		emb, _ := ParseModel(embeddedModel)
		t.Fatalf("re-trained model %s differs from the embedded %s: run `make model` and commit defaults/model.json", m.Version, emb.Version)
	}
}

// TestModelRoundTrip: a trained model encodes, parses back and scores the
// same; a model of another hashing size or with misaligned weights is refused.
func TestModelRoundTrip(t *testing.T) {
	m, err := ParseModel(embeddedModel)
	if err != nil {
		t.Fatal(err)
	}
	body, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, embeddedModel) {
		t.Error("embedded model does not re-encode to itself")
	}
	path := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	e1 := engine(t)
	e2, err := New(Options{ModelFile: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range loadLines(t, "testdata/tuned.jsonl")[:10] {
		a1 := &lokerwatch.Ad{Title: in.Title, Text: in.Text}
		a2 := &lokerwatch.Ad{Title: in.Title, Text: in.Text}
		e1.Classify(a1)
		e2.Classify(a2)
		if a1.Assessment.Score != a2.Assessment.Score || a1.Assessment.Version != a2.Assessment.Version {
			t.Errorf("%s: %d/%s from the embedded model, %d/%s from the file", in.ID, a1.Assessment.Score, a1.Assessment.Version, a2.Assessment.Score, a2.Assessment.Version)
		}
	}
	for name, mutate := range map[string]func(*Model){
		"format":   func(m *Model) { m.Format = 2 },
		"dim":      func(m *Model) { m.Text.Dim = 1 << 10 },
		"weights":  func(m *Model) { m.Heads["risk"].Weights = m.Heads["risk"].Weights[1:] },
		"buckets":  func(m *Model) { m.Text.Buckets[0], m.Text.Buckets[1] = m.Text.Buckets[1], m.Text.Buckets[0] },
		"no risk":  func(m *Model) { delete(m.Heads, "risk") },
		"text len": func(m *Model) { m.Text.Weights["risk"] = m.Text.Weights["risk"][1:] },
	} {
		bad, _ := ParseModel(embeddedModel)
		mutate(bad)
		data, _ := bad.Encode()
		if _, err := ParseModel(data); err == nil {
			t.Errorf("%s: a broken model was accepted", name)
		}
	}
	if _, err := New(Options{ModelFile: filepath.Join(t.TempDir(), "missing.json")}); err == nil {
		t.Error("a missing model file was accepted")
	}
	if e1.ModelVersion() == "" || e1.Version() == e1.RulesVersion() {
		t.Errorf("version %q does not name the model", e1.Version())
	}
}

// TestVerdictsTrain: analysts' verdicts are labels. Ads an analyst marked
// benign that the default model flags are learned from: after training
// with them, the same ads score lower.
func TestVerdictsTrain(t *testing.T) {
	skipUnderRace(t)
	exs := readExamples(t, sharedFile(t, "ads-train.jsonl"), false)
	e, err := New(Options{RulesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	// Posts the default model flags, which analysts judged benign (say, a
	// hotel chain's real front-office openings in Phnom Penh).
	ad := func(i int) *lokerwatch.Ad {
		return &lokerwatch.Ad{ID: "v" + string(rune('a'+i)), Title: "Lowongan front office hotel Phnom Penh",
			Text: "Dicari staf front office untuk hotel di Phnom Penh, Kamboja. Gaji 1.200 USD, tanpa pengalaman, tiket pesawat dan mess ditanggung. Hubungi WA 0812 7000 " + string(rune('1'+i)) + "111"}
	}
	before := engine(t)
	probe := ad(9)
	before.Classify(probe)
	if probe.Assessment.Score < 30 {
		t.Fatalf("probe scores only %d with the default model; the test needs one it finds risky", probe.Assessment.Score)
	}
	var verdicts []Example
	for i := 0; i < 8; i++ {
		verdicts = append(verdicts, Example{Ad: ad(i), Flag: false, Label: "benign", Source: "store"})
	}
	m, err := e.Train(append(exs, verdicts...), TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Encode(); err != nil {
		t.Fatal(err)
	}
	after, err := New(Options{Model: m})
	if err != nil {
		t.Fatal(err)
	}
	probe2 := ad(9)
	after.Classify(probe2)
	t.Logf("probe score %d before the verdicts, %d after", probe.Assessment.Score, probe2.Assessment.Score)
	if probe2.Assessment.Score >= probe.Assessment.Score {
		t.Errorf("benign verdicts did not lower the score of a like ad: %d before, %d after", probe.Assessment.Score, probe2.Assessment.Score)
	}
}
