package evidence

import (
	"context"
	"fmt"
	"github.com/lokerwatch/lokerwatch/internal/heappeak"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage"
)

// seedBench (called by the parent benchmark, so that the store outlives
// the runs of a sub-benchmark) stores n flagged ads, each with a capture of a ~20 KB page
// recorded from a real HTTP exchange, half of them decided.
func seedBench(b *testing.B, n int) storage.Store {
	ctx := context.Background()
	st := openSQLite(b)
	site := jobSite(b)
	tmpl := fetch(b, site.URL+"/job/1")
	a := NewArchiver(st, ArchiverOptions{Worker: "bench"})
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	words := strings.Fields("dibutuhkan admin online kamboja gaji juta tanpa pengalaman tiket ditanggung paspor agen hubungi segera kerja luar negeri myanmar laos thailand customer service")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		var page strings.Builder
		page.WriteString("<html><body>")
		for page.Len() < 20_000 {
			page.WriteString(words[rng.IntN(len(words))])
			page.WriteByte(' ')
		}
		page.WriteString("</body></html>")
		ex := *tmpl
		ex.URL = fmt.Sprintf("%s/job/%d", site.URL, i)
		ex.FetchedAt = base.Add(time.Duration(i) * time.Minute)
		ex.RawBody = []byte(page.String())
		ex.Body = ex.RawBody
		ad := flaggedAd("bench", ex.URL, i, fmt.Sprintf("+62812%08d", i%500), ex.FetchedAt)
		if _, err := st.PutAd(ctx, ad); err != nil {
			b.Fatal(err)
		}
		it, _, err := st.Enqueue(ctx, ad)
		if err != nil {
			b.Fatal(err)
		}
		if err := a.Archive(ctx, &ex, []*lokerwatch.Ad{ad}); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			v := []lokerwatch.Verdict{lokerwatch.VerdictScam, lokerwatch.VerdictTrafficking, lokerwatch.VerdictNonprocedural}[i%3]
			if _, err := st.Decide(ctx, lokerwatch.Decision{ItemID: it.ID, AdID: ad.ID, Verdict: v, Reviewer: "ana", DecidedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
		}
	}
	return st
}

// peakHeap samples the live heap while fn runs.
func peakHeap(fn func()) uint64 { return heappeak.During(2*time.Millisecond, fn) }

// BenchmarkExport exports every flagged ad (with its capture) as a signed
// WACZ. Compare the sizes: allocated bytes per ad and the peak heap stay
// flat from 1,000 to 4,000 ads when the export streams.
//
//	go test -run '^$' -bench BenchmarkExport -benchtime 3x ./evidence/
func BenchmarkExport(b *testing.B) {
	key := testKey(b, P384)
	for _, n := range []int{1000, 4000} {
		st := seedBench(b, n)
		b.Run(fmt.Sprintf("ads=%d", n), func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			var peak uint64
			var out int64
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := 0; i < b.N; i++ {
				p := peakHeap(func() {
					sum, err := Export(ctx, st, io.Discard, ExportOptions{Key: key, TempDir: b.TempDir()})
					if err != nil {
						b.Fatal(err)
					}
					if sum.Ads != n || sum.Captures != n {
						b.Fatalf("exported %d ads, %d captures, want %d", sum.Ads, sum.Captures, n)
					}
					out = sum.Bytes
				})
				peak = max(peak, p)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(n), "alloc-B/ad")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/ad")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(out)/(1<<20), "bundle-MiB")
		})
	}
}
