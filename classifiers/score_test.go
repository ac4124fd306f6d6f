package classifiers

import (
	"testing"

	"github.com/lokerwatch/lokerwatch"
)

// TestScoreScale checks the score curve: the sum itself up to 50 (so the
// threshold flags what it always flagged), then rising and saturating
// below 100.
func TestScoreScale(t *testing.T) {
	e := engine(t)
	prev := -1
	for sum := -200; sum <= 2000; sum++ {
		s := e.scoreOf(sum)
		switch {
		case sum <= 0 && s != 0:
			t.Fatalf("sum %d: score %d, want 0", sum, s)
		case sum > 0 && sum <= 50 && s != sum:
			t.Fatalf("sum %d: score %d, want the sum", sum, s)
		case s < prev:
			t.Fatalf("sum %d: score %d falls below %d", sum, s, prev)
		case s >= 100:
			t.Fatalf("sum %d: score %d, want below 100", sum, s)
		case sum > 50 && (s >= 50) != (sum >= 50):
			t.Fatalf("sum %d: score %d crosses the threshold differently", sum, s)
		}
		prev = s
	}
	for _, c := range []struct{ sum, lo, hi int }{{60, 53, 60}, {80, 60, 72}, {100, 68, 80}, {200, 88, 96}} {
		if s := e.scoreOf(c.sum); s < c.lo || s > c.hi {
			t.Errorf("sum %d: score %d, want %d–%d", c.sum, s, c.lo, c.hi)
		}
	}
}

// TestScoresRank checks the scores of flagged ads: within [threshold,
// 100], the top category carrying the ad's score and the others below it.
// The score is a calibrated probability × 100, so ads with many strong
// signals saturate near 100 (ties in the queue go to the oldest); the
// rule-sum scale above (scoreOf) is what --rules-only uses.
func TestScoresRank(t *testing.T) {
	e := engine(t)
	scores := map[int]int{}
	flagged := 0
	for _, f := range []string{"testdata/tuned.jsonl", "testdata/tuned-late.jsonl"} {
		for _, in := range loadLines(t, f) {
			ad := lokerwatch.Ad{ID: in.ID, Title: in.Title, Text: in.Text}
			e.Classify(&ad)
			a := ad.Assessment
			if !a.Flagged {
				continue
			}
			flagged++
			scores[a.Score]++
			if a.Score > 100 || a.Score < e.Threshold() {
				t.Errorf("%s: flagged with score %d", in.ID, a.Score)
			}
			if a.Categories[a.Category] != a.Score {
				t.Errorf("%s: category %s scores %d, ad scores %d", in.ID, a.Category, a.Categories[a.Category], a.Score)
			}
			for c, v := range a.Categories {
				if v > a.Score {
					t.Errorf("%s: category %s scores %d above the ad's %d", in.ID, c, v, a.Score)
				}
			}
		}
	}
	if flagged < 20 {
		t.Errorf("only %d flagged ads", flagged)
	}
	t.Logf("%d flagged ads, %d distinct scores: %v", flagged, len(scores), scores)
}
