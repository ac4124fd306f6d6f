package evidence

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// ExportStore is what Export needs from a store.
type ExportStore interface {
	ScanAds(ctx context.Context, f storage.AdFilter, fn func(*lokerwatch.Ad) error) error
	ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error)
	Decisions(ctx context.Context, itemID string) ([]lokerwatch.Decision, error)
	ListAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error)
	AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error
	EvidenceForAd(ctx context.Context, adID string) ([]storage.EvidenceRecord, error)
}

// Format is an export format.
type Format string

const (
	FormatWACZ  Format = "wacz"  // signed bundle with captures (default)
	FormatCSV   Format = "csv"   // the ads table only, for spreadsheets
	FormatJSONL Format = "jsonl" // one case record per line
)

// ParseFormat checks a format given by a user ("" is wacz).
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case "":
		return FormatWACZ, nil
	case FormatWACZ, FormatCSV, FormatJSONL:
		return f, nil
	}
	return "", fmt.Errorf("unknown export format %q (want wacz, csv or jsonl)", s)
}

// VerdictUndecided selects ads nobody has decided yet in a verdict filter.
const VerdictUndecided lokerwatch.Verdict = "undecided"

// ParseVerdicts reads a comma-separated verdict list ("scam,trafficking");
// "undecided" selects ads without a decision.
func ParseVerdicts(list string) ([]lokerwatch.Verdict, error) {
	var out []lokerwatch.Verdict
	for _, s := range strings.Split(list, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s == "" {
			continue
		}
		if lokerwatch.Verdict(s) == VerdictUndecided {
			out = append(out, VerdictUndecided)
			continue
		}
		v, err := lokerwatch.ParseVerdict(s)
		if err != nil {
			return nil, fmt.Errorf("%w, or undecided", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// ExportOptions select what goes into an export and how it is signed.
type ExportOptions struct {
	Format Format
	// Verdicts keeps ads whose current verdict is listed (VerdictUndecided
	// for ads without one); empty keeps all.
	Verdicts []lokerwatch.Verdict
	// Since and Until bound the ads' fetch time (Until exclusive).
	Since, Until time.Time
	// Entity keeps ads that mention this phone, handle, e-mail or agency.
	Entity string
	// IncludeUnflagged exports ads the classifiers did not flag too.
	IncludeUnflagged bool
	// AdIDs keeps only these ads, flagged or not (a case's ads); nil keeps
	// all. Files are more files for the bundle ("case/notes.md" → bytes),
	// listed and hashed in datapackage.json like the rest (see case.go).
	AdIDs []string
	Files map[string][]byte
	// Key signs the WACZ (datapackage-digest.json); nil leaves it unsigned.
	Key *ecdsa.PrivateKey
	// Actor is who exports, for the audit trail (default "system").
	Actor              string
	Title, Description string
	Software           string // default "lokerwatch"
	// TempDir holds spool files while the bundle is built (default os.TempDir()).
	TempDir string
	Now     func() time.Time
	Logger  *slog.Logger
}

// ExportSummary tells what an export holds.
type ExportSummary struct {
	ID       string `json:"id"`
	Format   Format `json:"format"`
	Ads      int    `json:"ads"`
	Captures int    `json:"captures"`
	Records  int    `json:"records"`
	Pages    int    `json:"pages"`
	Bytes    int64  `json:"bytes"`
	Signed   bool   `json:"signed"`
	// KeyFingerprint is "sha256:…" of the signing public key.
	KeyFingerprint string `json:"key_fingerprint,omitempty"`
	// DatapackageHash is the hash datapackage-digest.json holds (and the
	// signature covers).
	DatapackageHash string `json:"datapackage_hash,omitempty"`
	// Skipped lists captures left out of the bundle and why (a capture
	// that fails its own digests is never exported as if it were sound).
	Skipped []string `json:"skipped,omitempty"`
}

// CaseRecord is one line of case/ads.jsonl (and of a jsonl export): an ad
// with everything known about it.
type CaseRecord struct {
	Ad         *lokerwatch.Ad         `json:"ad"`
	ReviewItem *lokerwatch.ReviewItem `json:"review_item,omitempty"`
	// Verdict is the current verdict, "undecided" when none.
	Verdict   lokerwatch.Verdict      `json:"verdict"`
	Decisions []lokerwatch.Decision   `json:"decisions"`
	Audit     []lokerwatch.AuditEvent `json:"audit"`
	Captures  []CaptureRef            `json:"captures"`
}

// CaptureRef points from a case record into the bundle's WARC file.
type CaptureRef struct {
	ID         string    `json:"id"` // WARC-Record-ID of the response record
	URL        string    `json:"url"`
	CapturedAt time.Time `json:"captured_at"`
	Digest     string    `json:"digest"` // sha256 of the capture's gzip members as stored
	// WARCFile, Offset and Length locate the response record in the bundle.
	WARCFile      string `json:"warc_file,omitempty"`
	Offset        int64  `json:"offset,omitempty"`
	Length        int64  `json:"length,omitempty"`
	PayloadDigest string `json:"payload_digest,omitempty"`
	// Excluded says why the capture is not in the bundle.
	Excluded string `json:"excluded,omitempty"`
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Export writes the ads selected by opts to w: a WACZ bundle (default), a
// CSV table or JSON lines. It streams: ads are read with ScanAds and
// spooled to temporary files, so memory does not grow with the number of
// ads (only a set of capture IDs does). A WACZ export is logged in the
// audit trail: one "export" event, and one "evidence.exported" event per
// capture (what Release and Purge look for).
func Export(ctx context.Context, store ExportStore, w io.Writer, opts ExportOptions) (*ExportSummary, error) {
	x, err := newExporter(store, opts)
	if err != nil {
		return nil, err
	}
	defer x.cleanup()
	cw := &countWriter{w: w}
	if err := x.run(ctx, cw); err != nil {
		return nil, fmt.Errorf("export %s: %w", x.sum.ID, err)
	}
	x.sum.Bytes = cw.n
	if err := x.audit(ctx); err != nil {
		return &x.sum, fmt.Errorf("export %s written, but the audit trail was not updated: %w", x.sum.ID, err)
	}
	return &x.sum, nil
}

type exporter struct {
	store   ExportStore
	opts    ExportOptions
	now     time.Time
	tmp     string
	sum     ExportSummary
	entity  *entityMatcher
	verdict map[lokerwatch.Verdict]bool
	log     *slog.Logger

	// WACZ spool files.
	warcName string
	warc     *spool
	pages    *spool
	adsJSONL *spool
	adsCSV   *csvSpool
	decCSV   *csvSpool
	audCSV   *csvSpool
	exported *spool
	cdxj     *lineSorter
	sc       *warcScanner
	// included maps capture ID to where it went in the WARC (or why not):
	// the one thing that grows with the number of captures, kept small.
	included  map[string]placed
	closers   []io.Closer
	mainPage  string
	mainDate  string
	warcBytes int64
}

type spool struct {
	f  *os.File
	bw *bufio.Writer
}

func newSpool(dir, name string) (*spool, error) {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return &spool{f: f, bw: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *spool) Write(p []byte) (int, error) { return s.bw.Write(p) }

// reader flushes the spool and returns it rewound for reading.
func (s *spool) reader() (io.Reader, error) {
	if err := s.bw.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return s.f, nil
}

type csvSpool struct {
	*spool
	cw *csv.Writer
}

func newCSVSpool(dir, name string, header []string) (*csvSpool, error) {
	s, err := newSpool(dir, name)
	if err != nil {
		return nil, err
	}
	c := &csvSpool{spool: s, cw: csv.NewWriter(s.bw)}
	return c, c.cw.Write(header)
}

func (c *csvSpool) row(cells ...string) error {
	for i, v := range cells {
		cells[i] = csvSafe(v)
	}
	return c.cw.Write(cells)
}

func (c *csvSpool) reader() (io.Reader, error) {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return nil, err
	}
	return c.spool.reader()
}

// csvSafe stops spreadsheets from running crawled text as a formula
// (CSV injection): a cell starting with = + - @ or a control character
// gets a leading apostrophe. The JSON lines keep the exact values.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func newExporter(store ExportStore, opts ExportOptions) (*exporter, error) {
	f, err := ParseFormat(string(opts.Format))
	if err != nil {
		return nil, err
	}
	opts.Format = f
	if opts.Actor == "" {
		opts.Actor = "system"
	}
	if opts.Software == "" {
		opts.Software = "lokerwatch"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	x := &exporter{store: store, opts: opts, now: opts.Now().UTC(), log: opts.Logger, included: map[string]placed{}}
	x.sum.Format = f
	var rnd [3]byte
	rand.Read(rnd[:])
	x.sum.ID = "exp-" + x.now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
	if opts.Entity != "" {
		x.entity = newEntityMatcher(opts.Entity)
	}
	if len(opts.Verdicts) > 0 {
		x.verdict = map[lokerwatch.Verdict]bool{}
		for _, v := range opts.Verdicts {
			x.verdict[v] = true
		}
	}
	x.tmp, err = os.MkdirTemp(opts.TempDir, "lokerwatch-export-*")
	if err != nil {
		return nil, fmt.Errorf("export: temporary directory: %w", err)
	}
	return x, nil
}

func (x *exporter) cleanup() {
	for _, s := range []*spool{x.warc, x.pages, x.adsJSONL, x.exported} {
		if s != nil {
			s.f.Close()
		}
	}
	for _, c := range []*csvSpool{x.adsCSV, x.decCSV, x.audCSV} {
		if c != nil {
			c.f.Close()
		}
	}
	for _, c := range x.closers {
		c.Close()
	}
	os.RemoveAll(x.tmp)
}

var (
	adsHeader = []string{"ad_id", "url", "page_url", "source", "source_type", "fetched_at", "first_seen", "last_seen",
		"title", "text", "company", "location", "salary", "salary_idr", "lang", "posted_at",
		"score", "flagged", "category", "score_scam", "score_nonprocedural", "score_trafficking", "not_an_offer", "signals", "classifier_version",
		"phones", "whatsapp", "telegram", "emails", "agencies", "licences", "countries", "places",
		"review_item", "status", "verdict", "reviewer", "decided_at", "note", "decisions",
		"capture_ids", "capture_digests"}
	decisionsHeader = []string{"ad_id", "item_id", "decided_at", "verdict", "reviewer", "amend", "note", "remote"}
	auditHeader     = []string{"ad_id", "id", "time", "actor", "action", "object", "remote", "detail"}
)

func (x *exporter) run(ctx context.Context, w io.Writer) error {
	// Pass 1: select ads into a spool, so that no other store call runs
	// while the scan holds its cursor (an embedded store may have one
	// connection).
	adSpool, err := newSpool(x.tmp, "selected.jsonl")
	if err != nil {
		return err
	}
	defer adSpool.f.Close()
	enc := json.NewEncoder(adSpool)
	filter := storage.AdFilter{FlaggedOnly: !x.opts.IncludeUnflagged && x.opts.AdIDs == nil, Since: x.opts.Since, Until: x.opts.Until}
	adSet := idSet(x.opts.AdIDs)
	err = x.store.ScanAds(ctx, filter, func(ad *lokerwatch.Ad) error {
		if x.entity != nil && !x.entity.match(ad) || adSet != nil && !adSet[ad.ID] {
			return nil
		}
		return enc.Encode(ad)
	})
	if err != nil {
		return fmt.Errorf("scan ads: %w", err)
	}
	r, err := adSpool.reader()
	if err != nil {
		return err
	}

	switch x.opts.Format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.Write(adsHeader)
		err = x.eachAd(ctx, r, func(cr *CaseRecord) error {
			if err := cw.Write(adRow(cr)); err != nil {
				return err
			}
			cw.Flush()
			return cw.Error()
		})
		return err
	case FormatJSONL:
		out := json.NewEncoder(w)
		out.SetEscapeHTML(false)
		return x.eachAd(ctx, r, func(cr *CaseRecord) error { return out.Encode(cr) })
	}
	if err := x.openWACZSpools(); err != nil {
		return err
	}
	if err := x.eachAd(ctx, r, x.addCase); err != nil {
		return err
	}
	return x.writeWACZ(w)
}

// eachAd reads the spooled ads and builds their case records.
func (x *exporter) eachAd(ctx context.Context, r io.Reader, fn func(*CaseRecord) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var ad lokerwatch.Ad
		if err := dec.Decode(&ad); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("read spooled ads: %w", err)
		}
		cr, err := x.caseRecord(ctx, &ad)
		if err != nil {
			return err
		}
		if cr == nil {
			continue
		}
		x.sum.Ads++
		if err := fn(cr); err != nil {
			return err
		}
	}
}

// caseRecord gathers an ad's review item, decisions, audit trail and
// captures; nil when the verdict filter drops it.
func (x *exporter) caseRecord(ctx context.Context, ad *lokerwatch.Ad) (*CaseRecord, error) {
	cr := &CaseRecord{Ad: ad, Verdict: VerdictUndecided, Decisions: []lokerwatch.Decision{}, Audit: []lokerwatch.AuditEvent{}, Captures: []CaptureRef{}}
	item, err := x.store.ItemForAd(ctx, ad.ID)
	switch {
	case errors.Is(err, lokerwatch.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("review item of ad %s: %w", ad.ID, err)
	default:
		cr.ReviewItem = item
		if item.Status == lokerwatch.StatusDecided && item.Verdict != "" {
			cr.Verdict = item.Verdict
		} else if item.Verdict == lokerwatch.VerdictEscalate {
			cr.Verdict = lokerwatch.VerdictEscalate
		}
	}
	if x.verdict != nil && !x.verdict[cr.Verdict] {
		return nil, nil
	}
	objects := []string{ad.ID}
	if item != nil {
		ds, err := x.store.Decisions(ctx, item.ID)
		if err != nil {
			return nil, fmt.Errorf("decisions of item %s: %w", item.ID, err)
		}
		cr.Decisions = append(cr.Decisions, ds...)
		if item.ID != ad.ID {
			objects = append(objects, item.ID)
		}
	}
	caps, err := x.store.EvidenceForAd(ctx, ad.ID)
	if err != nil {
		return nil, fmt.Errorf("captures of ad %s: %w", ad.ID, err)
	}
	for i := range caps {
		ref := CaptureRef{ID: caps[i].ID, URL: caps[i].URL, CapturedAt: caps[i].CapturedAt, Digest: caps[i].Digest}
		if x.opts.Format == FormatWACZ {
			ref = x.addCapture(&caps[i])
		}
		cr.Captures = append(cr.Captures, ref)
		objects = append(objects, caps[i].ID)
	}
	seen := map[string]bool{}
	for _, obj := range objects {
		evs, err := x.store.ListAudit(ctx, storage.AuditFilter{Object: obj})
		if err != nil {
			return nil, fmt.Errorf("audit trail of %s: %w", obj, err)
		}
		for _, ev := range evs {
			key := ev.ID
			if key == "" {
				key = ev.Time.String() + ev.Action + ev.Object + ev.Actor
			}
			if !seen[key] {
				seen[key] = true
				cr.Audit = append(cr.Audit, ev)
			}
		}
	}
	sort.SliceStable(cr.Audit, func(i, j int) bool { return cr.Audit[i].Time.Before(cr.Audit[j].Time) })
	return cr, nil
}

func (x *exporter) openWACZSpools() error {
	var err error
	x.warcName = "lokerwatch-" + x.sum.ID + ".warc.gz"
	if x.warc, err = newSpool(x.tmp, "archive.warc.gz"); err != nil {
		return err
	}
	if x.pages, err = newSpool(x.tmp, "pages.jsonl"); err != nil {
		return err
	}
	if x.adsJSONL, err = newSpool(x.tmp, "ads.jsonl"); err != nil {
		return err
	}
	if x.exported, err = newSpool(x.tmp, "exported.txt"); err != nil {
		return err
	}
	if x.adsCSV, err = newCSVSpool(x.tmp, "ads.csv", adsHeader); err != nil {
		return err
	}
	if x.decCSV, err = newCSVSpool(x.tmp, "decisions.csv", decisionsHeader); err != nil {
		return err
	}
	if x.audCSV, err = newCSVSpool(x.tmp, "audit.csv", auditHeader); err != nil {
		return err
	}
	x.sc = newWARCScanner()
	x.cdxj = newLineSorter(x.tmp, 1<<20)
	io.WriteString(x.pages, `{"format":"json-pages-1.0","id":"pages","title":"All Pages"}`+"\n")

	// The WARC file starts with a warcinfo record describing the export.
	info := &record{}
	info.add("WARC-Type", typeWarcinfo)
	info.add("WARC-Record-ID", "<"+newRecordID()+">")
	info.add("WARC-Date", warcDate(x.now))
	info.add("WARC-Filename", x.warcName)
	block := fmt.Sprintf("software: %s\r\nformat: WARC File Format 1.1\r\n"+
		"conformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n"+
		"description: lokerwatch evidence export %s. Each capture is a response, a request and a metadata record; "+
		"the HTTP messages are rebuilt from the crawler's parsed headers and the body as received (de-chunked), see each metadata record's http notes.\r\n"+
		"export-id: %s\r\nexported-by: %s\r\n",
		cleanValue(x.opts.Software), x.sum.ID, x.sum.ID, cleanValue(x.opts.Actor))
	info.block = []byte(block)
	info.add("WARC-Block-Digest", sha256Label(info.block))
	info.add("Content-Type", mimeWarcFields)
	cw := &countWriter{w: x.warc}
	if err := info.writeGzipMember(cw); err != nil {
		return err
	}
	x.warcBytes = cw.n
	x.sum.Records++
	return nil
}

// addCapture copies a capture's gzip members byte for byte into the
// bundle's WARC file (nothing re-encoded) after checking them, indexes its
// response record and returns where it went. A capture that fails its
// checks is left out, and the case record says why.
func (x *exporter) addCapture(rec *storage.EvidenceRecord) CaptureRef {
	ref := CaptureRef{ID: rec.ID, URL: rec.URL, CapturedAt: rec.CapturedAt, Digest: rec.Digest}
	if p, ok := x.included[rec.ID]; ok {
		return p.ref(ref, x.warcName)
	}
	exclude := func(why string) CaptureRef {
		x.sum.Skipped = append(x.sum.Skipped, rec.ID+": "+why)
		x.log.Warn("capture left out of export", "capture", rec.ID, "reason", why)
		p := placed{excluded: why}
		x.included[rec.ID] = p
		return p.ref(ref, x.warcName)
	}
	if got := sha256Label(rec.WARC); got != rec.Digest {
		return exclude(fmt.Sprintf("stored bytes hash to %s, capture digest says %s", got, rec.Digest))
	}
	infos, err := x.sc.splitMembers(rec.WARC)
	if err != nil {
		return exclude("unreadable WARC: " + err.Error())
	}
	var resp *recordInfo
	for _, ri := range infos {
		if len(ri.Problems) > 0 {
			return exclude(fmt.Sprintf("record %s: %s", ri.ID, strings.Join(ri.Problems, "; ")))
		}
		if ri.Type == typeResponse && resp == nil {
			resp = ri
		}
	}
	if resp == nil {
		return exclude("no response record")
	}
	base := x.warcBytes
	if _, err := x.warc.Write(rec.WARC); err != nil {
		return exclude("spool: " + err.Error())
	}
	x.warcBytes += int64(len(rec.WARC))
	x.sum.Records += len(infos)
	x.sum.Captures++
	for _, ri := range infos {
		if ri.Type == typeResponse {
			if err := x.cdxj.Add(cdxjLine(ri, x.warcName, base+ri.Offset)); err != nil {
				return exclude("index spool: " + err.Error())
			}
		}
	}
	fmt.Fprintln(x.exported, rec.ID)
	p := placed{offset: base + resp.Offset, length: resp.Length, payload: strings.Clone(resp.PayloadDigest)}
	x.included[rec.ID] = p
	return p.ref(ref, x.warcName)
}

// placed is where a capture's response record went in the bundle.
type placed struct {
	offset, length    int64
	payload, excluded string
}

func (p placed) ref(r CaptureRef, warcName string) CaptureRef {
	if p.excluded != "" {
		r.Excluded = p.excluded
		return r
	}
	r.WARCFile, r.Offset, r.Length, r.PayloadDigest = warcName, p.offset, p.length, p.payload
	return r
}

// addCase writes one case record to the WACZ spools.
func (x *exporter) addCase(cr *CaseRecord) error {
	enc := json.NewEncoder(x.adsJSONL)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cr); err != nil {
		return err
	}
	if err := x.adsCSV.row(adRow(cr)...); err != nil {
		return err
	}
	itemID := ""
	if cr.ReviewItem != nil {
		itemID = cr.ReviewItem.ID
	}
	for _, d := range cr.Decisions {
		if err := x.decCSV.row(cr.Ad.ID, itemID, tstr(d.DecidedAt), string(d.Verdict), d.Reviewer, strconv.FormatBool(d.Amend), d.Note, d.Remote); err != nil {
			return err
		}
	}
	for _, ev := range cr.Audit {
		if err := x.audCSV.row(cr.Ad.ID, ev.ID, tstr(ev.Time), ev.Actor, ev.Action, ev.Object, ev.Remote, ev.Detail); err != nil {
			return err
		}
	}
	// One page per ad, pointing at its first capture in the bundle.
	for _, c := range cr.Captures {
		if c.Excluded != "" || c.WARCFile == "" {
			continue
		}
		p := map[string]any{
			"id": cr.Ad.ID, "url": c.URL, "ts": c.CapturedAt.UTC().Format(time.RFC3339),
			"title": cr.Ad.Title, "x_ad_url": cr.Ad.URL, "x_verdict": cr.Verdict, "x_capture": c.ID,
		}
		if cr.Ad.Assessment != nil {
			p["x_score"] = cr.Ad.Assessment.Score
			p["x_category"] = cr.Ad.Assessment.Category
		}
		line, err := json.Marshal(p)
		if err != nil {
			return err
		}
		x.pages.Write(append(line, '\n'))
		x.sum.Pages++
		if x.mainPage == "" {
			x.mainPage, x.mainDate = c.URL, c.CapturedAt.UTC().Format(time.RFC3339)
		}
		break
	}
	return nil
}

func tstr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func adRow(cr *CaseRecord) []string {
	ad := cr.Ad
	as := ad.Assessment
	if as == nil {
		as = &lokerwatch.Assessment{}
	}
	var signals []string
	for _, s := range as.Signals {
		signals = append(signals, fmt.Sprintf("%s(%s %+d): %s", s.Rule, s.Category, s.Weight, s.Evidence))
	}
	item := cr.ReviewItem
	if item == nil {
		item = &lokerwatch.ReviewItem{}
	}
	var capIDs, capDigests []string
	for _, c := range cr.Captures {
		capIDs = append(capIDs, c.ID)
		capDigests = append(capDigests, c.Digest)
	}
	e := ad.Entities
	j := func(v []string) string { return strings.Join(v, " ") }
	salary := ""
	if e.SalaryIDR != 0 {
		salary = strconv.FormatInt(e.SalaryIDR, 10)
	}
	row := []string{ad.ID, ad.URL, ad.PageURL, ad.Source, string(ad.SourceType), tstr(ad.FetchedAt), tstr(ad.FirstSeen), tstr(ad.LastSeen),
		ad.Title, ad.Text, ad.Company, ad.Location, ad.Salary, salary, ad.Lang, tstr(ad.PostedAt),
		strconv.Itoa(as.Score), strconv.FormatBool(as.Flagged), string(as.Category),
		strconv.Itoa(as.Categories[lokerwatch.CategoryScam]), strconv.Itoa(as.Categories[lokerwatch.CategoryNonprocedural]),
		strconv.Itoa(as.Categories[lokerwatch.CategoryTrafficking]), strconv.FormatBool(as.NotAnOffer), strings.Join(signals, " | "), as.Version,
		j(e.Phones), j(e.WhatsApp), j(e.Telegram), j(e.Emails), strings.Join(e.Agencies, " | "), j(e.Licences), j(e.Countries), strings.Join(e.Places, " | "),
		item.ID, string(item.Status), string(cr.Verdict), item.Reviewer, tstr(item.DecidedAt), item.Note, strconv.Itoa(len(cr.Decisions)),
		j(capIDs), j(capDigests)}
	for i, v := range row {
		row[i] = csvSafe(v)
	}
	return row
}

// exportInfo is case/export.json: the chain-of-custody record of this
// export, inside the signed bundle.
type exportInfo struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created"`
	Software string    `json:"software"`
	Actor    string    `json:"exported_by"`
	Query    struct {
		Verdicts         []lokerwatch.Verdict `json:"verdicts,omitempty"`
		Since            time.Time            `json:"since,omitzero"`
		Until            time.Time            `json:"until,omitzero"`
		Entity           string               `json:"entity,omitempty"`
		IncludeUnflagged bool                 `json:"include_unflagged,omitempty"`
	} `json:"query"`
	Ads            int      `json:"ads"`
	Captures       int      `json:"captures"`
	Signed         bool     `json:"signed"`
	KeyFingerprint string   `json:"key_fingerprint,omitempty"`
	Skipped        []string `json:"skipped_captures,omitempty"`
	Files          []string `json:"files"`
	Notes          string   `json:"notes"`
}

func (x *exporter) info() exportInfo {
	var ei exportInfo
	ei.ID, ei.Created, ei.Software, ei.Actor = x.sum.ID, x.now, x.opts.Software, x.opts.Actor
	ei.Query.Verdicts, ei.Query.Since, ei.Query.Until = x.opts.Verdicts, x.opts.Since, x.opts.Until
	ei.Query.Entity, ei.Query.IncludeUnflagged = x.opts.Entity, x.opts.IncludeUnflagged
	ei.Ads, ei.Captures, ei.Skipped = x.sum.Ads, x.sum.Captures, x.sum.Skipped
	ei.Signed = x.opts.Key != nil
	if x.opts.Key != nil {
		ei.KeyFingerprint = KeyFingerprint(&x.opts.Key.PublicKey)
	}
	ei.Files = []string{
		"archive/" + x.warcName + ": WARC 1.1 captures (response, request, metadata per page), one gzip member per record",
		"indexes/index.cdxj: CDXJ index of the response records",
		"pages/pages.jsonl: one page per ad, for ReplayWeb.page",
		"case/ads.jsonl: every ad with assessment, entities, review item, decisions, audit trail and capture references",
		"case/ads.csv, case/decisions.csv, case/audit.csv: the same as tables",
		"case/export.json: this file",
	}
	ei.Files = append(ei.Files, extraFileNotes(x.opts.Files)...)
	if ei.Signed {
		ei.Notes = "datapackage.json lists the sha256 and size of every file; datapackage-digest.json holds its hash, signed (ECDSA, WACZ Signing 0.1.0 anonymous form). Check with: lokerwatch verify --public KEY.pem BUNDLE.wacz"
	} else {
		ei.Notes = "UNSIGNED: datapackage.json lists the sha256 and size of every file and datapackage-digest.json holds its hash, but no signature vouches for who made the bundle. Check with: lokerwatch verify BUNDLE.wacz"
	}
	return ei
}

// audit logs the export after the bundle is complete.
func (x *exporter) audit(ctx context.Context) error {
	detail, _ := json.Marshal(map[string]any{
		"format": x.sum.Format, "ads": x.sum.Ads, "captures": x.sum.Captures, "signed": x.sum.Signed,
		"key": x.sum.KeyFingerprint, "datapackage_hash": x.sum.DatapackageHash,
		"verdicts": x.opts.Verdicts, "since": tstr(x.opts.Since), "until": tstr(x.opts.Until), "entity": x.opts.Entity,
		"skipped": len(x.sum.Skipped),
	})
	if err := x.store.AppendAudit(ctx, lokerwatch.AuditEvent{
		Time: x.now, Actor: x.opts.Actor, Action: ActionExport, Object: x.sum.ID, Detail: string(detail),
	}); err != nil {
		return err
	}
	if x.exported == nil {
		return nil
	}
	r, err := x.exported.reader()
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		id := sc.Text()
		if err := x.store.AppendAudit(ctx, lokerwatch.AuditEvent{
			Time: x.now, Actor: x.opts.Actor, Action: ActionExported, Object: id, Detail: x.sum.ID,
		}); err != nil {
			return fmt.Errorf("capture %s: %w", id, err)
		}
	}
	return sc.Err()
}
