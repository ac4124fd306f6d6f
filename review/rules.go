package review

import (
	"errors"
	"net/http"
	"sort"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The Rules page (admin): each rule's hits on the ads analysts decided,
// split by verdict, and its precision on those verdicts — SpamAssassin's
// S/O ratio, measured on this desk's own decisions rather than on the
// training set. A rule that fires mostly on benign verdicts is one to
// look at (or to retrain away: `lokerwatch train --from-store`).

// maxRuleItems bounds the decided items the page reads (newest first by
// the queue's order); the page says when it stopped there.
const maxRuleItems = 5000

type ruleRow struct {
	Rule        string
	Description string
	Risky       int // hits on ads decided scam, nonprocedural or trafficking
	Benign      int
	Precision   float64
	Points      int // average contribution to the score when it fired
	Category    lokerwatch.Category
}

type rulesData struct {
	Rows      []ruleRow
	Items     int
	Risky     int
	Benign    int
	Truncated bool
	Versions  []string // classifier versions seen on the decided ads
}

func (s *Server) rulesPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d, err := s.ruleStats(r)
	if err != nil {
		s.storeError(w, r, "rule statistics", err)
		return
	}
	for i := range d.Rows {
		d.Rows[i].Description = s.ruleDescription(langOf(r), d.Rows[i].Rule, d.Rows[i].Description)
	}
	s.render(w, r, http.StatusOK, "rules", newPage(p, tr(r, "rules.title"), "rules", d))
}

func (s *Server) ruleStats(r *http.Request) (*rulesData, error) {
	ctx := r.Context()
	items, err := s.st.ListItems(ctx, storage.ReviewFilter{Status: lokerwatch.StatusDecided, Limit: maxRuleItems + 1})
	if err != nil {
		return nil, err
	}
	d := &rulesData{}
	if len(items) > maxRuleItems {
		items, d.Truncated = items[:maxRuleItems], true
	}
	rows := map[string]*ruleRow{}
	points := map[string]int{}
	versions := map[string]bool{}
	for _, it := range items {
		risky, ok := it.Verdict.Label()
		if !ok {
			continue
		}
		ad, err := s.st.GetAd(ctx, it.AdID)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			continue // purged since the decision
		}
		if err != nil {
			return nil, err
		}
		if ad.Assessment == nil {
			continue
		}
		d.Items++
		if risky {
			d.Risky++
		} else {
			d.Benign++
		}
		versions[ad.Assessment.Version] = true
		seen := map[string]bool{}
		for _, sg := range ad.Assessment.Signals {
			if seen[sg.Rule] {
				continue
			}
			seen[sg.Rule] = true
			row := rows[sg.Rule]
			if row == nil {
				row = &ruleRow{Rule: sg.Rule, Description: sg.Description, Category: sg.Category}
				rows[sg.Rule] = row
			}
			if risky {
				row.Risky++
			} else {
				row.Benign++
			}
			points[sg.Rule] += sg.Weight
		}
	}
	for id, row := range rows {
		n := row.Risky + row.Benign
		row.Precision = float64(row.Risky) / float64(n)
		row.Points = points[id] / n
		d.Rows = append(d.Rows, *row)
	}
	sort.Slice(d.Rows, func(i, j int) bool {
		a, b := d.Rows[i], d.Rows[j]
		if a.Risky+a.Benign != b.Risky+b.Benign {
			return a.Risky+a.Benign > b.Risky+b.Benign
		}
		return a.Rule < b.Rule
	})
	for v := range versions {
		d.Versions = append(d.Versions, v)
	}
	sort.Strings(d.Versions)
	return d, nil
}
