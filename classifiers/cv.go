package classifiers

import (
	"context"
	"fmt"
	"io"
	"sort"
)

// ReadExamples reads labelled JSON lines (id, title, text, lang, flag,
// optional label, difficulty). Bad lines go to errw as "line N: reason"
// and are counted; source names the file in reports.
func ReadExamples(ctx context.Context, r io.Reader, errw io.Writer, source string) ([]Example, int, error) {
	var exs []Example
	bad, err := lines(ctx, r, errw, true, func(n int, in *InputLine) error {
		ad := in.ad()
		if ad.ID == "" {
			ad.ID = fmt.Sprintf("%s:%d", source, n)
		}
		exs = append(exs, Example{Ad: ad, Flag: *in.Flag, Label: in.Label, Hard: in.Difficulty == "hard", Source: source})
		return nil
	})
	return exs, bad, err
}

// CrossValidate scores every example with a model trained on the other
// folds (k folds, near-duplicates kept in one fold; EvalOnly examples are
// scored but never fitted on) and reports on all of them. opt configures
// the engines (rules dir, registry, threshold); its model is ignored.
func CrossValidate(ctx context.Context, opt Options, exs []Example, k int, topt TrainOptions) (*Report, error) {
	if k < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 folds, got %d", k)
	}
	base := opt
	base.RulesOnly, base.Model, base.ModelFile, base.Registerer = true, nil, "", nil
	rulesEng, err := New(base)
	if err != nil {
		return nil, err
	}
	folds := assignFolds(groupsOf(exs), k)
	rep := newReport()
	rep.Folds = k
	for f := 0; f < k; f++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var tr []Example
		for i, ex := range exs {
			if folds[i] != f {
				tr = append(tr, ex)
			}
		}
		m, err := rulesEng.Train(tr, topt)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		if _, err := m.Encode(); err != nil { // sets its version
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		fo := opt
		fo.Model, fo.RulesOnly, fo.Registerer = m, false, nil
		eng, err := New(fo)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, err)
		}
		var test []Example
		for i, ex := range exs {
			if folds[i] == f {
				test = append(test, ex)
			}
		}
		eng.ClassifyExamples(test)
		for _, ex := range test {
			rep.add(ex)
		}
	}
	rep.finish()
	return rep, nil
}

// ThresholdRow is precision and recall at one threshold.
type ThresholdRow struct {
	Threshold       int
	Metrics         Metrics
	WarningsFlagged int
}

// Thresholds is the precision/recall table by threshold, from the scores
// the report saw.
func (rep *Report) Thresholds(ts []int) []ThresholdRow {
	var out []ThresholdRow
	for _, t := range ts {
		row := ThresholdRow{Threshold: t}
		for _, s := range rep.scores {
			row.Metrics.add(s.flag, s.score >= t)
			if s.warning && s.score >= t {
				row.WarningsFlagged++
			}
		}
		row.Metrics.finish()
		out = append(out, row)
	}
	return out
}

// PrintThresholds writes the precision/recall table.
func (rep *Report) PrintThresholds(w io.Writer) {
	fmt.Fprintf(w, "\n%-9s %9s %7s %6s %9s\n", "threshold", "precision", "recall", "F1", "warnings")
	for _, r := range rep.Thresholds([]int{20, 30, 40, 50, 60, 70, 80, 90}) {
		fmt.Fprintf(w, "%-9d %9.3f %7.3f %6.3f %9d\n", r.Threshold, r.Metrics.Precision, r.Metrics.Recall, r.Metrics.F1, r.WarningsFlagged)
	}
}

// PrintByRule writes each rule's hits on risky and safe ads and its
// precision (S/O), most hits first.
func (rep *Report) PrintByRule(w io.Writer) {
	type row struct {
		id string
		s  *RuleStats
	}
	var rows []row
	for id, s := range rep.ByRule {
		rows = append(rows, row{id, s})
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].s, rows[j].s
		if a.Risky+a.Safe != b.Risky+b.Safe {
			return a.Risky+a.Safe > b.Risky+b.Safe
		}
		return rows[i].id < rows[j].id
	})
	fmt.Fprintf(w, "\n%-36s %6s %6s %6s %10s\n", "rule", "risky", "safe", "S/O", "avg points")
	for _, r := range rows {
		so := float64(r.s.Risky) / float64(max(r.s.Risky+r.s.Safe, 1))
		avg := 0.0
		if r.s.Weighed > 0 {
			avg = float64(r.s.Points) / float64(r.s.Weighed)
		}
		fmt.Fprintf(w, "%-36s %6d %6d %6.3f %+10.1f\n", r.id, r.s.Risky, r.s.Safe, so, avg)
	}
}

// ClassifyExamples classifies examples in place (fresh assessments).
func (e *Engine) ClassifyExamples(exs []Example) {
	for i := range exs {
		cp := *exs[i].Ad
		cp.Assessment = nil
		exs[i].Ad = &cp
		e.Classify(exs[i].Ad)
	}
}

// Evaluate classifies examples and reports.
func (e *Engine) Evaluate(exs []Example) *Report {
	e.ClassifyExamples(exs)
	rep := newReport()
	for _, ex := range exs {
		rep.add(ex)
	}
	rep.finish()
	return rep
}
