package crawler

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// x/net/html refuses a document nested deeper than 512 elements (it
// returns an error, for the whole page). A hostile page can use that to
// hide its ads: 600 <div>s before the offer and nothing parses. So a page
// the parser refuses is flattened — start tags past a depth dropped, text
// kept — and parsed again.
var flattenDepths = []int{128, 32}

// parseHTML parses a page, flattening it when it is nested too deeply.
// flattened says the page had to be.
func parseHTML(body []byte) (doc *html.Node, flattened bool, err error) {
	doc, err = html.Parse(bytes.NewReader(body))
	if err == nil {
		return doc, false, nil
	}
	for _, d := range flattenDepths {
		if doc, err2 := html.Parse(bytes.NewReader(flatten(body, d))); err2 == nil {
			return doc, true, nil
		}
	}
	return nil, false, fmt.Errorf("parse html: %w", err)
}

// parseFragment is parseHTML for a fragment in context.
func parseFragment(s string, context *html.Node) ([]*html.Node, error) {
	nodes, err := html.ParseFragment(strings.NewReader(s), context)
	if err == nil {
		return nodes, nil
	}
	for _, d := range flattenDepths {
		if nodes, err2 := html.ParseFragment(bytes.NewReader(flatten([]byte(s), d)), context); err2 == nil {
			return nodes, nil
		}
	}
	return nil, err
}

// voidElems have no end tag and never nest.
var voidElems = map[atom.Atom]bool{
	atom.Area: true, atom.Base: true, atom.Br: true, atom.Col: true, atom.Embed: true,
	atom.Hr: true, atom.Img: true, atom.Input: true, atom.Link: true, atom.Meta: true,
	atom.Source: true, atom.Track: true, atom.Wbr: true, atom.Param: true, atom.Keygen: true,
}

// rawElems hold raw text up to their end tag: they are always kept, so that
// their content (a script) never turns into page text.
var rawElems = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Textarea: true, atom.Title: true,
	atom.Xmp: true, atom.Iframe: true, atom.Noembed: true, atom.Noframes: true,
	atom.Noscript: true, atom.Plaintext: true,
}

// flatten copies an HTML document, dropping the tags of elements in the
// middle of a too-deep nest: an element is kept when it is among the
// maxDepth/2 outermost or the maxDepth/2 innermost of its branch, so no
// branch keeps more than maxDepth, and the structure around the content
// (the item an extractor looks for) survives while the padding above it
// goes. Text is always kept. Depth is a naive count of open tags, which is
// never far below the parser's own (the elements it implies, like tbody,
// are what the margin under 512 is for).
func flatten(body []byte, maxDepth int) []byte {
	half := maxDepth / 2
	// Pass 1: each element's depth and height (levels of elements below it).
	type elem struct {
		name   string
		idx    int
		height int
		keep   bool
	}
	var depths, heights []int
	var stack []*elem
	pop := func(to int) {
		for len(stack) > to {
			e := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			heights[e.idx] = e.height
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.height = max(p.height, e.height+1)
			}
		}
	}
	walk := func(emit func(tt html.TokenType, raw []byte, start int, end int)) {
		z := html.NewTokenizer(bytes.NewReader(body))
		n := 0
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				if z.Err() != io.EOF {
					emit(tt, z.Raw(), -1, -1)
				}
				emit(html.ErrorToken, nil, -1, 0) // end of input: close all
				return
			}
			raw := z.Raw()
			switch tt {
			case html.StartTagToken:
				name, _ := z.TagName()
				a := atom.Lookup(name)
				if voidElems[a] || rawElems[a] {
					emit(tt, raw, -1, -1)
					continue
				}
				stack = append(stack, &elem{name: string(name), idx: n})
				emit(tt, raw, n, -1)
				n++
			case html.EndTagToken:
				name, _ := z.TagName()
				i := len(stack) - 1
				for i >= 0 && stack[i].name != string(name) {
					i--
				}
				emit(tt, raw, -1, i)
			default:
				emit(tt, raw, -1, -1)
			}
		}
	}
	walk(func(tt html.TokenType, _ []byte, start, end int) {
		switch {
		case start >= 0:
			depths = append(depths, len(stack)-1)
			heights = append(heights, 0)
		case tt == html.EndTagToken && end >= 0:
			pop(end)
		case tt == html.ErrorToken && end == 0:
			pop(0)
		}
	})
	// Pass 2: copy, leaving out the middle of deep branches.
	out := bytes.NewBuffer(make([]byte, 0, len(body)))
	stack = stack[:0]
	walk(func(tt html.TokenType, raw []byte, start, end int) {
		switch {
		case start >= 0:
			e := stack[len(stack)-1]
			e.keep = depths[start] < half || heights[start] < half
			if e.keep {
				out.Write(raw)
			}
		case tt == html.EndTagToken:
			if end < 0 {
				out.Write(raw) // a stray end tag: the parser ignores it
				return
			}
			keep := stack[end].keep
			stack = stack[:end]
			if keep {
				out.Write(raw)
			}
		case tt == html.ErrorToken && end == 0:
		default:
			out.Write(raw)
		}
	})
	return out.Bytes()
}
