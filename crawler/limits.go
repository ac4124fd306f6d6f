package crawler

import (
	"hash/maphash"

	"github.com/lokerwatch/lokerwatch"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Trap limits. A crawler trap is a site (by mistake or on purpose) whose
// links never run out: a calendar whose "next month" always exists,
// relative links that append a segment on every page, a listing whose
// "next page" always exists but shows nothing new. Calendars and looping
// paths are refused when links are queued; a listing is judged by its
// yield (barrenListings), not by how many pages it has, so a board
// thousands of pages deep is followed to its end.
const (
	maxCalendarVariants = 31 // distinct dates on one URL template (a month of days)
	maxPathSegments     = 32
	maxSegmentRepeats   = 2  // a non-numeric segment appearing 3 times is a loop
	calendarPastYears   = 20 // dates further away than this are not ads
	calendarFutureYears = 2
	// barrenListings is how many listing pages in a row (per source and
	// host) may add no new page links before the listing's next pages are
	// no longer followed: a listing that keeps paging without showing
	// anything new is a trap (or the end of the board).
	barrenListings = 10
	// maxTracked bounds the trap bookkeeping of one long-running process:
	// past it the tables start again (a trap then gets one more round).
	maxTracked = 200_000
)

// Reasons a link is not queued or a URL not fetched: the keys of
// Summary.Skipped.
const (
	skipDepth        = "max_depth"
	skipURLLength    = "max_url_length"
	skipPagesPerHost = "pages_per_host"
	skipRepeat       = "trap: repeating path segments"
	skipSegments     = "trap: too many path segments"
	skipCalendar     = "trap: calendar"
	skipCalendarFar  = "trap: calendar date out of range"
	skipBarren       = "trap: listing pages add no new links"
)

// dropReasons lists every reason, the closed set of
// lokerwatch_links_dropped_total's reason label.
var dropReasons = []string{skipDepth, skipURLLength, skipPagesPerHost, skipRepeat, skipSegments,
	skipCalendar, skipCalendarFar, skipBarren}

// limits is what this process knows about the crawl so far, for the
// per-host page limit and trap detection. It is per process: several
// workers each apply the limits to what they see.
type limits struct {
	pagesPerHost int
	now          func() time.Time

	mu        sync.Mutex
	seed      maphash.Seed
	fetched   map[string]int                 // host -> pages fetched
	calendars map[string]map[uint64]struct{} // URL template -> distinct dates
	barren    map[string]int                 // source+host -> listing pages in a row without new links
	adsSeen   map[string]struct{}            // IDs of ads found on listing pages
	skipped   map[string]int
	dropped   map[Drop]int
}

// Drop names why links of a source were left out of the crawl.
type Drop struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

func newLimits(pagesPerHost int) *limits {
	return &limits{
		pagesPerHost: pagesPerHost, now: time.Now, seed: maphash.MakeSeed(),
		fetched: map[string]int{}, barren: map[string]int{}, adsSeen: map[string]struct{}{},
		calendars: map[string]map[uint64]struct{}{}, skipped: map[string]int{}, dropped: map[Drop]int{},
	}
}

// skip counts n links or URLs of source left out for reason; first is
// true the first time this process counts that source and reason.
func (l *limits) skip(source, reason string, n int) (first bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.skipped[reason] += n
	k := Drop{source, reason}
	_, seen := l.dropped[k]
	l.dropped[k] += n
	return !seen
}

func (l *limits) droppedCopy() map[Drop]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.dropped) == 0 {
		return nil
	}
	m := make(map[Drop]int, len(l.dropped))
	for k, v := range l.dropped {
		m[k] = v
	}
	return m
}

// newAds tells whether any of a listing page's ads is one this process
// has not seen on a listing before.
func (l *limits) newAds(ads []*lokerwatch.Ad) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	found := false
	for _, ad := range ads {
		if _, ok := l.adsSeen[ad.ID]; !ok {
			if len(l.adsSeen) >= maxTracked {
				clear(l.adsSeen)
			}
			l.adsSeen[ad.ID] = struct{}{}
			found = true
		}
	}
	return found
}

// listingYield records whether a listing page of key (source and host)
// added new page links and returns how many listing pages of key in a row
// have added none.
func (l *limits) listingYield(key string, added bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if added {
		delete(l.barren, key)
		return 0
	}
	if len(l.barren) >= maxTracked {
		clear(l.barren)
	}
	l.barren[key]++
	return l.barren[key]
}

func (l *limits) skippedCopy() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.skipped) == 0 {
		return nil
	}
	m := make(map[string]int, len(l.skipped))
	for k, v := range l.skipped {
		m[k] = v
	}
	return m
}

// fetch counts a page of host about to be fetched; false when the host
// has had pages_per_host pages already.
func (l *limits) fetch(host string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pagesPerHost <= 0 {
		return true
	}
	if l.fetched[host] >= l.pagesPerHost {
		return false
	}
	if len(l.fetched) >= maxTracked {
		clear(l.fetched)
	}
	l.fetched[host]++
	return true
}

// admit vets a link (canonical URL) before it is queued: "" when it may be
// queued, else the reason it is not (the caller counts it).
func (l *limits) admit(u *url.URL) string {
	host := strings.ToLower(u.Host)
	segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
	if len(segs) > maxPathSegments {
		return skipSegments
	}
	if repeating(segs) {
		return skipRepeat
	}
	tmpl, dates, years := calendarTemplate(host, segs, u.RawQuery)
	now := l.now().Year()
	for _, y := range years {
		if y < now-calendarPastYears || y > now+calendarFutureYears {
			return skipCalendarFar
		}
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pagesPerHost > 0 && l.fetched[host] >= l.pagesPerHost {
		return skipPagesPerHost
	}
	if len(l.calendars) >= maxTracked {
		clear(l.calendars)
	}
	if tmpl != "" && !l.addVariant(l.calendars, tmpl, dates, maxCalendarVariants) {
		return skipCalendar
	}
	return ""
}

// addVariant records value under key; false when key already has max
// other values.
func (l *limits) addVariant(m map[string]map[uint64]struct{}, key, value string, max int) bool {
	h := maphash.String(l.seed, value)
	set := m[key]
	if _, ok := set[h]; ok {
		return true
	}
	if len(set) >= max {
		return false
	}
	if set == nil {
		set = map[uint64]struct{}{}
		m[key] = set
	}
	set[h] = struct{}{}
	return true
}

// repeating finds a path that loops: a segment three times, or a run of
// segments repeated back to back (/a/b/a/b), as relative links that resolve
// one level deeper on every page produce. Numbers repeat legitimately
// (/2026/11/11, /page/1/item/1) and are not counted.
func repeating(segs []string) bool {
	count := map[string]int{}
	for _, s := range segs {
		if s == "" || isNumber(s) {
			continue
		}
		count[s]++
		if count[s] > maxSegmentRepeats {
			return true
		}
	}
	for k := 1; 2*k <= len(segs); k++ {
		for i := 0; i+2*k <= len(segs); i++ {
			same := true
			numeric := true
			for j := 0; j < k; j++ {
				a := segs[i+j]
				if a != segs[i+k+j] || a == "" {
					same = false
					break
				}
				numeric = numeric && isNumber(a)
			}
			if same && !numeric {
				return true
			}
		}
	}
	return false
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	dateSegment = regexp.MustCompile(`^((?:19|20|21)\d\d)-(0?[1-9]|1[0-2])(?:-(0?[1-9]|[12]\d|3[01]))?$`)
	dateValue   = regexp.MustCompile(`^(?:(?:19|20|21)\d\d)(?:-\d\d?(?:-\d\d?)?)?$|^\d{1,2}$`)
)

// calendarKeys are query keys that carry a date part (English and
// Indonesian).
var calendarKeys = map[string]bool{
	"year": true, "yr": true, "y": true, "month": true, "mon": true, "mo": true, "m": true,
	"day": true, "d": true, "date": true, "week": true, "wk": true, "cal": true,
	"tahun": true, "bulan": true, "tanggal": true, "tgl": true, "hari": true, "minggu": true,
}

// calendarTemplate replaces the date parts of a URL (/2026/11/27,
// /2026-11, ?month=11&year=2026) with placeholders: tmpl is the URL
// without its dates ("" when it has none), dates the date parts, years the
// years found.
func calendarTemplate(host string, segs []string, rawQuery string) (tmpl, dates string, years []int) {
	var t, d strings.Builder
	t.WriteString(host)
	found := false
	for i := 0; i < len(segs); i++ {
		s := segs[i]
		t.WriteByte('/')
		if m := dateSegment.FindStringSubmatch(s); m != nil {
			y, _ := strconv.Atoi(m[1])
			years = append(years, y)
			t.WriteString("{date}")
			d.WriteString(s + "/")
			found = true
			continue
		}
		// A year, and the month and day after it. A four-digit number
		// without a month after it is as likely an ID (/job/1950) as a
		// year, and ads must not be dropped for their number: it is left
		// to the other limits.
		if len(s) == 4 && isNumber(s) && (s[:2] == "19" || s[:2] == "20" || s[:2] == "21") &&
			i+1 < len(segs) && isDayOrMonth(segs[i+1], 12) {
			n := 2
			if i+2 < len(segs) && isDayOrMonth(segs[i+2], 31) {
				n++
			}
			y, _ := strconv.Atoi(s)
			years = append(years, y)
			t.WriteString("{y/m/d:" + strconv.Itoa(n) + "}")
			d.WriteString(strings.Join(segs[i:i+n], "/") + "/")
			i += n - 1
			found = true
			continue
		}
		t.WriteString(s)
	}
	if rawQuery != "" {
		q, err := url.ParseQuery(rawQuery)
		if err == nil {
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.WriteByte('?')
			for _, k := range keys {
				v := strings.Join(q[k], ",")
				t.WriteString(k + "=")
				if calendarKeys[strings.ToLower(k)] && dateValue.MatchString(v) {
					t.WriteString("{date}&")
					d.WriteString(k + "=" + v + "&")
					if len(v) >= 4 {
						if y, err := strconv.Atoi(v[:4]); err == nil {
							years = append(years, y)
						}
					}
					found = true
					continue
				}
				t.WriteString(v + "&")
			}
		}
	}
	if !found {
		return "", "", nil
	}
	return t.String(), d.String(), years
}

func isDayOrMonth(s string, max int) bool {
	if len(s) == 0 || len(s) > 2 || !isNumber(s) {
		return false
	}
	n, _ := strconv.Atoi(s)
	return n >= 1 && n <= max
}
