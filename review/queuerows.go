package review

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"
)

// rowCache remembers rendered queue rows. Every analyst's queue page shows
// much the same fifty rows, reloaded after every decision, and executing
// the row template (reflection and an escaper call per field) cost more
// than reading the rows from the store. A row's HTML depends only on its
// queueRow value (a comparable struct of strings and ints), so each distinct
// row is rendered once by html/template, with the same contextual escaping
// as anywhere else in the page, and reused until the row changes.
type rowCache struct {
	t *template.Template // a set holding "queue-row"
	m sync.Map           // queueRow -> string (rendered by t)
	n atomic.Int64       // entries stored since the last clear
}

// rowCacheMax bounds the cache (rows of a few hundred bytes each): when
// full it starts over, which costs one render per row shown.
const rowCacheMax = 4096

func newRowCache(t *template.Template) *rowCache { return &rowCache{t: t} }

// html renders rows in order. The result is trusted HTML only because every
// part of it came out of the html/template "queue-row", which starts and
// ends in HTML text context, where it is placed (inside <tbody>).
func (c *rowCache) html(rows []queueRow) (template.HTML, error) {
	parts := make([]string, len(rows))
	size := 0
	var buf bytes.Buffer
	for i := range rows {
		if v, ok := c.m.Load(rows[i]); ok {
			parts[i] = v.(string)
		} else {
			buf.Reset()
			if err := c.t.ExecuteTemplate(&buf, "queue-row", &rows[i]); err != nil {
				return "", fmt.Errorf("render queue row %s: %w", rows[i].ID, err)
			}
			parts[i] = buf.String()
			if c.n.Add(1) > rowCacheMax {
				c.m.Clear()
				c.n.Store(1)
			}
			c.m.Store(rows[i], parts[i])
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
