package review

import (
	"fmt"
	"strings"
	"testing"
)

func TestReadDetail(t *testing.T) {
	show := func(note string, cs []change) string {
		var parts []string
		if note != "" {
			parts = append(parts, "note "+note)
		}
		for _, c := range cs {
			if c.HasOld {
				parts = append(parts, fmt.Sprintf("%s: %s → %s", c.Field, c.Old, c.New))
			} else {
				parts = append(parts, c.Field+": "+c.New)
			}
		}
		return strings.Join(parts, " | ")
	}
	for _, c := range []struct{ detail, want string }{
		{"", ""},
		{"verdict=scam", "verdict: scam"},
		{"verdict=scam previous=benign", "verdict: benign → scam"},
		{"role=admin old_role=analyst", "role: analyst → admin"},
		{"previous=x", "previous: x"},
		{"retention ended; url=https://a.example/x?y=1 ads=ad-1,ad-2", "note retention ended | url: https://a.example/x?y=1 | ads: ad-1,ad-2"},
		{"ok, role analyst", "note ok, role analyst"},
		{`"a; b=c": 3 ads`, `note "a; b=c": 3 ads`},
		{"status open, assignee bob", "note status open, assignee bob"},
		{`{"ads":3,"signed":true,"since":"","entity":null,"verdicts":["scam","benign"],"x":{}}`, "ads: 3 | signed: true | verdicts: scam, benign"},
		{`{"role":{"old":"analyst","new":"admin"},"a":{"b":{"c":1}}}`, "a.b.c: 1 | role: analyst → admin"},
		{`{"list":[{"k":"v"},null,2]}`, "list: k: v, 2"},
		{`{"cut": "half a JSON obj`, `note {"cut": "half a JSON obj`},
		{`{}`, ""},
		{`[1,2]`, "note [1,2]"},
		{"=x", "note =x"},
	} {
		note, cs := readDetail(c.detail)
		if got := show(note, cs); got != c.want {
			t.Errorf("readDetail(%q) = %q, want %q", c.detail, got, c.want)
		}
	}
	// Deep nesting stops flattening instead of recursing without end.
	deep := strings.Repeat(`{"a":`, 50) + "1" + strings.Repeat("}", 50)
	if _, cs := readDetail(deep); len(cs) != 1 || strings.Count(cs[0].Field, "a") != maxChangeDepth+1 {
		t.Errorf("deep object: %+v", cs)
	}
}
