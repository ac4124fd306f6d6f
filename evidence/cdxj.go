package evidence

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var wwwPrefix = regexp.MustCompile(`^(https?://)www\d*\.`)

// surt is the searchable form of a URL used as the CDXJ key. It follows
// wabac.js (ReplayWeb.page) getSurt, so that replay finds the records:
// lower case, "www." dropped, host reversed with commas, ")" then path and
// the query arguments sorted.
func surt(raw string) string {
	if !strings.HasPrefix(raw, "http:") && !strings.HasPrefix(raw, "https:") {
		return raw
	}
	low := strings.ToLower(wwwPrefix.ReplaceAllString(raw, "$1"))
	u, err := url.Parse(low)
	if err != nil || u.Host == "" {
		return low
	}
	host := u.Hostname()
	parts := strings.Split(host, ".")
	slices.Reverse(parts)
	var b strings.Builder
	b.WriteString(strings.Join(parts, ","))
	if p := u.Port(); p != "" && !(p == "80" && u.Scheme == "http") && !(p == "443" && u.Scheme == "https") {
		b.WriteString(":" + p)
	}
	b.WriteString(")")
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	if u.RawQuery != "" {
		args := strings.Split(u.RawQuery, "&")
		slices.Sort(args)
		b.WriteString("?" + strings.Join(args, "&"))
	}
	return b.String()
}

// cdxjEntry is the JSON part of a CDXJ line (CDXJ 0.1.0 as pywb and
// warcio.js write it: numbers as strings).
type cdxjEntry struct {
	URL          string `json:"url"`
	Digest       string `json:"digest"`
	Mime         string `json:"mime"`
	Status       string `json:"status"`
	Offset       string `json:"offset"`
	Length       string `json:"length"`
	Filename     string `json:"filename"`
	RecordDigest string `json:"recordDigest,omitempty"`
}

// cdxjLine formats one index line for a response record.
func cdxjLine(ri *recordInfo, filename string, offset int64) string {
	ts := ""
	if t, err := time.Parse(time.RFC3339Nano, ri.Date); err == nil {
		ts = t.UTC().Format("20060102150405")
	}
	mime := ri.HTTPMime
	if mime == "" {
		mime = "unk"
	}
	e := cdxjEntry{
		URL: ri.TargetURI, Digest: ri.PayloadDigest, Mime: mime,
		Status: strconv.Itoa(ri.HTTPStatus), Offset: strconv.FormatInt(offset, 10),
		Length: strconv.FormatInt(ri.Length, 10), Filename: filename, RecordDigest: ri.MemberDigest,
	}
	js, _ := json.Marshal(e)
	// A key with a space would break the three-field line; escape it.
	return strings.ReplaceAll(surt(ri.TargetURI), " ", "%20") + " " + ts + " " + string(js)
}

// parseCDXJLine splits "key timestamp {json}".
func parseCDXJLine(line string) (key, ts string, e map[string]any, err error) {
	key, rest, ok := strings.Cut(line, " ")
	if !ok {
		return "", "", nil, fmt.Errorf("no timestamp")
	}
	ts, js, ok := strings.Cut(rest, " ")
	if !ok {
		return "", "", nil, fmt.Errorf("no JSON block")
	}
	dec := json.NewDecoder(strings.NewReader(js))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return "", "", nil, fmt.Errorf("JSON block: %w", err)
	}
	return key, ts, e, nil
}

// lineSorter sorts text lines bytewise (LC_ALL=C) in bounded memory: lines
// are kept in memory up to limit bytes, then spilled as sorted runs to
// files under dir and merged at the end.
type lineSorter struct {
	dir   string
	limit int
	lines []string
	size  int
	runs  []string
}

func newLineSorter(dir string, limit int) *lineSorter {
	return &lineSorter{dir: dir, limit: limit}
}

func (s *lineSorter) Add(line string) error {
	s.lines = append(s.lines, line)
	s.size += len(line) + 16
	if s.size >= s.limit {
		return s.spill()
	}
	return nil
}

func (s *lineSorter) spill() error {
	if len(s.lines) == 0 {
		return nil
	}
	slices.Sort(s.lines)
	f, err := os.CreateTemp(s.dir, "cdxj-run-*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	for _, l := range s.lines {
		bw.WriteString(l)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	s.runs = append(s.runs, f.Name())
	clear(s.lines)
	s.lines, s.size = s.lines[:0], 0
	return nil
}

// WriteTo writes all lines in order.
func (s *lineSorter) WriteTo(w io.Writer) (int64, error) {
	if len(s.runs) == 0 {
		slices.Sort(s.lines)
		var n int64
		for _, l := range s.lines {
			k, err := io.WriteString(w, l+"\n")
			n += int64(k)
			if err != nil {
				return n, err
			}
		}
		return n, nil
	}
	if err := s.spill(); err != nil {
		return 0, err
	}
	h := &runHeap{}
	for _, name := range s.runs {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r := &run{sc: bufio.NewScanner(f)}
		r.sc.Buffer(make([]byte, 64<<10), 16<<20)
		if r.next() {
			heap.Push(h, r)
		} else if err := r.sc.Err(); err != nil {
			return 0, err
		}
	}
	bw := bufio.NewWriter(w)
	var n int64
	for h.Len() > 0 {
		r := (*h)[0]
		k, _ := bw.Write(r.cur)
		bw.WriteByte('\n')
		n += int64(k) + 1
		if r.next() {
			heap.Fix(h, 0)
		} else {
			if err := r.sc.Err(); err != nil {
				return n, err
			}
			heap.Pop(h)
		}
	}
	return n, bw.Flush()
}

type run struct {
	sc  *bufio.Scanner
	cur []byte
}

func (r *run) next() bool {
	if !r.sc.Scan() {
		return false
	}
	r.cur = append(r.cur[:0], r.sc.Bytes()...)
	return true
}

type runHeap []*run

func (h runHeap) Len() int           { return len(h) }
func (h runHeap) Less(i, j int) bool { return bytes.Compare(h[i].cur, h[j].cur) < 0 }
func (h runHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)        { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	*h = old[:len(old)-1]
	return r
}
