package review

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// The scale: 100,000 ads naming 300,000 entities.
const (
	benchInvAds       = 100_000
	benchInvRecruiter = 5     // ads per recruiter (persona)
	benchHubAds       = 1_000 // ads quoting one very common account
)

// BenchmarkInvestigation fills a store with 100,000 synthetic ads, each
// naming three entities (a phone, a bank account, a Telegram handle) of
// one of 20,000 recruiters, linked into personas as they are stored; 1,000
// of them also name one "hub" account. It then reports, over real HTTP
// with an analyst's session, the median and 99th percentile latency of the
// entity page (one request in a hundred is the hub) and of the persona
// page, and the time to store a new ad and update its persona.
//
// LOKERWATCH_BENCH_STORE=redis runs it on a redis-server started for it;
// the fill takes a few minutes either way:
//
//	go test -run '^$' -bench BenchmarkInvestigation -benchtime 400x ./review
func BenchmarkInvestigation(b *testing.B) {
	var st storage.Store = testStore(b)
	if os.Getenv("LOKERWATCH_BENCH_STORE") == "redis" {
		st = redisStore(b)
	}
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	recruiters := benchInvAds / benchInvRecruiter
	start := time.Now()
	for i := range benchInvAds {
		r := i % recruiters
		ad := benchInvAd(i, r, rng)
		if i%(benchInvAds/benchHubAds) == 0 {
			ad.Entities.Domains = []string{"hub-kerja.example"}
		}
		if _, err := st.PutAd(ctx, ad); err != nil {
			b.Fatal(err)
		}
		// The fill links as the crawler does, less the repost lookup (the
		// synthetic ads have no fingerprints).
		if _, err := st.LinkPersona(ctx, storage.PersonaLink{AdID: ad.ID, Keys: persona.Keys(ad, nil), FirstSeen: ad.FirstSeen, LastSeen: ad.LastSeen,
			Category: ad.Assessment.Category, Source: ad.Source}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			if _, _, err := st.Enqueue(ctx, ad); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Logf("stored and linked %d ads (%d entity references) in %v", benchInvAds, 3*benchInvAds+benchHubAds, time.Since(start).Round(time.Second))
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s", strings.TrimSpace(string(la)))
	}

	srv, err := New(Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	base := newBenchServer(b, srv)
	hash, err := hashPassword("not used: the session is made directly")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.PutUser(ctx, &storage.User{Name: "analyst", Role: storage.RoleAnalyst, PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	secret := "bench-investigation-session"
	if err := st.PutSession(ctx, &storage.Session{ID: secretID(secret), User: "analyst", CSRF: "x", CreatedAt: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{}
	fetch := func(b *testing.B, path string) time.Duration {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.AddCookie(&http.Cookie{Name: "lw_session", Value: secret})
		t0 := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t0)
		if resp.StatusCode != 200 {
			b.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		if n < 1000 {
			b.Fatalf("GET %s: only %d bytes", path, n)
		}
		return d
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}

	b.Run("entity_page", func(b *testing.B) {
		fetch(b, entityHref(lokerwatch.EntityBank, benchAccount(0)))
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := range b.N {
			path := entityHref(lokerwatch.EntityBank, benchAccount(rng.IntN(recruiters)))
			if i%100 == 0 {
				path = entityHref(lokerwatch.EntityDomain, "hub-kerja.example")
			}
			lat = append(lat, fetch(b, path))
		}
		b.StopTimer()
		report(b, lat)
	})
	b.Run("persona_page", func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for range b.N {
			// The persona of a recruiter is named after its first ad.
			lat = append(lat, fetch(b, "/personas/"+benchAdID(rng.IntN(recruiters))))
		}
		b.StopTimer()
		report(b, lat)
	})
	// A new ad of a known recruiter: stored, then linked (persona.Linker,
	// with the repost lookup) — what the crawler's store does per ad.
	//
	// base-p50/p99 time, in the same loop, a step that touches no store:
	// a fixed computation about as long as the link's median. A no-op would
	// last nanoseconds and almost never be preempted; this one is as
	// exposed to the scheduler and the garbage collector as the link, so
	// its p99 shows what they alone add on a loaded machine.
	b.Run("link_ad", func(b *testing.B) {
		l := persona.NewLinker(st, persona.Options{})
		lat := make([]time.Duration, 0, b.N)
		base := make([]time.Duration, 0, b.N)
		block := make([]byte, 4096)
		b.ResetTimer()
		for i := range b.N {
			ad := benchInvAd(benchInvAds+i, rng.IntN(recruiters), rng)
			ad.Fingerprint = rng.Uint64()
			b.StopTimer()
			if _, err := st.PutAd(ctx, ad); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			t0 := time.Now()
			p, err := l.Link(ctx, ad)
			lat = append(lat, time.Since(t0))
			if err != nil || p.Size < 2 {
				b.Fatalf("link: %+v %v", p, err)
			}
			b.StopTimer()
			t0 = time.Now()
			for range benchBaseBlocks {
				sum := sha256.Sum256(block)
				block[0] ^= sum[0]
			}
			base = append(base, time.Since(t0))
			b.StartTimer()
		}
		b.StopTimer()
		report(b, lat)
		slices.Sort(base)
		b.ReportMetric(float64(base[min(len(base)-1, len(base)*99/100)].Microseconds())/1000, "base-p99-ms")
		b.ReportMetric(float64(base[len(base)/2].Microseconds())/1000, "base-p50-ms")
		if la, err := os.ReadFile("/proc/loadavg"); err == nil {
			b.Logf("load average: %s", strings.TrimSpace(string(la)))
		}
	})
}

// benchBaseBlocks is the baseline step's work: SHA-256 of this many 4 KiB
// blocks, about 0.3 ms on the build machine, near the link's median.
const benchBaseBlocks = 128

func benchAdID(i int) string            { return fmt.Sprintf("inv-%07d", i) }
func benchAccount(recruiter int) string { return fmt.Sprintf("bri:%015d", 100000000000000+recruiter) }

func benchInvAd(i, r int, rng *rand.Rand) *lokerwatch.Ad {
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	cats := lokerwatch.Categories
	return &lokerwatch.Ad{
		ID: benchAdID(i), Source: fmt.Sprint("source-", i%7), URL: fmt.Sprintf("https://jobs.example/%d", i), FetchedAt: day,
		Title: fmt.Sprintf("Lowongan admin luar negeri %d, gaji besar", i), Text: "Berangkat cepat, tiket ditanggung.",
		Entities: lokerwatch.Entities{
			Phones:   []string{fmt.Sprintf("+62812%08d", r)},
			Accounts: []string{benchAccount(r)},
			Telegram: []string{fmt.Sprintf("rekrut_%06d", r)},
		},
		Assessment: &lokerwatch.Assessment{Score: 30 + rng.IntN(71), Flagged: true, Category: cats[r%len(cats)]},
	}
}
