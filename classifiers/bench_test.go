package classifiers

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokerwatch/lokerwatch"
)

// benchAds loads the held-out fixture (always in the repo) as the
// benchmark corpus.
func benchAds(b testing.TB) []InputLine {
	b.Helper()
	return loadLines(b, "testdata/tuned.jsonl")
}

// cpuTime is the CPU time this process has used (user + system). The
// machine is shared, so besides the usual wall-clock MB/s each benchmark
// reports cpu-MB/s: bytes per second of CPU actually spent, which is the
// one-core throughput and does not drop when other jobs take the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs fn b.N times and reports cpu-MB/s for bytes per run.
func measure(b *testing.B, bytes int64, fn func()) {
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		fn()
	}
	b.StopTimer()
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
	}
}

func benchEngine(b *testing.B) *Engine {
	b.Helper()
	e, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// BenchmarkClassify is the whole pipeline: normalise, keywords, entities,
// money, facts, rules, evidence, fingerprint. Throughput is bytes of
// title + "\n" + text per second on one goroutine.
func BenchmarkClassify(b *testing.B) {
	benchClassify(b, benchEngine(b))
}

// BenchmarkClassifyMetrics is the same with metrics on (a registry passed
// in): the cost of counting verdicts, rule hits and the duration.
func BenchmarkClassifyMetrics(b *testing.B) {
	e, err := New(Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	benchClassify(b, e)
}

func benchClassify(b *testing.B, e *Engine) {
	ads := benchAds(b)
	total := 0
	for _, a := range ads {
		total += len(a.Title) + 1 + len(a.Text)
	}
	measure(b, int64(total), func() {
		for k := range ads {
			ad := lokerwatch.Ad{ID: ads[k].ID, Title: ads[k].Title, Text: ads[k].Text, Source: ads[k].Source}
			e.Classify(&ad)
		}
	})
}

// normalisedCorpus is the benchmark corpus normalised once, so the keyword
// benchmarks measure matching only.
func normalisedCorpus(b *testing.B) [][]byte {
	var out [][]byte
	for _, a := range benchAds(b) {
		out = append(out, Normalize(a.Title+"\n"+a.Text).Text)
	}
	return out
}

func corpusBytes(c [][]byte) int64 {
	n := 0
	for _, t := range c {
		n += len(t)
	}
	return int64(n)
}

// BenchmarkKeywords is the keyword stage alone: the Aho-Corasick automaton
// over every lexicon phrase part, word-boundary checks, phrase assembly
// and negation.
func BenchmarkKeywords(b *testing.B) {
	e := benchEngine(b)
	corpus := normalisedCorpus(b)
	var hits []Hit
	var ms matchScratch
	measure(b, corpusBytes(corpus), func() {
		for _, t := range corpus {
			hits = e.lex.Match(t, hits[:0], &ms)
		}
	})
}

// BenchmarkTextModel is the text model alone: n-gram features of the
// normalised text and their weights.
func BenchmarkTextModel(b *testing.B) {
	e := benchEngine(b)
	corpus := normalisedCorpus(b)
	var seen featSet
	var wc wordCache
	var top [3]textContrib
	measure(b, corpusBytes(corpus), func() {
		for _, t := range corpus {
			e.model.textScore(t, &seen, &wc, &top, nil)
		}
	})
}

// BenchmarkKeywordsRegexp is the naive alternative for comparison: one Go
// regexp alternation of the same literal terms with word boundaries,
// over the same normalised text. It does less (no phrase assembly, no
// negation) and is still far slower.
func BenchmarkKeywordsRegexp(b *testing.B) {
	e := benchEngine(b)
	corpus := normalisedCorpus(b)
	pats := make([]string, len(e.lex.patterns))
	for i, p := range e.lex.patterns {
		pats[i] = regexp.QuoteMeta(p)
	}
	re := regexp.MustCompile(`\b(?:` + strings.Join(pats, "|") + `)\b`)
	measure(b, corpusBytes(corpus), func() {
		for _, t := range corpus {
			_ = re.FindAllIndex(t, -1)
		}
	})
}

// BenchmarkNormalize is the normaliser alone.
func BenchmarkNormalize(b *testing.B) {
	ads := benchAds(b)
	var n Normalized
	total := 0
	for _, a := range ads {
		total += len(a.Title) + 1 + len(a.Text)
	}
	measure(b, int64(total), func() {
		for _, a := range ads {
			normalizeInto(&n, a.Title+"\n"+a.Text, nil, nil)
		}
	})
}

// BenchmarkTrain fits a model on 1,000 ads: the shared training set's 900
// and 100 of them rewritten (leetspeak, country codes), so that no two are
// the same text. Issue 18 asks for under 10 s; the time per op is it.
func BenchmarkTrain(b *testing.B) {
	exs := readExamples(b, sharedFile(b, "ads-train.jsonl"), false)
	rng := rand.New(rand.NewPCG(1, 1000))
	for i := 0; len(exs) < 1000; i++ {
		ex := exs[i]
		ad := *ex.Ad
		ad.ID += "-v"
		ad.Text = codeCountries(leetify(ad.Text, rng), rng)
		ex.Ad = &ad
		exs = append(exs, ex)
	}
	e, err := New(Options{RulesOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := e.Train(exs, TrainOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(len(exs)), "ads")
}
