package review

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// Search kinds.
const (
	searchAuto   = "auto"
	searchPhone  = "phone"
	searchHandle = "handle"
	searchEmail  = "email"
	searchAgency = "agency"
	searchText   = "text"
)

var searchKinds = []string{searchAuto, searchPhone, searchHandle, searchEmail, searchAgency, searchText}

const (
	maxSearchResults = 500
	searchTimeout    = 15 * time.Second
	// defaultRegion is where a phone number without a country code is from.
	defaultRegion = "ID"
)

type searchResult struct {
	Query      string         `json:"query"`
	Kind       string         `json:"kind"`
	Normalised string         `json:"normalised,omitempty"`
	Ads        []adSummary    `json:"ads"`
	Total      int            `json:"total"`
	Flagged    int            `json:"flagged"`
	FirstSeen  time.Time      `json:"first_seen,omitzero"`
	LastSeen   time.Time      `json:"last_seen,omitzero"`
	BySource   map[string]int `json:"by_source,omitempty"`
	ByVerdict  map[string]int `json:"by_verdict,omitempty"`
	// Partial is set when the result was cut at the limit or the time
	// budget ran out.
	Partial bool `json:"partial,omitempty"`
}

// normalisePhone returns q in E.164, reading numbers without a country
// code as Indonesian ("0812-3456-7890", "62 812 3456 7890", "+62812…").
func normalisePhone(q string) (string, error) {
	digits := 0
	for _, r := range q {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if digits < 6 {
		return "", fmt.Errorf("%q is not a phone number", q)
	}
	raw := strings.TrimSpace(q)
	// "62812…" without "+" is common in wa.me links and ads.
	if strings.HasPrefix(raw, "62") {
		raw = "+" + raw
	}
	n, err := phonenumbers.Parse(raw, defaultRegion)
	if err != nil {
		return "", fmt.Errorf("%q is not a phone number: %v", q, err)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// normaliseHandle turns "@Name", "t.me/Name" or "https://t.me/name" into "name".
func normaliseHandle(q string) string {
	h := strings.TrimSpace(strings.ToLower(q))
	for _, p := range []string{"https://", "http://", "www.", "t.me/", "telegram.me/", "@"} {
		h = strings.TrimPrefix(h, p)
	}
	h, _, _ = strings.Cut(h, "/")
	h, _, _ = strings.Cut(h, "?")
	return h
}

// guessKind picks the search kind for a query typed without one.
func guessKind(q string) string {
	q = strings.TrimSpace(q)
	l := strings.ToLower(q)
	switch {
	case strings.HasPrefix(l, "@"), strings.Contains(l, "t.me/"), strings.Contains(l, "telegram.me/"):
		return searchHandle
	case strings.Contains(q, "@"):
		if _, err := mail.ParseAddress(q); err == nil {
			return searchEmail
		}
	}
	digits, other := 0, 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-(). ", r):
		default:
			other++
		}
	}
	if digits >= 7 && other == 0 {
		return searchPhone
	}
	return searchText
}

// search finds ads by an entity (through the store's link index) or by
// text (a bounded scan). It returns errBadInput for unusable queries.
func (s *Server) search(ctx context.Context, q, kind string) (*searchResult, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return nil, fmt.Errorf("%w: empty query", errBadInput)
	}
	if len(q) > 200 {
		return nil, fmt.Errorf("%w: query longer than 200 characters", errBadInput)
	}
	if kind == "" || kind == searchAuto {
		kind = guessKind(q)
	}
	res := &searchResult{Query: q, Kind: kind, Ads: []adSummary{}}
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()

	var keys []lokerwatch.IndexKey
	var match func(*lokerwatch.Ad) bool // for scans
	switch kind {
	case searchPhone:
		n, err := normalisePhone(q)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadInput, err)
		}
		res.Normalised = n
		keys = []lokerwatch.IndexKey{{Kind: lokerwatch.EntityPhone, Value: n}, {Kind: lokerwatch.EntityWhatsApp, Value: n}}
	case searchHandle:
		h := normaliseHandle(q)
		if h == "" {
			return nil, fmt.Errorf("%w: empty handle", errBadInput)
		}
		res.Normalised = "@" + h
		keys = []lokerwatch.IndexKey{{Kind: lokerwatch.EntityTelegram, Value: h}}
	case searchEmail:
		e := strings.ToLower(q)
		if a, err := mail.ParseAddress(q); err == nil {
			e = strings.ToLower(a.Address)
		}
		res.Normalised = e
		keys = []lokerwatch.IndexKey{{Kind: lokerwatch.EntityEmail, Value: e}}
	case searchAgency:
		// Agencies are indexed as written by the extractor; try the usual
		// spellings through the index, then fall back to a scan.
		for _, v := range uniqueStrings(q, strings.ToUpper(q), strings.ToLower(q)) {
			keys = append(keys, lokerwatch.IndexKey{Kind: lokerwatch.EntityAgency, Value: v})
		}
		lq := strings.ToLower(q)
		match = func(ad *lokerwatch.Ad) bool {
			for _, a := range ad.Entities.Agencies {
				if strings.Contains(strings.ToLower(a), lq) {
					return true
				}
			}
			return strings.Contains(strings.ToLower(ad.Company), lq)
		}
	case searchText:
		lq := strings.ToLower(q)
		match = func(ad *lokerwatch.Ad) bool {
			return strings.Contains(strings.ToLower(ad.Title), lq) || strings.Contains(strings.ToLower(ad.Text), lq) ||
				strings.Contains(strings.ToLower(ad.Company), lq)
		}
	default:
		return nil, fmt.Errorf("%w: unknown search kind %q (want %s)", errBadInput, kind, strings.Join(searchKinds, ", "))
	}

	var ads []*lokerwatch.Ad
	seen := map[string]bool{}
	for _, k := range keys {
		ids, err := s.st.AdsByKey(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", k.Kind, err)
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if len(ads) >= maxSearchResults {
				res.Partial = true
				break
			}
			ad, err := s.st.GetAd(ctx, id)
			if errors.Is(err, lokerwatch.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("search: get ad %s: %w", id, err)
			}
			ads = append(ads, ad)
		}
	}
	if match != nil && len(ads) == 0 {
		errFull := errors.New("enough results")
		err := s.st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
			if match(ad) {
				if len(ads) >= maxSearchResults {
					return errFull
				}
				ads = append(ads, ad)
			}
			return nil
		})
		switch {
		case errors.Is(err, errFull), errors.Is(err, context.DeadlineExceeded):
			res.Partial = true
		case err != nil:
			return nil, fmt.Errorf("search: scan ads: %w", err)
		}
	}

	res.BySource, res.ByVerdict = map[string]int{}, map[string]int{}
	for _, ad := range ads {
		sum := s.summarize(ctx, ad)
		res.Ads = append(res.Ads, sum)
		res.Total++
		if sum.Flagged {
			res.Flagged++
		}
		res.BySource[sum.Source]++
		if sum.Verdict != "" {
			res.ByVerdict[string(sum.Verdict)]++
		}
		if !sum.FirstSeen.IsZero() && (res.FirstSeen.IsZero() || sum.FirstSeen.Before(res.FirstSeen)) {
			res.FirstSeen = sum.FirstSeen
		}
		if sum.LastSeen.After(res.LastSeen) {
			res.LastSeen = sum.LastSeen
		}
	}
	sort.SliceStable(res.Ads, func(i, j int) bool {
		if res.Ads[i].Score != res.Ads[j].Score {
			return res.Ads[i].Score > res.Ads[j].Score
		}
		return res.Ads[i].LastSeen.After(res.Ads[j].LastSeen)
	})
	return res, nil
}

func uniqueStrings(xs ...string) []string {
	var out []string
	for _, x := range xs {
		out = appendUnique(out, x)
	}
	return out
}

type searchData struct {
	Q      string
	Kind   string
	Kinds  []string
	Result *searchResult
	Error  string
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request, p *principal) {
	d := searchData{Q: r.URL.Query().Get("q"), Kind: r.URL.Query().Get("kind"), Kinds: searchKinds}
	if d.Kind == "" {
		d.Kind = searchAuto
	}
	code := http.StatusOK
	if strings.TrimSpace(d.Q) != "" {
		res, err := s.search(r.Context(), d.Q, d.Kind)
		switch {
		case errors.Is(err, errBadInput):
			d.Error, code = strings.TrimPrefix(err.Error(), errBadInput.Error()+": "), http.StatusBadRequest
		case err != nil:
			s.storeError(w, r, "search", err)
			return
		default:
			d.Result = res
			s.audit(r.Context(), lokerwatch.AuditEvent{Actor: p.name(), Action: "search", Object: res.Kind, Remote: remoteAddr(r),
				Detail: fmt.Sprintf("%q: %d ads", d.Q, res.Total)})
		}
	}
	s.render(w, r, code, "search", newPage(p, tr(r, "search.title"), "search", d))
}
