package main

// End-to-end tests of a distributed crawl: the real lokerwatch binary (seed,
// worker, status) against a real redis-server and a local job board served
// from several loopback addresses.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/storage"
	"github.com/lokerwatch/lokerwatch/storage/redis"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// lokerwatchBin builds the lokerwatch binary once for the package's tests.
func lokerwatchBin(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go tool is not on PATH; it is needed to build the lokerwatch binary")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "lokerwatch-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "lokerwatch")
		out, err := exec.Command(goBin, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// syncBuffer is a bytes.Buffer safe for a process writing and a test reading.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a lokerwatch process started by a test.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	err            error // after done
}

// startProc starts the binary with args and extra environment. The process
// is killed when the test ends if it is still running.
func startProc(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(lokerwatchBin(t), args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stdout:\n%s\n%s stderr (last 4 KB):\n%s", name, p.stdout.String(), name, tail(p.stderr.String(), 4096))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// wait waits for the process to exit and returns its exit code (-1 when
// killed by a signal).
func (p *proc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("%s still running after %s; stderr:\n%s", p.name, timeout, tail(p.stderr.String(), 4096))
	}
	return p.cmd.ProcessState.ExitCode()
}

// runProc runs the binary to completion.
func runProc(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProc(t, args[0], nil, args...)
	code = p.wait(t, 60*time.Second)
	return code, p.stdout.String(), p.stderr.String()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// adTemplate is one line of testdata/distributed/ads.jsonl.
type adTemplate struct {
	Scam     bool   `json:"scam"`
	Title    string `json:"title"`
	Company  string `json:"company"`
	Location string `json:"location"`
	Text     string `json:"text"`
}

func loadTemplates(t *testing.T) (scam, benign []adTemplate) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "distributed", "ads.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var a adTemplate
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatalf("ads.jsonl line %d: %v", line, err)
		}
		if a.Scam {
			scam = append(scam, a)
		} else {
			benign = append(benign, a)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(scam) == 0 || len(benign) == 0 {
		t.Fatal("ads.jsonl needs scam and benign templates")
	}
	return scam, benign
}

// fixtureAd is one ad page of the job board.
type fixtureAd struct {
	ID   int
	Host int // index into jobBoard.hosts
	Scam bool
	adTemplate
}

// request is one request the job board got.
type request struct {
	at     time.Time
	path   string // path?query
	agent  string
	status int
}

// jobBoard is a local job board of ad pages spread over several hosts, each
// a loopback address of its own (127.0.0.1, 127.0.0.2, …) where the system
// allows it, so that politeness works per host as on the web. Each host
// serves /robots.txt, listing pages /jobs?page=N (the seed is /jobs) and ad
// pages /job/N carrying a JobPosting in JSON-LD. It records every request.
type jobBoard struct {
	t       *testing.T
	hosts   []*httptest.Server
	ads     []fixtureAd
	perPage int
	// hook runs at the start of every request (before it is answered).
	hook func(host int, r *http.Request)

	mu   sync.Mutex
	reqs [][]request // by host
	// onHost[i] lists the ads of host i in ID order.
	onHost [][]int
}

func newJobBoard(t *testing.T, nAds, nHosts, scamEvery int) *jobBoard {
	t.Helper()
	scam, benign := loadTemplates(t)
	b := &jobBoard{t: t, perPage: 50, reqs: make([][]request, nHosts), onHost: make([][]int, nHosts)}
	for i := 0; i < nAds; i++ {
		a := fixtureAd{ID: i, Host: i % nHosts, Scam: i%scamEvery == scamEvery/2}
		if a.Scam {
			a.adTemplate = scam[(i/scamEvery)%len(scam)]
		} else {
			a.adTemplate = benign[i%len(benign)]
		}
		b.ads = append(b.ads, a)
		b.onHost[a.Host] = append(b.onHost[a.Host], i)
	}
	for h := 0; h < nHosts; h++ {
		srv := httptest.NewUnstartedServer(b.handler(h))
		srv.Listener.Close()
		srv.Listener = loopbackListener(t, h)
		srv.Start()
		t.Cleanup(srv.Close)
		b.hosts = append(b.hosts, srv)
	}
	return b
}

// loopbackListener listens on 127.0.0.(h+1); Linux routes all of 127/8 to
// the loopback interface. Elsewhere it falls back to 127.0.0.1 (hosts then
// differ by port, which politeness also treats as different hosts).
func loopbackListener(t *testing.T, h int) net.Listener {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", h+1))
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (b *jobBoard) seeds() []string {
	var s []string
	for _, h := range b.hosts {
		s = append(s, h.URL+"/jobs")
	}
	return s
}

func (b *jobBoard) adURL(a fixtureAd) string {
	return b.hosts[a.Host].URL + "/job/" + strconv.Itoa(a.ID)
}

func (b *jobBoard) handler(h int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b.hook != nil {
			b.hook(h, r)
		}
		rec := request{at: time.Now(), path: r.URL.RequestURI(), agent: r.UserAgent(), status: http.StatusOK}
		defer func() {
			b.mu.Lock()
			b.reqs[h] = append(b.reqs[h], rec)
			b.mu.Unlock()
		}()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch {
		case r.URL.Path == "/robots.txt":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "User-agent: *\nDisallow: /admin/\n")
		case r.URL.Path == "/jobs":
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			page = max(page, 1)
			ids := b.onHost[h]
			from := (page - 1) * b.perPage
			if from >= len(ids) {
				rec.status = http.StatusNotFound
				http.NotFound(w, r)
				return
			}
			var s strings.Builder
			s.WriteString("<!doctype html><html><head><title>Lowongan kerja</title></head><body><ul>\n")
			for _, id := range ids[from:min(from+b.perPage, len(ids))] {
				fmt.Fprintf(&s, "<li><a href=\"/job/%d\">%s</a></li>\n", id, b.ads[id].Title)
			}
			s.WriteString("</ul>")
			if from+b.perPage < len(ids) {
				fmt.Fprintf(&s, "<a rel=\"next\" href=\"/jobs?page=%d\">berikutnya</a>", page+1)
			}
			s.WriteString(`<a href="/admin/login">admin</a></body></html>`)
			w.Write([]byte(s.String()))
		case strings.HasPrefix(r.URL.Path, "/job/"):
			id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/job/"))
			if err != nil || id < 0 || id >= len(b.ads) || b.ads[id].Host != h {
				rec.status = http.StatusNotFound
				http.NotFound(w, r)
				return
			}
			a := b.ads[id]
			jp, _ := json.Marshal(map[string]any{
				"@context": "https://schema.org", "@type": "JobPosting",
				"title":              fmt.Sprintf("%s (#%d)", a.Title, a.ID),
				"description":        fmt.Sprintf("<p>%s</p><p>Kode lowongan LW-%04d.</p>", a.Text, a.ID),
				"datePosted":         "2026-05-01",
				"hiringOrganization": map[string]any{"@type": "Organization", "name": a.Company},
				"jobLocation":        map[string]any{"@type": "Place", "address": a.Location},
			})
			fmt.Fprintf(w, `<!doctype html><html><head><script type="application/ld+json">%s</script></head>`+
				`<body><h1>%s</h1><a href="/jobs">semua lowongan</a></body></html>`, jp, a.Title)
		default:
			rec.status = http.StatusNotFound
			http.NotFound(w, r)
		}
	})
}

// requests returns a copy of what host h was asked.
func (b *jobBoard) requests(h int) []request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]request(nil), b.reqs[h]...)
}

// fetched counts requests for ad pages answered 200, over all hosts.
func (b *jobBoard) adFetches() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, rs := range b.reqs {
		for _, r := range rs {
			if strings.HasPrefix(r.path, "/job/") && r.status == http.StatusOK {
				n++
			}
		}
	}
	return n
}

// checkPoliteness fails the test when a host saw two requests (robots.txt
// included) closer than delay, and returns the closest gap seen.
func (b *jobBoard) checkPoliteness(t *testing.T, delay time.Duration) time.Duration {
	t.Helper()
	closest := time.Duration(1<<63 - 1)
	for h := range b.hosts {
		rs := b.requests(h)
		sort.Slice(rs, func(i, j int) bool { return rs[i].at.Before(rs[j].at) })
		bad := 0
		for i := 1; i < len(rs); i++ {
			gap := rs[i].at.Sub(rs[i-1].at)
			closest = min(closest, gap)
			if gap < delay {
				if bad++; bad <= 3 {
					t.Errorf("host %s: %s then %s only %s apart; host_delay is %s",
						b.hosts[h].URL, rs[i-1].path, rs[i].path, gap, delay)
				}
			}
		}
		if bad > 3 {
			t.Errorf("host %s: %d requests closer than host_delay in all", b.hosts[h].URL, bad)
		}
	}
	return closest
}

// checkFixtureClassified makes sure the real classifier flags the fixture's
// scam ads and only those, so that a failure later points at the crawl and
// not at the fixture.
func checkFixtureClassified(t *testing.T, b *jobBoard) {
	t.Helper()
	eng, err := classifiers.New(classifiers.Options{Threshold: 50})
	if err != nil {
		t.Fatal(err)
	}
	scam, benign := loadTemplates(t)
	for _, a := range append(scam, benign...) {
		ad := &lokerwatch.Ad{Title: a.Title + " (#1)", Text: a.Text + "\nKode lowongan LW-0001.", Company: a.Company, Location: a.Location}
		eng.Classify(ad)
		if got := ad.Assessment != nil && ad.Assessment.Flagged; got != a.Scam {
			t.Fatalf("fixture ad %q: classifier flagged=%v, the fixture says scam=%v; make the template clearer (or the classifier regressed)", a.Title, got, a.Scam)
		}
	}
}

// crawlConfig writes a config for crawling the board.
func crawlConfig(t *testing.T, b *jobBoard, extra string) string {
	t.Helper()
	seeds, _ := json.Marshal(b.seeds())
	cfg := fmt.Sprintf(`crawl:
  user_agent: "lokerwatch-test/1.0 (+https://github.com/lokerwatch/lokerwatch)"
  parallelism: 3
  host_delay: 10ms
  max_depth: 20
  timeout: 10s
  max_attempts: 10
  robots: true
  allow_private: ["127.0.0.0/8"]
%s
sources:
  - name: board
    type: jobboard
    seeds: %s
    follow: ['/job/\d+$', '/jobs\?page=\d+$']
`, extra, seeds)
	p := filepath.Join(t.TempDir(), "lokerwatch.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func openRedis(t *testing.T, url string) *redis.Store {
	t.Helper()
	st, err := redis.OpenURL(context.Background(), url, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// checkStore checks that every ad page of the board is stored once, that
// each flagged ad is in the review queue exactly once, and that the
// frontier is finished with nothing failed.
func checkStore(t *testing.T, b *jobBoard, st *redis.Store) {
	t.Helper()
	ctx := context.Background()
	wantScam := map[string]bool{}
	wantURL := map[string]fixtureAd{}
	for _, a := range b.ads {
		u := b.adURL(a)
		wantURL[u] = a
		if a.Scam {
			wantScam[lokerwatch.PageAdID(u)] = true
		}
	}
	total, flagged, err := st.CountAds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(b.ads)) || flagged != int64(len(wantScam)) {
		t.Errorf("store holds %d ads (%d flagged), want %d (%d flagged)", total, flagged, len(b.ads), len(wantScam))
	}
	gotURL := map[string]bool{}
	err = st.ScanAds(ctx, storage.AdFilter{}, func(ad *lokerwatch.Ad) error {
		a, ok := wantURL[ad.URL]
		switch {
		case !ok:
			t.Errorf("stored ad %s has a URL the board does not serve: %s", ad.ID, ad.URL)
		case gotURL[ad.URL]:
			t.Errorf("ad page %s stored twice", ad.URL)
		case ad.Assessment == nil || ad.Assessment.Flagged != a.Scam:
			t.Errorf("ad %s (%s) stored with assessment %+v; fixture scam=%v", ad.ID, ad.URL, ad.Assessment, a.Scam)
		case !strings.Contains(ad.Title, fmt.Sprintf("(#%d)", a.ID)):
			t.Errorf("ad %s has title %q; want the board's ad %d", ad.URL, ad.Title, a.ID)
		}
		gotURL[ad.URL] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for u := range wantURL {
		if !gotURL[u] {
			if missing++; missing <= 5 {
				t.Errorf("ad page %s was never stored", u)
			}
		}
	}
	if missing > 5 {
		t.Errorf("%d ad pages missing in all", missing)
	}

	items, err := st.ListItems(ctx, storage.ReviewFilter{})
	if err != nil {
		t.Fatal(err)
	}
	perAd := map[string]int{}
	for _, it := range items {
		perAd[it.AdID]++
	}
	for id := range wantScam {
		if perAd[id] != 1 {
			t.Errorf("flagged ad %s is in the review queue %d times, want exactly once", id, perAd[id])
		}
	}
	for id, n := range perAd {
		if !wantScam[id] {
			t.Errorf("ad %s is in the review queue (%d items) but is not a scam ad of the fixture", id, n)
		}
	}
	// The audit stream has one enqueue event per item: a second worker's
	// Enqueue of the same ad (after a crash) must not create it again.
	evs, err := st.ListAudit(ctx, storage.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]int{}
	for _, ev := range evs {
		if ev.Action == "review.enqueue" {
			created[ev.Object]++
		}
	}
	for obj, n := range created {
		if n != 1 {
			t.Errorf("audit: %s enqueued %d times", obj, n)
		}
	}
	if len(created) != len(wantScam) {
		t.Errorf("audit: %d items enqueued, want %d (actions seen: %v)", len(created), len(wantScam), auditActions(evs))
	}

	fst, err := st.FrontierStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !fst.Finished() || fst.Failed != 0 || fst.Dead != 0 {
		t.Errorf("frontier %+v: want finished with nothing failed or dead", fst)
	}
}

func auditActions(evs []lokerwatch.AuditEvent) map[string]int {
	m := map[string]int{}
	for _, ev := range evs {
		m[ev.Action]++
	}
	return m
}

// listingPages is how many /jobs pages the board has in all.
func (b *jobBoard) listingPages() int {
	n := 0
	for _, ids := range b.onHost {
		n += (len(ids) + b.perPage - 1) / b.perPage
	}
	return n
}

// TestDistributedCrawlKilledWorker runs `lokerwatch seed` and three
// `lokerwatch worker` processes on one Redis against a job board of 2,000 ad
// pages on 8 hosts, and kills one worker with SIGKILL while it is fetching.
// Every ad page must be stored, every flagged ad queued for review exactly
// once, no host fetched faster than host_delay (across all workers), and
// `lokerwatch status` must show the finished crawl.
func TestDistributedCrawlKilledWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and four lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	const nAds, nHosts, scamEvery = 2000, 8, 10
	const hostDelay = 10 * time.Millisecond
	b := newJobBoard(t, nAds, nHosts, scamEvery)
	checkFixtureClassified(t, b)

	// The victim worker has its own user agent, so the board can tell its
	// requests apart: on its 40th ad page the board holds the response
	// until the process is dead. It dies holding that lease (and maybe
	// others), which must come back to the queue and be crawled by the rest.
	const victimUA = "lokerwatch-test/1.0 (victim)"
	var (
		victimMu   sync.Mutex
		victimHits int
		victimURL  string
		victim     *proc
		killed     = make(chan struct{})
		startedAll = make(chan struct{})
	)
	b.hook = func(h int, r *http.Request) {
		if r.UserAgent() != victimUA || !strings.HasPrefix(r.URL.Path, "/job/") {
			return
		}
		victimMu.Lock()
		victimHits++
		n := victimHits
		if n == 40 {
			victimURL = b.hosts[h].URL + r.URL.Path
		}
		victimMu.Unlock()
		if n != 40 {
			return
		}
		<-startedAll
		victim.cmd.Process.Signal(syscall.SIGKILL)
		<-victim.done
		close(killed)
	}
	cfg := crawlConfig(t, b, "")
	store := srv.URL()

	code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d seeds queued", nHosts)) {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	args := []string{"worker", "--config", cfg, "--store", store}
	victim = startProc(t, "worker-victim", []string{"LOKERWATCH_CRAWL_USER_AGENT=" + victimUA}, args...)
	w1 := startProc(t, "worker-1", nil, args...)
	w2 := startProc(t, "worker-2", nil, args...)
	close(startedAll)

	select {
	case <-killed:
	case <-time.After(60 * time.Second):
		t.Fatalf("the victim worker never fetched 40 ad pages; its stderr:\n%s", tail(victim.stderr.String(), 4096))
	}
	if !victim.cmd.ProcessState.Exited() && victim.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("victim ended with %v, want SIGKILL", victim.cmd.ProcessState)
	}
	if b.adFetches() >= nAds {
		t.Fatalf("the crawl was over before the kill (%d ad fetches): the test proves nothing", b.adFetches())
	}
	for _, w := range []*proc{w1, w2} {
		if code := w.wait(t, 90*time.Second); code != 0 {
			t.Fatalf("%s exited %d; stderr:\n%s", w.name, code, tail(w.stderr.String(), 4096))
		}
		if !strings.Contains(w.stdout.String(), "pages ") {
			t.Errorf("%s printed no summary: %q", w.name, w.stdout.String())
		}
	}

	// The page the victim died on was crawled again by a survivor.
	refetched := false
	for h := range b.hosts {
		for _, r := range b.requests(h) {
			if b.hosts[h].URL+r.path == victimURL && r.agent != victimUA && r.status == http.StatusOK {
				refetched = true
			}
		}
	}
	if !refetched {
		t.Errorf("%s, held by the killed worker, was not fetched again by another worker", victimURL)
	}
	st := openRedis(t, store)
	checkStore(t, b, st)
	closest := b.checkPoliteness(t, hostDelay)
	t.Logf("%d ad fetches for %d ads; closest two requests to one host: %s (host_delay %s)",
		b.adFetches(), nAds, closest, hostDelay)

	// Nothing disallowed by robots.txt was fetched.
	for h := range b.hosts {
		for _, r := range b.requests(h) {
			if strings.HasPrefix(r.path, "/admin/") {
				t.Errorf("fetched %s, which robots.txt disallows", r.path)
			}
		}
	}

	// status shows the finished crawl, as a table and as JSON.
	wantDone := nAds + b.listingPages()
	code, out, errOut = runProc(t, "status", "--store", store)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		fmt.Sprintf("queued 0  in-flight 0  done %d  failed 0  dead 0", wantDone),
		fmt.Sprintf("%d stored, %d flagged", nAds, nAds/scamEvery),
		fmt.Sprintf("pending %d  claimed 0  decided 0", nAds/scamEvery),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runProc(t, "status", "--store", store, "--format", "jsonl")
	if code != 0 {
		t.Fatalf("status --format jsonl: exit %d: %s", code, errOut)
	}
	var js struct {
		Frontier storage.FrontierStats `json:"frontier"`
		Review   map[string]int64      `json:"review"`
		Ads      int64                 `json:"ads"`
		Flagged  int64                 `json:"flagged"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("status jsonl %q: %v", out, err)
	}
	if js.Frontier.Done != int64(wantDone) || js.Frontier.Queued != 0 || js.Frontier.InFlight != 0 ||
		js.Ads != nAds || js.Flagged != nAds/scamEvery || js.Review["pending"] != nAds/scamEvery {
		t.Errorf("status jsonl = %+v", js)
	}
}

// TestWorkersSurviveRedisRestart kills redis-server (AOF, fsync always)
// while two workers crawl with the default lease (2m) and heartbeat (5s),
// keeps it down for 3 s, and starts it again: the workers must carry on
// by themselves within 15 s of its return — finished pages acked, held
// leases given back, not left to run out — and finish the crawl with
// nothing lost and nothing queued or stored twice.
func TestWorkersSurviveRedisRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	const nAds, nHosts, scamEvery = 400, 4, 10
	const hostDelay = 10 * time.Millisecond
	const down = 3 * time.Second
	b := newJobBoard(t, nAds, nHosts, scamEvery)
	var (
		mu     sync.Mutex
		hits   int
		outage = make(chan struct{})
	)
	b.hook = func(h int, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/job/") {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if hits++; hits == 120 {
			close(outage)
		}
	}
	cfg := crawlConfig(t, b, "")
	store := srv.URL()
	if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	args := []string{"worker", "--config", cfg, "--store", store}
	ws := []*proc{startProc(t, "worker-1", nil, args...), startProc(t, "worker-2", nil, args...)}

	select {
	case <-outage:
	case <-time.After(60 * time.Second):
		t.Fatal("the workers never fetched 120 ad pages")
	}
	srv.Kill()
	killedAt := time.Now()
	fetchesAtCrash := b.adFetches()
	for _, w := range ws {
		waitFor(t, 30*time.Second, w.name+" to log that Redis is unreachable", func() bool {
			return strings.Contains(w.stderr.String(), "redis unreachable at "+srv.Addr)
		})
	}
	time.Sleep(time.Until(killedAt.Add(down)))
	srv.Restart()
	back := time.Now()
	if fetchesAtCrash >= nAds {
		t.Fatalf("the crawl was over (%d ad fetches) before Redis went down: the test proves nothing", fetchesAtCrash)
	}
	st := openRedis(t, store)
	done := func() int64 {
		fs, err := st.FrontierStats(context.Background())
		if err != nil {
			return -1
		}
		return fs.Done
	}
	doneAtReturn := done()
	fetchesAtReturn := b.adFetches()
	waitFor(t, 15*time.Second, "the crawl to go on after Redis came back (new fetches and acks)", func() bool {
		return b.adFetches() > fetchesAtReturn && done() > doneAtReturn
	})
	t.Logf("Redis down %s; the crawl went on %s after its return", time.Since(killedAt)-time.Since(back), time.Since(back).Round(time.Millisecond))
	for _, w := range ws {
		if code := w.wait(t, 90*time.Second); code != 0 {
			t.Fatalf("%s exited %d after the Redis restart; stderr:\n%s", w.name, code, tail(w.stderr.String(), 4096))
		}
		if strings.Contains(w.stderr.String(), "pool.go") {
			t.Errorf("%s: go-redis's own log lines leak to stderr during the outage", w.name)
		}
	}
	checkStore(t, b, st)
	if got, want := done(), int64(nAds+b.listingPages()); got != want {
		t.Errorf("frontier done %d, want %d: each URL done once", got, want)
	}
	b.checkPoliteness(t, hostDelay)
	t.Logf("%d ad fetches for %d ads (%d before the crash)", b.adFetches(), nAds, fetchesAtCrash)
}

// TestKilledWorkerBackInSeconds: the only worker of a one-host crawl is
// killed with SIGKILL in the middle of its turn, default lease (2m) and
// heartbeat (5s); a fresh worker started at once must finish the crawl
// within 15 s of the time the same crawl takes without the kill, because
// the dead worker's heartbeat lapses and its leases come back then, not
// when they run out.
func TestKilledWorkerBackInSeconds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	const nAds, nHosts, scamEvery = 200, 1, 10
	crawl := func(prefix string, kill bool) time.Duration {
		b := newJobBoard(t, nAds, nHosts, scamEvery)
		const victimUA = "lokerwatch-test/1.0 (victim)"
		var (
			mu     sync.Mutex
			hits   int
			victim *proc
			killed = make(chan struct{})
			ready  = make(chan struct{})
		)
		if kill {
			b.hook = func(h int, r *http.Request) {
				if r.UserAgent() != victimUA || !strings.HasPrefix(r.URL.Path, "/job/") {
					return
				}
				mu.Lock()
				hits++
				n := hits
				mu.Unlock()
				if n != 60 {
					return
				}
				// The victim dies in the middle of this fetch, with the
				// rest of its turn held.
				<-ready
				victim.cmd.Process.Signal(syscall.SIGKILL)
				<-victim.done
				close(killed)
			}
		}
		cfg := crawlConfig(t, b, "")
		store := srv.URL() + "?prefix=" + prefix
		if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
			t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
		}
		args := []string{"worker", "--config", cfg, "--store", store}
		start := time.Now()
		last := startProc(t, prefix+"worker", []string{"LOKERWATCH_CRAWL_USER_AGENT=" + victimUA}, args...)
		if kill {
			victim = last
			close(ready)
			select {
			case <-killed:
			case <-time.After(60 * time.Second):
				t.Fatalf("the victim never fetched 60 ad pages; its stderr:\n%s", tail(victim.stderr.String(), 4096))
			}
			if b.adFetches() >= nAds {
				t.Fatalf("the crawl was over before the kill: the test proves nothing")
			}
			last = startProc(t, prefix+"fresh-worker", nil, args...)
		}
		if code := last.wait(t, 120*time.Second); code != 0 {
			t.Fatalf("%s exited %d; stderr:\n%s", last.name, code, tail(last.stderr.String(), 4096))
		}
		took := time.Since(start)
		st := openRedis(t, store)
		checkStore(t, b, st)
		return took
	}
	base := crawl("base:", false)
	withKill := crawl("kill:", true)
	t.Logf("one-host crawl of %d ad pages: %s; with the only worker killed mid-turn and a fresh one started: %s",
		nAds, base.Round(time.Millisecond), withKill.Round(time.Millisecond))
	if withKill > base+15*time.Second {
		t.Errorf("with the kill the crawl took %s, more than 15 s over the %s it takes without", withKill, base)
	}
}

// TestWorkerWaitsForRedis: with Redis down, seed fails at once and says
// where it looked; a worker says so too, names the address, and keeps
// trying until Redis is up (or --connect-timeout passes), then crawls.
func TestWorkerWaitsForRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and lokerwatch processes")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	b := newJobBoard(t, 60, 2, 10)
	cfg := crawlConfig(t, b, "")
	store := srv.URL()
	if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	srv.Stop()

	want := "cannot reach Redis at " + srv.Addr
	code, _, errOut := runProc(t, "seed", "--config", cfg, "--store", store)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("seed with Redis down: exit %d, stderr %q; want exit 1 and %q", code, errOut, want)
	}
	code, _, errOut = runProc(t, "worker", "--config", cfg, "--store", store, "--connect-timeout", "1s")
	if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "gave up after --connect-timeout 1s") {
		t.Errorf("worker --connect-timeout 1s with Redis down: exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "pool.go") {
		t.Errorf("go-redis's own log lines leak to stderr: %q", errOut)
	}

	w := startProc(t, "worker", nil, "worker", "--config", cfg, "--store", store)
	waitFor(t, 30*time.Second, "the worker to say Redis is unreachable and that it will retry", func() bool {
		s := w.stderr.String()
		return strings.Contains(s, want) && strings.Contains(s, "will retry")
	})
	select {
	case <-w.done:
		t.Fatalf("the worker gave up while Redis was down: %s", w.stderr.String())
	case <-time.After(700 * time.Millisecond):
	}
	srv.Restart()
	if code := w.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("worker exited %d after Redis came up; stderr:\n%s", code, tail(w.stderr.String(), 4096))
	}
	if !strings.Contains(w.stderr.String(), "connected to Redis") {
		t.Errorf("worker did not say it connected: %s", tail(w.stderr.String(), 2048))
	}
	checkStore(t, b, openRedis(t, store))
}

// TestFollowRecrawl runs `worker --follow` on a source with `every`: its
// listing is revisited on that schedule with conditional requests (an
// unchanged listing costs a 304), a new ad linked from it is fetched, and
// ad pages already seen are never fetched again.
func TestFollowRecrawl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and a lokerwatch process")
	}
	srv := redistest.Start(t, redistest.Config{AOF: true})
	lokerwatchBin(t)
	scam, benign := loadTemplates(t)
	type hit struct {
		at          time.Time
		conditional bool
		status      int
	}
	var (
		mu   sync.Mutex
		ads  = 3
		hits = map[string][]hit{}
	)
	board := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		h := hit{at: time.Now(), conditional: r.Header.Get("If-None-Match") != "", status: http.StatusOK}
		defer func() { hits[r.URL.Path] = append(hits[r.URL.Path], h) }()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch {
		case r.URL.Path == "/jobs":
			etag := fmt.Sprintf(`"list-%d"`, ads)
			w.Header().Set("ETag", etag)
			if r.Header.Get("If-None-Match") == etag {
				h.status = http.StatusNotModified
				w.WriteHeader(http.StatusNotModified)
				return
			}
			fmt.Fprint(w, "<html><body><ul>")
			for i := 1; i <= ads; i++ {
				fmt.Fprintf(w, `<li><a href="/job/%d">lowongan %d</a></li>`, i, i)
			}
			fmt.Fprint(w, "</ul></body></html>")
		case strings.HasPrefix(r.URL.Path, "/job/"):
			id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/job/"))
			if err != nil || id < 1 || id > ads {
				h.status = http.StatusNotFound
				http.NotFound(w, r)
				return
			}
			a := benign[id%len(benign)]
			if id == 4 {
				a = scam[0]
			}
			jp, _ := json.Marshal(map[string]any{"@context": "https://schema.org", "@type": "JobPosting",
				"title": fmt.Sprintf("%s (#%d)", a.Title, id), "description": a.Text})
			fmt.Fprintf(w, `<html><head><script type="application/ld+json">%s</script></head><body></body></html>`, jp)
		default:
			h.status = http.StatusNotFound
			http.NotFound(w, r)
		}
	}))
	defer board.Close()
	count := func(path string) (n int, last time.Time) {
		mu.Lock()
		defer mu.Unlock()
		hs := hits[path]
		if len(hs) > 0 {
			last = hs[len(hs)-1].at
		}
		return len(hs), last
	}

	const every = 500 * time.Millisecond
	cfg := filepath.Join(t.TempDir(), "lokerwatch.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`crawl:
  user_agent: "lokerwatch-test/1.0"
  parallelism: 2
  host_delay: 10ms
  allow_private: ["127.0.0.0/8"]
sources:
  - name: board
    type: jobboard
    seeds: [%q]
    follow: ['/job/\d+$']
    every: %s
`, board.URL+"/jobs", every)), 0o600); err != nil {
		t.Fatal(err)
	}
	store := srv.URL()
	if code, out, errOut := runProc(t, "seed", "--config", cfg, "--store", store); code != 0 {
		t.Fatalf("seed: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	w := startProc(t, "worker", nil, "worker", "--follow", "--config", cfg, "--store", store)
	waitFor(t, 20*time.Second, "the listing to be revisited twice", func() bool {
		n, _ := count("/jobs")
		return n >= 3
	})
	// A new ad appears on the listing: the next revisit finds it.
	mu.Lock()
	ads = 4
	mu.Unlock()
	waitFor(t, 20*time.Second, "the new ad to be fetched", func() bool {
		n, _ := count("/job/4")
		return n >= 1
	})
	_, at4 := count("/job/4")
	waitFor(t, 20*time.Second, "a revisit after the new ad", func() bool {
		_, last := count("/jobs")
		return last.After(at4)
	})
	w.cmd.Process.Signal(syscall.SIGTERM)
	if code := w.wait(t, 30*time.Second); code != 0 {
		t.Errorf("worker --follow exited %d on SIGTERM, want 0", code)
	}

	mu.Lock()
	defer mu.Unlock()
	for i := 1; i <= 4; i++ {
		if n := len(hits[fmt.Sprintf("/job/%d", i)]); n != 1 {
			t.Errorf("ad page /job/%d fetched %d times; an ad page already seen must not be fetched again", i, n)
		}
	}
	list := hits["/jobs"]
	notModified := 0
	for i, h := range list {
		if i > 0 {
			if gap := h.at.Sub(list[i-1].at); gap < every {
				t.Errorf("listing revisit %d came %s after the previous one; every is %s", i, gap, every)
			}
			if !h.conditional {
				t.Errorf("listing revisit %d was not a conditional request", i)
			}
		}
		if h.status == http.StatusNotModified {
			notModified++
		}
	}
	if notModified < 2 {
		t.Errorf("%d of %d listing fetches answered 304; want the unchanged revisits (at least 2) to be", notModified, len(list))
	}
	st := openRedis(t, store)
	total, flagged, err := st.CountAds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if total != 4 || flagged != 1 {
		t.Errorf("store holds %d ads (%d flagged), want 4 (1)", total, flagged)
	}
	fst, err := st.FrontierStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if fst.Queued != 1 || fst.InFlight != 0 {
		t.Errorf("frontier %+v: want the listing's next visit queued and nothing in flight", fst)
	}
}
