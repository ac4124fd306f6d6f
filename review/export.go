package review

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// exportRecord is one line of a JSONL export: the item, the ad as stored,
// the decision history and the captures that hold the ad (by digest; the
// WARC files themselves come from `lokerwatch export` or the ad page).
type exportRecord struct {
	Item      lokerwatch.ReviewItem `json:"item"`
	Ad        *lokerwatch.Ad        `json:"ad"`
	Decisions []lokerwatch.Decision `json:"decisions"`
	Captures  []exportCapture       `json:"captures"`
}

type exportCapture struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	CapturedAt time.Time `json:"captured_at"`
	Digest     string    `json:"digest"`
}

type exportData struct {
	Filter storage.ReviewFilter
	Since  string
	Until  string
}

func (s *Server) exportPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.render(w, r, http.StatusOK, "export", newPage(p, tr(r, "export.title"), "export", exportData{}))
}

// exportDownload is the page form's target; same as the API.
func (s *Server) exportDownload(w http.ResponseWriter, r *http.Request, p *principal) {
	s.apiExport(w, r, p)
}

// apiExport streams review items (decided ones unless status says
// otherwise) as JSON lines or CSV. Query: the queue filters plus
// format=jsonl|csv and verdict.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request, p *principal) {
	q := r.URL.Query()
	if q.Get("status") == "" {
		q.Set("status", string(lokerwatch.StatusDecided))
	}
	f, err := parseFilter(q)
	if err != nil {
		s.refuse(w, r, http.StatusBadRequest, "Bad filter: "+err.Error())
		return
	}
	var verdict lokerwatch.Verdict
	if v := q.Get("verdict"); v != "" {
		if verdict, err = lokerwatch.ParseVerdict(v); err != nil {
			s.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	format := q.Get("format")
	if format == "" {
		format = "jsonl"
	}
	if format != "jsonl" && format != "csv" {
		s.refuse(w, r, http.StatusBadRequest, fmt.Sprintf("format %q: want jsonl or csv", format))
		return
	}
	ctx := r.Context()
	stamp := s.now().UTC().Format("20060102T150405Z")
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="lokerwatch-review-%s.%s"`, stamp, format))
	n, err := s.writeExport(ctx, w, f, verdict, format)
	detail := fmt.Sprintf("%s, %d items, filter %s", format, n, filterQuery(f))
	if verdict != "" {
		detail += ", verdict " + string(verdict)
	}
	if err != nil {
		// Headers are gone; the truncated file and the log say what happened.
		s.log.Error("export", "user", p.name(), "err", err, "items", n)
		detail += ", failed: " + err.Error()
	}
	s.audit(ctx, lokerwatch.AuditEvent{Actor: p.name(), Action: "export", Object: "review", Remote: remoteAddr(r), Detail: detail})
}

func (s *Server) writeExport(ctx context.Context, w io.Writer, f storage.ReviewFilter, verdict lokerwatch.Verdict, format string) (int, error) {
	var cw *csv.Writer
	enc := json.NewEncoder(w)
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write([]string{"item_id", "ad_id", "url", "source", "title", "score", "category", "status", "verdict", "reviewer", "decided_at",
			"note", "first_seen", "last_seen", "phones", "whatsapp", "telegram", "emails", "agencies", "decisions", "capture_digests", "removed_at", "sources"})
	}
	n := 0
	f.Limit, f.Offset = 200, 0
	for {
		items, err := s.st.ListItems(ctx, f)
		if err != nil {
			return n, err
		}
		for _, it := range items {
			if verdict != "" && it.Verdict != verdict {
				continue
			}
			rec := exportRecord{Item: it, Captures: []exportCapture{}}
			if rec.Ad, err = s.st.GetAd(ctx, it.AdID); err != nil && !errors.Is(err, lokerwatch.ErrNotFound) {
				return n, fmt.Errorf("get ad %s: %w", it.AdID, err)
			}
			if rec.Decisions, err = s.st.Decisions(ctx, it.ID); err != nil {
				return n, fmt.Errorf("decisions of %s: %w", it.ID, err)
			}
			recs, err := s.st.EvidenceForAd(ctx, it.AdID)
			if err != nil {
				return n, fmt.Errorf("evidence for %s: %w", it.AdID, err)
			}
			for _, e := range recs {
				rec.Captures = append(rec.Captures, exportCapture{ID: e.ID, URL: e.URL, CapturedAt: e.CapturedAt, Digest: e.Digest})
			}
			if cw != nil {
				cw.Write(csvRow(rec))
			} else if err := enc.Encode(rec); err != nil {
				return n, err
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return n, err
			}
		}
		if len(items) < f.Limit {
			return n, nil
		}
		f.Offset += f.Limit
	}
}

func csvRow(rec exportRecord) []string {
	it := rec.Item
	row := []string{it.ID, it.AdID, it.URL, it.Source, it.Title, strconv.Itoa(it.Score), string(it.Category), string(it.Status),
		string(it.Verdict), it.Reviewer, iso(it.DecidedAt), it.Note}
	var e lokerwatch.Entities
	var first, last, removed time.Time
	var sources []string
	if rec.Ad != nil {
		e, first, last, removed = rec.Ad.Entities, rec.Ad.FirstSeen, rec.Ad.LastSeen, rec.Ad.RemovedAt
		for _, sg := range rec.Ad.Sources {
			sources = append(sources, sg.Source)
		}
	}
	var hist, digests []string
	for _, d := range rec.Decisions {
		hist = append(hist, fmt.Sprintf("%s %s %s", iso(d.DecidedAt), d.Reviewer, d.Verdict))
	}
	for _, c := range rec.Captures {
		digests = append(digests, c.Digest)
	}
	row = append(row, iso(first), iso(last), strings.Join(e.Phones, " "), strings.Join(e.WhatsApp, " "), strings.Join(e.Telegram, " "),
		strings.Join(e.Emails, " "), strings.Join(e.Agencies, "; "), strings.Join(hist, "; "), strings.Join(digests, " "),
		iso(removed), strings.Join(sources, " "))
	for i, c := range row {
		row[i] = csvSafe(c)
	}
	return row
}

// csvSafe defuses spreadsheet formulas: crawled titles starting with =, +,
// - or @ would otherwise run when an investigator opens the file.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
