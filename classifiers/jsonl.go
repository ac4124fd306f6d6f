package classifiers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/lokerwatch/lokerwatch"
)

// MaxLine is the longest input line ClassifyJSONL and EvalJSONL accept;
// longer lines are reported and skipped.
const MaxLine = 8 << 20

// InputLine is one line of `lokerwatch classify` / `eval` input.
type InputLine struct {
	ID         string `json:"id"`
	Title      string `json:"title"`
	Text       string `json:"text"`
	URL        string `json:"url,omitempty"`
	Source     string `json:"source,omitempty"`
	SourceType string `json:"source_type,omitempty"`
	Lang       string `json:"lang,omitempty"`
	Label      string `json:"label,omitempty"`
	Flag       *bool  `json:"flag,omitempty"`
	Difficulty string `json:"difficulty,omitempty"`
}

// OutputLine is one line of `lokerwatch classify` output.
type OutputLine struct {
	ID          string                      `json:"id"`
	Score       int                         `json:"score"`
	Flagged     bool                        `json:"flagged"`
	Category    lokerwatch.Category         `json:"category"`
	Categories  map[lokerwatch.Category]int `json:"categories"`
	NotAnOffer  bool                        `json:"not_an_offer"`
	Lang        string                      `json:"lang,omitempty"`
	Signals     []lokerwatch.Signal         `json:"signals"`
	Entities    lokerwatch.Entities         `json:"entities"`
	Fingerprint string                      `json:"fingerprint"` // 16 hex digits
	Version     string                      `json:"version"`
}

func (in *InputLine) ad() *lokerwatch.Ad {
	return &lokerwatch.Ad{ID: in.ID, Title: in.Title, Text: in.Text, URL: in.URL, Source: in.Source,
		SourceType: lokerwatch.SourceType(in.SourceType), Lang: in.Lang}
}

// lines calls fn for every input line; bad lines go to errw as
// "line N: reason" and are counted.
func lines(ctx context.Context, r io.Reader, errw io.Writer, needFlag bool, fn func(n int, in *InputLine) error) (bad int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return bad, err
		}
		buf = buf[:0]
		tooLong := false
		var rerr error
		for {
			chunk, isPrefix, e := br.ReadLine()
			if e != nil {
				rerr = e
				break
			}
			if len(buf)+len(chunk) > MaxLine {
				tooLong = true
			} else {
				buf = append(buf, chunk...)
			}
			if !isPrefix {
				break
			}
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return bad, fmt.Errorf("read input line %d: %w", n, rerr)
		}
		if errors.Is(rerr, io.EOF) && len(buf) == 0 && !tooLong {
			return bad, nil
		}
		line := strings.TrimSpace(string(buf))
		report := func(reason string) {
			bad++
			fmt.Fprintf(errw, "line %d: %s\n", n, reason)
		}
		switch {
		case tooLong:
			report(fmt.Sprintf("longer than %d bytes, skipped", MaxLine))
		case line == "":
			// blank lines are allowed
		default:
			var in InputLine
			dec := json.NewDecoder(strings.NewReader(line))
			if e := dec.Decode(&in); e != nil {
				report("not a JSON object: " + e.Error())
			} else if dec.More() {
				report("more than one JSON value on the line")
			} else if in.Title == "" && in.Text == "" {
				report("no title or text")
			} else if needFlag && in.Flag == nil {
				report("no boolean \"flag\" label")
			} else if e := fn(n, &in); e != nil {
				return bad, e
			}
		}
		if errors.Is(rerr, io.EOF) {
			return bad, nil
		}
	}
}

// ClassifyJSONL reads JSON lines (id, title, text, optional url, source,
// source_type, lang) and writes one JSON line per ad (or, with explain, a
// readable explanation). Bad lines are reported to errw and skipped.
func (e *Engine) ClassifyJSONL(ctx context.Context, r io.Reader, w, errw io.Writer, explain bool) (bad int, err error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	bad, err = lines(ctx, r, errw, false, func(n int, in *InputLine) error {
		ad := in.ad()
		e.Classify(ad)
		FillTrail(ad)
		if explain {
			e.Explain(bw, ad)
			return nil
		}
		return enc.Encode(outputOf(ad))
	})
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = fmt.Errorf("write output: %w", ferr)
	}
	return bad, err
}

func outputOf(ad *lokerwatch.Ad) OutputLine {
	a := ad.Assessment
	return OutputLine{ID: ad.ID, Score: a.Score, Flagged: a.Flagged, Category: a.Category, Categories: a.Categories,
		NotAnOffer: a.NotAnOffer, Lang: ad.Lang, Signals: a.Signals, Entities: ad.Entities,
		Fingerprint: fmt.Sprintf("%016x", ad.Fingerprint), Version: a.Version}
}

// Explain writes a readable account of an assessment: every rule that
// fired, the phrase that fired it and the rule's description.
func (e *Engine) Explain(w io.Writer, ad *lokerwatch.Ad) {
	a := ad.Assessment
	if a == nil {
		return
	}
	verdict := "not flagged"
	if a.Flagged {
		verdict = "FLAGGED " + string(a.Category)
	}
	if a.NotAnOffer {
		verdict += " (not an offer)"
	}
	fmt.Fprintf(w, "== %s  score %d  %s  [scam %d, nonprocedural %d, trafficking %d]  lang %s\n",
		orDash(ad.ID), a.Score, verdict, a.Categories[lokerwatch.CategoryScam], a.Categories[lokerwatch.CategoryNonprocedural],
		a.Categories[lokerwatch.CategoryTrafficking], orDash(ad.Lang))
	fmt.Fprintf(w, "   %s\n", oneLine(ad.Title, 100))
	if e.model != nil {
		fmt.Fprintf(w, "   points each signal added (base score %d with no evidence; model %s)\n", e.BaseScore(), e.model.m.Version)
	}
	for _, s := range a.Signals {
		cat := string(s.Category)
		if cat == "" {
			cat = "-"
		}
		if s.Weight == 0 && strings.HasPrefix(s.Description, "supporting") {
			fmt.Fprintf(w, "          and %q at %d-%d, %s\n", oneLine(s.Evidence, 60), s.Start, s.End, s.Description)
			continue
		}
		ev := ""
		if s.Evidence != "" {
			ev = fmt.Sprintf(" on %q at %d-%d", oneLine(s.Evidence, 60), s.Start, s.End)
		}
		fmt.Fprintf(w, "   %+4d  %-34s %-13s%s\n          %s\n", s.Weight, s.Rule, cat, ev, s.Description)
	}
	en := ad.Entities
	var parts []string
	add := func(k string, v []string) {
		if len(v) > 0 {
			parts = append(parts, k+" "+strings.Join(v, ", "))
		}
	}
	add("phones", en.Phones)
	add("whatsapp", en.WhatsApp)
	add("telegram", en.Telegram)
	add("emails", en.Emails)
	add("countries", en.Countries)
	add("places", en.Places)
	add("agencies", en.Agencies)
	add("licences", en.Licences)
	if en.SalaryIDR > 0 {
		parts = append(parts, fmt.Sprintf("salary Rp%s/month", groupThousands(en.SalaryIDR)))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "   entities: %s\n", strings.Join(parts, "; "))
	}
	fmt.Fprintf(w, "   fingerprint %016x\n\n", ad.Fingerprint)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

func groupThousands(v int64) string {
	s := fmt.Sprint(v)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Metrics are binary detection counts and rates for the "flag" label.
type Metrics struct {
	TP, FP, FN, TN        int
	Precision, Recall, F1 float64
}

func (m *Metrics) add(truth, pred bool) {
	switch {
	case truth && pred:
		m.TP++
	case !truth && pred:
		m.FP++
	case truth && !pred:
		m.FN++
	default:
		m.TN++
	}
}

func (m *Metrics) finish() {
	if m.TP+m.FP > 0 {
		m.Precision = float64(m.TP) / float64(m.TP+m.FP)
	} else {
		m.Precision = 1
	}
	if m.TP+m.FN > 0 {
		m.Recall = float64(m.TP) / float64(m.TP+m.FN)
	} else {
		m.Recall = 1
	}
	if m.Precision+m.Recall > 0 {
		m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
	}
}

// LabelStats are counts for one analyst label (scam, legit, warning, …).
type LabelStats struct {
	N       int
	Flagged int
	// SameCategory counts flagged ads whose category equals the label.
	SameCategory int
}

// Miss is an ad the engine got wrong.
type Miss struct {
	ID, Label, Lang string
	Flag            bool
	Score           int
	Category        lokerwatch.Category
	Title           string
	Signals         []lokerwatch.Signal
}

// Report is the outcome of an evaluation.
type Report struct {
	N       int
	Overall Metrics
	ByLang  map[string]*Metrics
	ByLabel map[string]*LabelStats
	// Confusion counts label -> predicted category ("none" when not flagged).
	Confusion       map[string]map[string]int
	Misses          []Miss // flag true, not flagged
	FalseAlarms     []Miss // flag false, flagged
	WarningsFlagged int    // label "warning" that were flagged
	Warnings        int    // label "warning"
	// Hard counts the examples marked difficulty: hard.
	Hard Metrics
	// Folds is the number of cross-validation folds (0: one model for all).
	Folds int
	// ByRule counts, per rule, the risky and safe ads it fired on.
	ByRule map[string]*RuleStats
	scores []scored
}

// RuleStats are one rule's hits (SpamAssassin's S/O: the share of its
// hits that were risky).
type RuleStats struct {
	Risky, Safe int
	Points      int // sum of the signal weights it contributed
	Weighed     int // hits where it contributed a non-zero weight
}

type scored struct {
	score         int
	flag, warning bool
}

// evaluate classifies labelled ads and counts.
func (e *Engine) evaluate(ctx context.Context, r io.Reader, errw io.Writer) (*Report, int, error) {
	exs, bad, err := ReadExamples(ctx, r, errw, "")
	return e.Evaluate(exs), bad, err
}

func newReport() *Report {
	return &Report{ByLang: map[string]*Metrics{}, ByLabel: map[string]*LabelStats{}, Confusion: map[string]map[string]int{}, ByRule: map[string]*RuleStats{}}
}

// add counts one classified example.
func (rep *Report) add(ex Example) {
	ad := ex.Ad
	a := ad.Assessment
	truth := ex.Flag
	rep.N++
	rep.Overall.add(truth, a.Flagged)
	rep.scores = append(rep.scores, scored{score: a.Score, flag: truth, warning: ex.Label == "warning"})
	if ex.Hard {
		rep.Hard.add(truth, a.Flagged)
	}
	lang := ad.Lang
	if lang == "" {
		lang = "unknown"
	}
	if rep.ByLang[lang] == nil {
		rep.ByLang[lang] = &Metrics{}
	}
	rep.ByLang[lang].add(truth, a.Flagged)
	label := ex.Label
	if label == "" {
		label = map[bool]string{true: "flag", false: "noflag"}[truth]
	}
	ls := rep.ByLabel[label]
	if ls == nil {
		ls = &LabelStats{}
		rep.ByLabel[label] = ls
	}
	ls.N++
	pred := "none"
	if a.Flagged {
		ls.Flagged++
		pred = string(a.Category)
		if pred == label {
			ls.SameCategory++
		}
		if label == "warning" {
			rep.WarningsFlagged++
		}
	}
	if label == "warning" {
		rep.Warnings++
	}
	if rep.Confusion[label] == nil {
		rep.Confusion[label] = map[string]int{}
	}
	rep.Confusion[label][pred]++
	seen := map[string]bool{}
	for _, s := range a.Signals {
		if seen[s.Rule] {
			continue
		}
		seen[s.Rule] = true
		rs := rep.ByRule[s.Rule]
		if rs == nil {
			rs = &RuleStats{}
			rep.ByRule[s.Rule] = rs
		}
		if truth {
			rs.Risky++
		} else {
			rs.Safe++
		}
		if s.Weight != 0 {
			rs.Points += s.Weight
			rs.Weighed++
		}
	}
	if truth != a.Flagged {
		m := Miss{ID: ad.ID, Label: ex.Label, Lang: lang, Flag: truth, Score: a.Score, Category: a.Category, Title: ad.Title, Signals: a.Signals}
		if truth {
			rep.Misses = append(rep.Misses, m)
		} else {
			rep.FalseAlarms = append(rep.FalseAlarms, m)
		}
	}
}

func (rep *Report) finish() {
	rep.Overall.finish()
	rep.Hard.finish()
	for _, m := range rep.ByLang {
		m.finish()
	}
}

// EvalJSONL reads labelled lines (id, title, text, lang, label, flag),
// prints precision, recall and F1 overall, per label and per language, the
// confusion counts and, with errors, every miss and false alarm with its
// signals. It returns the numbers as a Report too.
func (e *Engine) EvalJSONL(ctx context.Context, r io.Reader, w, errw io.Writer, errors bool) (*Report, int, error) {
	rep, bad, err := e.evaluate(ctx, r, errw)
	if err != nil {
		return rep, bad, err
	}
	rep.Print(w, errors)
	return rep, bad, nil
}

// Print writes the report readably.
func (rep *Report) Print(w io.Writer, errors bool) {
	o := rep.Overall
	fmt.Fprintf(w, "ads %d   flagged correctly %d, missed %d, false alarms %d, correctly left %d\n", rep.N, o.TP, o.FN, o.FP, o.TN)
	fmt.Fprintf(w, "overall   precision %.3f  recall %.3f  F1 %.3f\n\n", o.Precision, o.Recall, o.F1)
	fmt.Fprintf(w, "%-10s %5s %5s %5s %5s %9s %7s %6s\n", "language", "tp", "fp", "fn", "tn", "precision", "recall", "F1")
	for _, k := range sortedKeys(rep.ByLang) {
		m := rep.ByLang[k]
		fmt.Fprintf(w, "%-10s %5d %5d %5d %5d %9.3f %7.3f %6.3f\n", k, m.TP, m.FP, m.FN, m.TN, m.Precision, m.Recall, m.F1)
	}
	fmt.Fprintf(w, "\n%-14s %5s %8s %6s %13s\n", "label", "ads", "flagged", "rate", "same category")
	for _, k := range sortedKeys(rep.ByLabel) {
		l := rep.ByLabel[k]
		fmt.Fprintf(w, "%-14s %5d %8d %6.3f %13d\n", k, l.N, l.Flagged, float64(l.Flagged)/float64(max(l.N, 1)), l.SameCategory)
	}
	cols := []string{"none", "scam", "nonprocedural", "trafficking"}
	fmt.Fprintf(w, "\nconfusion (label -> predicted category)\n%-14s", "")
	for _, c := range cols {
		fmt.Fprintf(w, " %13s", c)
	}
	fmt.Fprintln(w)
	for _, k := range sortedKeys(rep.Confusion) {
		fmt.Fprintf(w, "%-14s", k)
		for _, c := range cols {
			fmt.Fprintf(w, " %13d", rep.Confusion[k][c])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nwarning posts flagged: %d of %d\n", rep.WarningsFlagged, rep.Warnings)
	if h := rep.Hard; h.TP+h.FN+h.FP+h.TN > 0 {
		fmt.Fprintf(w, "hard ads: precision %.3f  recall %.3f  F1 %.3f  (%d ads)\n", h.Precision, h.Recall, h.F1, h.TP+h.FN+h.FP+h.TN)
	}
	if !errors {
		return
	}
	show := func(title string, ms []Miss) {
		fmt.Fprintf(w, "\n%s (%d)\n", title, len(ms))
		for _, m := range ms {
			fmt.Fprintf(w, "- %s [%s, %s] score %d %s: %s\n", m.ID, orDash(m.Label), m.Lang, m.Score, orDash(string(m.Category)), oneLine(m.Title, 80))
			for _, s := range m.Signals {
				if s.Weight == 0 && s.Evidence != "" {
					continue
				}
				fmt.Fprintf(w, "    %+4d %s %q\n", s.Weight, s.Rule, oneLine(s.Evidence, 60))
			}
		}
	}
	show("misses", rep.Misses)
	show("false alarms", rep.FalseAlarms)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
