package evidence

import (
	"archive/zip"
	"bufio"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// PurgeStore is what Purge and Release need from a store.
type PurgeStore interface {
	ScanAds(ctx context.Context, f storage.AdFilter, fn func(*lokerwatch.Ad) error) error
	ItemForAd(ctx context.Context, adID string) (*lokerwatch.ReviewItem, error)
	EvidenceForAd(ctx context.Context, adID string) ([]storage.EvidenceRecord, error)
	GetEvidence(ctx context.Context, id string) (*storage.EvidenceRecord, error)
	DeleteEvidence(ctx context.Context, id string) error
	ListAudit(ctx context.Context, f storage.AuditFilter) ([]lokerwatch.AuditEvent, error)
	AppendAudit(ctx context.Context, ev lokerwatch.AuditEvent) error
}

// Policy is the retention policy (config evidence.retention).
type Policy struct {
	// BenignDays keeps a capture whose ads were all decided benign for
	// this many days after the last of those decisions; 0 deletes it at
	// the next purge.
	BenignDays int
	// DryRun counts what would be deleted without deleting or logging.
	DryRun bool
	// Actor is logged as who purged (default "system").
	Actor string
}

// Purge applies the retention policy and returns how many captures it
// deleted. A capture is deleted when
//   - every ad it holds was decided benign more than BenignDays ago, or
//   - it was exported and then released (Release), so the investigator
//     holds it.
//
// Everything else is kept: undecided ads, ads decided scam,
// non-procedural or trafficking until their capture is exported and
// released. Each deletion is logged in the audit trail ("purge").
// The exported / released state is kept as audit events
// (evidence.exported, evidence.released) on the capture ID.
func Purge(ctx context.Context, store PurgeStore, p Policy, now time.Time) (int, error) {
	if p.BenignDays < 0 {
		return 0, fmt.Errorf("purge: benign_days must not be negative")
	}
	if p.Actor == "" {
		p.Actor = "system"
	}
	// Collect ad IDs first so no other store call runs inside the scan.
	var ids []string
	if err := store.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		ids = append(ids, ad.ID)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("purge: scan ads: %w", err)
	}
	keepFor := time.Duration(p.BenignDays) * 24 * time.Hour
	seen := map[string]bool{}
	verdicts := map[string]*lokerwatch.ReviewItem{}
	item := func(adID string) (*lokerwatch.ReviewItem, error) {
		if it, ok := verdicts[adID]; ok {
			return it, nil
		}
		it, err := store.ItemForAd(ctx, adID)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			it, err = nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("review item of ad %s: %w", adID, err)
		}
		verdicts[adID] = it
		return it, nil
	}
	n := 0
	for _, adID := range ids {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		caps, err := store.EvidenceForAd(ctx, adID)
		if err != nil {
			return n, fmt.Errorf("purge: captures of ad %s: %w", adID, err)
		}
		for _, c := range caps {
			if seen[c.ID] {
				continue
			}
			seen[c.ID] = true
			reason, err := purgeReason(ctx, store, &c, item, keepFor, now)
			if err != nil {
				return n, fmt.Errorf("purge: capture %s: %w", c.ID, err)
			}
			if reason == "" {
				continue
			}
			n++
			if p.DryRun {
				continue
			}
			if err := store.DeleteEvidence(ctx, c.ID); err != nil {
				return n - 1, fmt.Errorf("purge: delete capture %s: %w", c.ID, err)
			}
			if err := store.AppendAudit(ctx, lokerwatch.AuditEvent{
				Time: now.UTC(), Actor: p.Actor, Action: ActionPurge, Object: c.ID,
				Detail: fmt.Sprintf("%s; url=%s ads=%s digest=%s", reason, c.URL, strings.Join(c.AdIDs, ","), c.Digest),
			}); err != nil {
				return n, fmt.Errorf("purge: capture %s deleted but not logged: %w", c.ID, err)
			}
		}
	}
	return n, nil
}

// purgeReason says why a capture may go, or "" to keep it.
func purgeReason(ctx context.Context, store PurgeStore, c *storage.EvidenceRecord,
	item func(string) (*lokerwatch.ReviewItem, error), keepFor time.Duration, now time.Time) (string, error) {
	exported, released, err := captureState(ctx, store, c.ID)
	if err != nil {
		return "", err
	}
	if exported != "" && released != "" {
		return "exported (" + exported + ") and released (" + released + ")", nil
	}
	if len(c.AdIDs) == 0 {
		return "", nil
	}
	var last time.Time
	for _, id := range c.AdIDs {
		it, err := item(id)
		if err != nil {
			return "", err
		}
		if it == nil || it.Status != lokerwatch.StatusDecided || it.Verdict != lokerwatch.VerdictBenign {
			return "", nil
		}
		if it.DecidedAt.After(last) {
			last = it.DecidedAt
		}
	}
	if now.Sub(last) < keepFor {
		return "", nil
	}
	return fmt.Sprintf("all ads decided benign, last on %s (kept %d days)", last.UTC().Format(time.RFC3339), int(keepFor/(24*time.Hour))), nil
}

// captureState returns the export ID of the latest export of a capture
// and the detail of a release that came after an export ("" when none).
func captureState(ctx context.Context, store PurgeStore, id string) (exported, released string, err error) {
	evs, err := store.ListAudit(ctx, storage.AuditFilter{Object: id})
	if err != nil {
		return "", "", fmt.Errorf("audit trail: %w", err)
	}
	for _, ev := range evs { // oldest first
		switch ev.Action {
		case ActionExported:
			exported = ev.Detail
		case ActionReleased:
			if exported != "" {
				released = ev.Actor + " " + ev.Time.UTC().Format(time.RFC3339)
			}
		}
	}
	return exported, released, nil
}

// Release marks exported captures as released by actor (the investigator
// confirms the bundle is safe elsewhere), so that the next Purge deletes
// them. Captures never exported are refused: their IDs are listed in the
// error and the others are still released. It returns how many were
// released.
func Release(ctx context.Context, store PurgeStore, captureIDs []string, actor, reason string, now time.Time) (int, error) {
	if actor == "" {
		actor = "system"
	}
	var refused []string
	n := 0
	for _, id := range captureIDs {
		if _, err := store.GetEvidence(ctx, id); err != nil {
			if errors.Is(err, lokerwatch.ErrNotFound) {
				refused = append(refused, id+" (no such capture)")
				continue
			}
			return n, fmt.Errorf("release %s: %w", id, err)
		}
		exported, _, err := captureState(ctx, store, id)
		if err != nil {
			return n, fmt.Errorf("release %s: %w", id, err)
		}
		if exported == "" {
			refused = append(refused, id+" (never exported)")
			continue
		}
		detail := "after export " + exported
		if reason != "" {
			detail += ": " + reason
		}
		if err := store.AppendAudit(ctx, lokerwatch.AuditEvent{
			Time: now.UTC(), Actor: actor, Action: ActionReleased, Object: id, Detail: detail,
		}); err != nil {
			return n, fmt.Errorf("release %s: %w", id, err)
		}
		n++
	}
	if len(refused) > 0 {
		return n, fmt.Errorf("not released: %s", strings.Join(refused, ", "))
	}
	return n, nil
}

// ReleaseVerified releases the captures that an exported bundle really
// holds: the bundle must verify intact and signed by pub (a trusted public
// key, required), and a capture is released only when case/ads.jsonl
// lists it, its response record is in the bundle's WARC files with
// matching digests, and the digest the bundle recorded for it is the
// digest of the capture the store holds now. Anything else is refused and
// named in the error; an unverified bundle releases nothing. It returns
// how many captures were released.
func ReleaseVerified(ctx context.Context, store PurgeStore, r io.ReaderAt, size int64, pub crypto.PublicKey,
	actor, reason string, now time.Time) (int, error) {
	if pub == nil {
		return 0, errors.New("release: no trusted public key: only a bundle verified with one releases captures")
	}
	rep, err := Verify(r, size, pub)
	if err != nil {
		return 0, fmt.Errorf("release: verify bundle: %w", err)
	}
	if !rep.Trusted() {
		why := "not signed by the given key"
		if !rep.Intact() {
			why = fmt.Sprintf("not intact (%d problems, first: %s)", len(rep.Problems), rep.Problems[0])
		}
		return 0, fmt.Errorf("release: the bundle is %s; nothing released", why)
	}
	refs, err := bundleRefs(r, size)
	if err != nil {
		return 0, fmt.Errorf("release: %w", err)
	}
	var ids, refused []string
	for _, ref := range refs {
		if !rep.responses[ref.ID] {
			refused = append(refused, ref.ID+" (listed, but its record is not in the bundle)")
			continue
		}
		rec, err := store.GetEvidence(ctx, ref.ID)
		if errors.Is(err, lokerwatch.ErrNotFound) {
			refused = append(refused, ref.ID+" (no such capture)")
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("release %s: %w", ref.ID, err)
		}
		if rec.Digest != ref.Digest {
			refused = append(refused, fmt.Sprintf("%s (the store holds %s, the bundle %s)", ref.ID, rec.Digest, ref.Digest))
			continue
		}
		ids = append(ids, ref.ID)
	}
	detail := "bundle signed by " + rep.KeyFingerprint
	if reason != "" {
		detail += ": " + reason
	}
	n, err := Release(ctx, store, ids, actor, detail, now)
	if len(refused) > 0 {
		msg := "not released: " + strings.Join(refused, ", ")
		if err != nil {
			return n, fmt.Errorf("%w; %s", err, msg)
		}
		return n, errors.New(msg)
	}
	return n, err
}

// BundleCaptures lists the capture IDs held by a WACZ bundle made by
// Export (from case/ads.jsonl), for releasing them after checking the
// bundle with Verify.
func BundleCaptures(r io.ReaderAt, size int64) ([]string, error) {
	refs, err := bundleRefs(r, size)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(refs))
	for i, ref := range refs {
		ids[i] = ref.ID
	}
	return ids, nil
}

// bundleRefs reads the references of the captures included in a bundle
// (each once) from its case/ads.jsonl.
func bundleRefs(r io.ReaderAt, size int64) ([]CaptureRef, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	f, err := zr.Open("case/ads.jsonl")
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReader(f))
	seen := map[string]bool{}
	var refs []CaptureRef
	for {
		var cr struct {
			Captures []CaptureRef `json:"captures"`
		}
		if err := dec.Decode(&cr); err == io.EOF {
			return refs, nil
		} else if err != nil {
			return nil, fmt.Errorf("bundle case/ads.jsonl: %w", err)
		}
		for _, c := range cr.Captures {
			if c.Excluded == "" && c.WARCFile != "" && !seen[c.ID] {
				seen[c.ID] = true
				refs = append(refs, c)
			}
		}
	}
}
