package review

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"

	"github.com/lokerwatch/lokerwatch"
)

// The audit page shows an event's detail as fields ("verdict: benign →
// scam") rather than the JSON object or key=value list it was written as.
// Details are written by many parts (the stores, the evidence exporter,
// the console), so this reads the shapes they use and shows anything
// else as the text it is.

// change is one field of an event's detail: Old is set when the detail
// says what the value was before.
type change struct {
	Field  string
	Old    string
	New    string
	HasOld bool
}

// auditRow is an event with its detail read into fields.
type auditRow struct {
	lokerwatch.AuditEvent
	Note    string   // free text before or instead of fields
	Changes []change // fields, in the detail's order (JSON: by name)
}

// maxChangeDepth bounds how deep nested JSON objects are flattened.
const maxChangeDepth = 4

func auditRows(evs []lokerwatch.AuditEvent) []auditRow {
	out := make([]auditRow, len(evs))
	for i, ev := range evs {
		out[i] = auditRow{AuditEvent: ev}
		out[i].Note, out[i].Changes = readDetail(ev.Detail)
	}
	return out
}

// readDetail splits a detail into a note and fields: a JSON object gives
// its fields; "k=v k=v" gives fields, after an optional "note; " before
// them; anything else is a note.
func readDetail(d string) (string, []change) {
	d = strings.TrimSpace(d)
	if d == "" {
		return "", nil
	}
	if strings.HasPrefix(d, "{") {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(d), &obj) == nil {
			if cs := jsonChanges("", obj, 0); len(cs) > 0 {
				return "", cs
			}
			return "", nil
		}
	}
	note, kv := d, d
	if i := strings.LastIndex(d, "; "); i >= 0 {
		note, kv = d[:i], d[i+2:]
	} else {
		note = ""
	}
	if cs, ok := keyValues(kv); ok {
		return note, cs
	}
	return d, nil
}

// keyValues reads "k=v k=v" (values without spaces); a field "previous"
// or "old" is the old value of the field before it, and "old_k" or
// "previous_k" of the field k.
func keyValues(s string) ([]change, bool) {
	var cs []change
	for _, tok := range strings.Fields(s) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok || !isFieldName(k) {
			return nil, false
		}
		if of, isOld := oldOf(k); isOld {
			if i := fieldIndex(cs, of); i >= 0 {
				cs[i].Old, cs[i].HasOld = v, true
				continue
			}
		}
		cs = append(cs, change{Field: k, New: v})
	}
	return cs, len(cs) > 0
}

// oldOf tells whether field k holds an earlier value: of the field before
// it ("previous", "old": field "") or of a named one ("old_role").
func oldOf(k string) (string, bool) {
	switch k {
	case "previous", "old", "was":
		return "", true
	}
	for _, p := range []string{"old_", "previous_"} {
		if f, ok := strings.CutPrefix(k, p); ok && f != "" {
			return f, true
		}
	}
	return "", false
}

// fieldIndex finds field f among cs; "" is the last one (-1: none).
func fieldIndex(cs []change, f string) int {
	if f == "" {
		return len(cs) - 1
	}
	for i := range cs {
		if cs[i].Field == f {
			return i
		}
	}
	return -1
}

func isFieldName(k string) bool {
	if k == "" || len(k) > 40 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// jsonChanges flattens a JSON object into fields ("a.b"), by field name;
// an object with old/new (from/to, before/after) members is one change.
// Empty values (null, "", [], {}) are left out.
func jsonChanges(prefix string, obj map[string]json.RawMessage, depth int) []change {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cs []change
	for _, k := range keys {
		field := k
		if prefix != "" {
			field = prefix + "." + k
		}
		raw := bytes.TrimSpace(obj[k])
		if len(raw) > 0 && raw[0] == '{' && depth < maxChangeDepth {
			var sub map[string]json.RawMessage
			if json.Unmarshal(raw, &sub) == nil {
				if c, ok := oldNew(field, sub); ok {
					cs = append(cs, c)
				} else {
					cs = append(cs, jsonChanges(field, sub, depth+1)...)
				}
				continue
			}
		}
		if v := jsonText(raw); v != "" {
			cs = append(cs, change{Field: field, New: v})
		}
	}
	return cs
}

func oldNew(field string, obj map[string]json.RawMessage) (change, bool) {
	for _, p := range [][2]string{{"old", "new"}, {"from", "to"}, {"before", "after"}, {"previous", "current"}} {
		o, ok1 := obj[p[0]]
		n, ok2 := obj[p[1]]
		if ok1 && ok2 && len(obj) == 2 {
			return change{Field: field, Old: jsonText(o), New: jsonText(n), HasOld: true}, true
		}
	}
	return change{}, false
}

// jsonText shows a JSON value: strings as they are, arrays joined with
// commas, anything else as written.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	case '[':
		var xs []json.RawMessage
		if json.Unmarshal(raw, &xs) == nil {
			parts := make([]string, 0, len(xs))
			for _, x := range xs {
				if t := jsonText(x); t != "" {
					parts = append(parts, t)
				}
			}
			return strings.Join(parts, ", ")
		}
	case '{':
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) == nil {
			var parts []string
			for _, c := range jsonChanges("", obj, maxChangeDepth) {
				parts = append(parts, c.Field+": "+c.New)
			}
			return strings.Join(parts, ", ")
		}
	}
	return string(raw)
}
