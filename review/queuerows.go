package review

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lokerwatch/lokerwatch/review/i18n"
)

// rowCache remembers rendered queue rows, per language. Every analyst's queue page shows
// much the same fifty rows, reloaded after every decision, and executing
// the row template (reflection and an escaper call per field) cost more
// than reading the rows from the store. A row's HTML depends only on its
// queueRow value (a comparable struct of strings and ints) and the
// language of the page (the row template speaks it, and the row's words
// were chosen in it), so each distinct row is rendered once per language by
// html/template, with the same contextual escaping as anywhere else in the
// page, and reused until the row changes.
type rowCache struct {
	pages *pageSet     // "queue" holds "queue-row", one set per language
	m     sync.Map     // rowKey -> string (rendered by the set of its language)
	n     atomic.Int64 // entries stored since the last clear
}

// rowKey is a cached row: the same row reads differently in each language.
type rowKey struct {
	lang i18n.Lang
	row  queueRow
}

// rowCacheMax bounds the cache (rows of a few hundred bytes each): when
// full it starts over, which costs one render per row shown.
const rowCacheMax = 4096

func newRowCache(pages *pageSet) *rowCache { return &rowCache{pages: pages} }

// html renders rows in order, in lang. The result is trusted HTML only because every
// part of it came out of the html/template "queue-row", which starts and
// ends in HTML text context, where it is placed (inside <tbody>).
func (c *rowCache) html(lang i18n.Lang, rows []queueRow) (template.HTML, error) {
	t := c.pages.get(lang, "queue")
	parts := make([]string, len(rows))
	size := 0
	var buf bytes.Buffer
	for i := range rows {
		key := rowKey{lang, rows[i]}
		if v, ok := c.m.Load(key); ok {
			parts[i] = v.(string)
		} else {
			buf.Reset()
			if err := t.ExecuteTemplate(&buf, "queue-row", &rows[i]); err != nil {
				return "", fmt.Errorf("render queue row %s: %w", rows[i].ID, err)
			}
			parts[i] = buf.String()
			if c.n.Add(1) > rowCacheMax {
				c.m.Clear()
				c.n.Store(1)
			}
			c.m.Store(key, parts[i])
		}
		size += len(parts[i])
	}
	var b strings.Builder
	b.Grow(size)
	for _, p := range parts {
		b.WriteString(p)
	}
	return template.HTML(b.String()), nil
}
