package sqlite

import (
	"context"
	"strings"
	"testing"
)

// TestHotQueriesUseIndexes guards the queries run on every claim: none may
// scan a whole table or sort, or a large crawl or queue slows every worker.
func TestHotQueriesUseIndexes(t *testing.T) {
	s, err := Open(context.Background(), MemoryPath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name, query string
		args        []any
	}{
		{"pick host", pickHost, []any{1}},
		{"host waiting (continue turn)", hostWaiting, []any{1}},
		{"held lease (continue turn)", `SELECT host FROM frontier
			WHERE url = ? AND state = 'inflight' AND token = ? AND worker = ? AND lease_until >= ?`, []any{"u", "t", "w", 1}},
		{"pick requests", `SELECT rowid FROM frontier WHERE host = ? AND state = 'queued' AND ready_at <= ? ORDER BY ready_at, rowid LIMIT ?`, []any{"h", 1, 5}},
		{"claim turn", claimTurn, []any{"tok", "w", 1, "h", 1, 5}},
		{"host next ready", `SELECT MIN(ready_at) FROM frontier WHERE host = ? AND state = 'queued'`, []any{"h"}},
		{"expired leases", `SELECT url FROM frontier WHERE state = 'inflight' AND lease_until < ?`, []any{1}},
		{"lapsed workers", lapsedWorkers, []any{1}},
		{"dead worker's leases", workerLeases, []any{"w"}},
		{"oldest queued", `SELECT MIN(queued_at) FROM frontier WHERE state = 'queued'`, nil},
		{"next review item", `SELECT id FROM review_items WHERE status = 'pending' ORDER BY score DESC, created_at, id LIMIT 1`, nil},
		{"lapsed claims", `SELECT id FROM review_items WHERE status = 'claimed' AND lease_until < ?`, []any{1}},
		{"scan ads page", `SELECT id FROM ads WHERE (last_seen, id) > (?, ?) ORDER BY last_seen, id LIMIT 10`, []any{1, ""}},
		{"scan ads page of a source", `SELECT id FROM ads WHERE source = ? AND (last_seen, id) > (?, ?) ORDER BY last_seen, id LIMIT 10`, []any{"s", 1, ""}},
		{"scan flagged ads page", `SELECT id FROM ads WHERE flagged = 1 AND (last_seen, id) > (?, ?) ORDER BY last_seen, id LIMIT 10`, []any{1, ""}},
	} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		if strings.Contains(p, "TEMP B-TREE") || strings.Contains(p, "SCAN ") {
			t.Errorf("%s: query plan %q scans or sorts", tc.name, p)
		}
	}
}
