package main

// Issue 22's newcomer pass: the rough edges a first-time user of the CLI
// met, each run through the real CLI.

import (
	"archive/zip"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-runewidth"
	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch"
	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
	"github.com/lokerwatch/lokerwatch/storage/sqlite"
)

// readCommands are commands that read (or change) what a crawl stored:
// none of them may create a store.
var readCommands = [][]string{
	{"status"},
	{"ads"},
	{"ads", "--flagged"},
	{"review", "list"},
	{"review", "show", "abc"},
	{"export", "-o", "OUT", "--format", "jsonl"},
	{"rescore", "--dry-run"},
	{"personas", "link"},
	{"purge", "--dry-run"},
	{"user", "list"},
	{"user", "token", "ana"},
	{"train", "--from-store", "STORE", "-o", "OUT"},
}

func readArgs(cmd []string, store, out string) []string {
	var args []string
	for _, a := range cmd {
		switch a {
		case "OUT":
			a = out
		case "STORE":
			a = store
		}
		args = append(args, a)
	}
	return append(args, "--store", store)
}

func TestReadCommandsRefuseMissingSQLiteStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "typo.db")
	for _, store := range []string{"sqlite:" + path, "sqlite://" + path} {
		for _, cmd := range readCommands {
			t.Run(strings.Join(cmd, " ")+" "+store[:9], func(t *testing.T) {
				code, _, stderr := runCLI(t, "", readArgs(cmd, store, filepath.Join(dir, "out.jsonl"))...)
				if code != 1 {
					t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
				}
				if !strings.Contains(stderr, path+" does not exist") || !strings.Contains(stderr, "crawl or demo creates") {
					t.Errorf("stderr %q does not say that %s does not exist", stderr, path)
				}
				if strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
					t.Errorf("want a one-line error, got %q", stderr)
				}
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Fatalf("%s created a store: %v", cmd, err)
				}
			})
		}
	}
	// The default store too: no --store, no config, in a directory
	// without lokerwatch.db.
	t.Chdir(dir)
	code, _, stderr := runCLI(t, "", "status")
	if code != 1 || !strings.Contains(stderr, "./lokerwatch.db does not exist") {
		t.Errorf("status without a store: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "lokerwatch.db")); !os.IsNotExist(err) {
		t.Errorf("status created ./lokerwatch.db: %v", err)
	}
}

// The commands that may create a store still do, and the read commands then
// open it.
func TestCreatingCommandsStillCreate(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "new.db")
	if code, out, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--store", store); code != 0 {
		t.Fatalf("user add into a new store: exit %d, %q %q", code, out, errs)
	}
	code, out, errs := runCLI(t, "", "status", "--store", store)
	if code != 0 || !strings.Contains(out, "0 stored") {
		t.Errorf("status of the new store: exit %d, %q %q", code, out, errs)
	}
}

// For Redis a store "exists" when its key prefix holds lokerwatch keys (the
// key-layout version, or any key of a store from before that key existed).
func TestReadCommandsRefuseMissingRedisStore(t *testing.T) {
	srv := redistest.Start(t, redistest.Config{})
	ctx := context.Background()
	rc := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rc.Close() })
	// Someone else's keys in the same database are not a store.
	if err := rc.Set(ctx, "other:app", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, cmd := range readCommands {
		t.Run(strings.Join(cmd, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, "", readArgs(cmd, srv.URL(), filepath.Join(dir, "out.jsonl"))...)
			if code != 1 {
				t.Errorf("exit %d, want 1; stderr: %s", code, stderr)
			}
			if !strings.Contains(stderr, srv.URL()) || !strings.Contains(stderr, `(key prefix "lw:"): no lokerwatch store there`) {
				t.Errorf("stderr %q does not name %s and say there is no store", stderr, srv.URL())
			}
		})
	}
	if n, err := rc.Exists(ctx, "lw:schema").Result(); err != nil || n != 0 {
		t.Fatalf("a read command created the store (lw:schema exists: %d, %v)", n, err)
	}
	// A store from before the key-layout version key: any lw: key counts.
	if err := rc.Set(ctx, "lw:user:old", "{}", 0).Err(); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "status", "--store", srv.URL())
	if code != 0 {
		t.Errorf("status of a store without its version key: exit %d, %q", code, stderr)
	}
	// A prefix of its own is a store of its own.
	code, _, stderr = runCLI(t, "", "status", "--store", srv.URL()+"?prefix=other2:")
	if code != 1 || !strings.Contains(stderr, `key prefix "other2:"`) {
		t.Errorf("status under an empty prefix: exit %d, %q", code, stderr)
	}
}

// demo --once twice into one store serves the sample web at the first
// run's address again: the second run finds the same ads (same URLs, same
// IDs) and the store is not doubled.
func TestDemoTwiceIntoOneStore(t *testing.T) {
	if testing.Short() {
		t.Skip("crawls the sample web twice")
	}
	store := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	counts := func() map[string]any {
		t.Helper()
		code, out, errs := runCLI(t, "", "status", "--store", store, "--format", "jsonl")
		if code != 0 {
			t.Fatalf("status: exit %d, %q", code, errs)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("status output %q: %v", out, err)
		}
		delete(v, "frontier") // done/queued times move on
		delete(v, "dropped")
		return v
	}
	code, out1, errs := runCLI(t, "", "demo", "--once", "--store", store)
	if code != 0 {
		t.Fatalf("first demo: exit %d, %q", code, errs)
	}
	first := counts()
	if first["ads"].(float64) == 0 {
		t.Fatalf("the first demo stored no ads: %v", first)
	}
	code, out2, errs := runCLI(t, "", "demo", "--once", "--store", store)
	if code != 0 {
		t.Fatalf("second demo: exit %d, %q", code, errs)
	}
	if !strings.Contains(errs, "holds an earlier demo") {
		t.Errorf("the second demo does not say it reuses the store: %q", errs)
	}
	second := counts()
	fj, _ := json.Marshal(first)
	sj, _ := json.Marshal(second)
	if string(fj) != string(sj) {
		t.Errorf("the second demo changed the store's counts:\n first  %s\n second %s", fj, sj)
	}
	// Both runs print the same queue.
	queue := func(out string) string {
		_, q, _ := strings.Cut(out, "Review queue")
		return q
	}
	if queue(out1) == "" || queue(out1) != queue(out2) {
		t.Errorf("the queues differ:\n%s\n---\n%s", queue(out1), queue(out2))
	}
}

// config check reports every problem in one pass, in line order, each
// with its field; an environment override's under its variable.
func TestConfigCheckListsEveryError(t *testing.T) {
	cfg := writeFile(t, "lw.yaml", "crawl:\n  host_delay: soon\n  parallelism: 0\n  timeout: later\nclassify:\n  threshold: 500\n")
	var out, errb strings.Builder
	code := run(context.Background(), []string{"config", "check", cfg},
		&env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: []string{"LOKERWATCH_CRAWL_MAX_BODY=huge"}})
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := []string{
		cfg + `:2: crawl.host_delay: "soon" is not a duration`,
		cfg + ":3: crawl.parallelism: 0 is out of range",
		cfg + `:4: crawl.timeout: "later" is not a duration`,
		cfg + ":6: classify.threshold: 500 is out of range",
		`environment: LOKERWATCH_CRAWL_MAX_BODY (crawl.max_body): "huge" is not a size`,
	}
	stderr := errb.String()
	if !strings.HasPrefix(stderr, "lokerwatch config: 5 problems in the config:\n  ") {
		t.Errorf("stderr does not count the problems:\n%s", stderr)
	}
	last := -1
	for _, w := range want {
		i := strings.Index(stderr, w)
		if i < 0 {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
			continue
		}
		if i < last {
			t.Errorf("%q is out of order:\n%s", w, stderr)
		}
		last = i
	}
	if strings.Contains(stderr, "line 0") {
		t.Errorf("stderr says line 0:\n%s", stderr)
	}
}

// Error messages say each thing once: the store names what is missing, and
// the layers above add only what it does not know (issue 22: "review item
// X: get review item X: not found").
func TestErrorsSayEachThingOnce(t *testing.T) {
	dir := t.TempDir()
	store := "sqlite:" + filepath.Join(dir, "s.db")
	if code, _, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--store", store); code != 0 {
		t.Fatalf("user add: exit %d, %q", code, errs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close() // nothing listens there now
	tests := []struct {
		args []string
		want string // the whole of stderr
	}{
		{[]string{"review", "show", "nope"}, "lokerwatch review: review item nope: not found"},
		{[]string{"review", "decide", "nope", "--verdict", "scam", "--reviewer", "ana"}, "lokerwatch review: review item nope: not found"},
		{[]string{"review", "claim", "nope", "--reviewer", "ana"}, "lokerwatch review: review item nope: not found"},
		{[]string{"export", "-o", filepath.Join(dir, "x.wacz"), "--case", "nope"}, "lokerwatch export: case nope: no such case"},
		{[]string{"user", "token", "nobody"}, "lokerwatch user: new token: get user nobody: not found"},
		{[]string{"status", "--store", "sqlite:" + dir}, `lokerwatch status: open sqlite store "` + dir + `": is a directory, want a database file`},
		{[]string{"status", "--store", "redis://" + downAddr + "/0"}, "lokerwatch status: cannot reach Redis at " + downAddr +
			" (is redis-server running, and reachable from here?): connect: connection refused"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			args := tt.args
			if !strings.HasPrefix(strings.Join(args, " "), "status") {
				args = append(args, "--store", store)
			}
			code, _, stderr := runCLI(t, "", args...)
			if code == 0 {
				t.Errorf("exit 0, want an error")
			}
			if got := strings.TrimSpace(stderr); got != tt.want {
				t.Errorf("stderr:\n got  %s\n want %s", got, tt.want)
			}
		})
	}
}

// putAds stores ads with the given titles and scores (flagged at 50 and
// over) and queues the flagged ones for review.
func putAds(t *testing.T, path string, ads []testAd) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for i, a := range ads {
		u := fmt.Sprintf("https://board.example/job/%d", i)
		ad := &lokerwatch.Ad{ID: lokerwatch.PageAdID(u), Source: "board", SourceType: lokerwatch.SourceJobBoard, URL: u, PageURL: u,
			FetchedAt: a.seen, Title: a.title, Text: a.title + " — lowongan kerja",
			Assessment: &lokerwatch.Assessment{Score: a.score, Flagged: a.score >= 50, Category: lokerwatch.CategoryScam,
				Categories: map[lokerwatch.Category]int{lokerwatch.CategoryScam: a.score}}}
		if _, err := st.PutAd(ctx, ad); err != nil {
			t.Fatal(err)
		}
		if ad.Assessment.Flagged {
			if _, _, err := st.Enqueue(ctx, ad); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type testAd struct {
	title string
	score int
	seen  time.Time
}

// columnsAt returns, for each line after the header, the display column
// at which each header word's column starts in that line.
func columnStarts(t *testing.T, out string, cols ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	header := lines[0]
	for _, col := range cols {
		i := strings.Index(header, col)
		if i < 0 {
			t.Fatalf("header %q lacks %s", header, col)
		}
		want := runewidth.StringWidth(header[:i])
		for _, l := range lines[1:] {
			// The cell starts after two spaces at display column want.
			prefix := runewidth.Truncate(l, want, "")
			if runewidth.StringWidth(prefix) != want || !strings.HasSuffix(prefix, "  ") || strings.HasPrefix(l[len(prefix):], " ") {
				t.Errorf("column %s does not start at display column %d in\n%s\n%s", col, want, header, l)
			}
		}
	}
}

// ads --flagged lists the riskiest first (then the most recently seen), and
// tables line up by display width with emoji and CJK titles.
func TestAdsFlaggedSortedAndAligned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ads.db")
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	putAds(t, path, []testAd{
		{"Admin online Kamboja 🔥🔥 gaji 20jt", 70, t0},
		{"Staf gudang Cikarang", 10, t0},
		{"工厂 普工 日本 Osaka", 95, t0.Add(time.Hour)},
		{"Operator CS 💰 Myanmar", 70, t0.Add(2 * time.Hour)},
		{"Kerja di Dubai ✈️ tanpa biaya", 85, t0},
		{"Ｆｕｌｌ－ｗｉｄｔｈ ｔｉｔｌｅ", 55, t0},
	})
	store := "sqlite:" + path
	code, out, errs := runCLI(t, "", "ads", "--flagged", "--store", store)
	if code != 0 {
		t.Fatalf("ads --flagged: exit %d, %q", code, errs)
	}
	var order []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		order = append(order, strings.Fields(l)[0])
	}
	// 70 twice: the more recently seen (Operator CS) first.
	if got, want := strings.Join(order, " "), "95 85 70 70 55"; got != want {
		t.Errorf("scores in order %s, want %s:\n%s", got, want, out)
	}
	if i, j := strings.Index(out, "Operator CS"), strings.Index(out, "Admin online"); i < 0 || j < 0 || i > j {
		t.Errorf("of two ads scored 70 the more recently seen is not first:\n%s", out)
	}
	columnStarts(t, out, "FLAG", "CATEGORY", "SOURCE", "TITLE", "URL")

	// --limit takes the top of the sorted list, in both formats.
	code, out, _ = runCLI(t, "", "ads", "--flagged", "--limit", "2", "--format", "jsonl", "--store", store)
	var scores []int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var v struct{ Score int }
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		scores = append(scores, v.Score)
	}
	if code != 0 || fmt.Sprint(scores) != "[95 85]" {
		t.Errorf("ads --flagged --limit 2 --format jsonl: exit %d, scores %v", code, scores)
	}

	code, out, errs = runCLI(t, "", "review", "list", "--store", store)
	if code != 0 {
		t.Fatalf("review list: exit %d, %q", code, errs)
	}
	columnStarts(t, out, "SCORE", "CATEGORY", "STATUS", "SOURCE", "TITLE")
}

// Counts read as English: "1 ad", "2 ads".
func TestPlurals(t *testing.T) {
	for _, tt := range []struct {
		n    int
		want string
	}{{0, "0 ads"}, {1, "1 ad"}, {2, "2 ads"}} {
		if got := plural(tt.n, "ad", "ads"); got != tt.want {
			t.Errorf("plural(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	// Through the CLI: a store with one flagged ad exported as JSON lines,
	// and a config with one source.
	dir := t.TempDir()
	path := filepath.Join(dir, "one.db")
	putAds(t, path, []testAd{{"Admin online Kamboja", 80, time.Now()}})
	code, out, errs := runCLI(t, "", "export", "-o", filepath.Join(dir, "x.jsonl"), "--format", "jsonl", "--store", "sqlite:"+path)
	if code != 0 || !strings.Contains(out, "jsonl, 1 ad, 0 captures,") {
		t.Errorf("export: exit %d, %q %q", code, out, errs)
	}
	cfg := writeFile(t, "one.yaml", "sources:\n  - {name: board, type: jobboard, seeds: [\"https://example.org/\"]}\n")
	code, out, errs = runCLI(t, "", "config", "check", cfg)
	if code != 0 || !strings.Contains(out, "ok (1 source, store") {
		t.Errorf("config check: exit %d, %q %q", code, out, errs)
	}
}

// verify accepts a bundle written before WACZ resource names followed the
// Data Package rule, and export writes names that follow it.
func TestVerifyOldAndNewBundleNames(t *testing.T) {
	code, out, errs := runCLI(t, "", "verify", "../../evidence/testdata/pre-issue22.wacz", "--public", "../../evidence/testdata/pre-issue22.pub.pem")
	if code != 0 || !strings.HasPrefix(out, "INTACT") {
		t.Errorf("verify of a bundle written before issue 22: exit %d, %q %q", code, out, errs)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	putAds(t, path, []testAd{{"Admin online Kamboja", 80, time.Now()}})
	bundle := filepath.Join(dir, "x.wacz")
	if code, out, errs := runCLI(t, "", "export", "-o", bundle, "--store", "sqlite:"+path); code != 0 {
		t.Fatalf("export: exit %d, %q %q", code, out, errs)
	}
	zr, err := zip.OpenReader(bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open("datapackage.json")
	if err != nil {
		t.Fatal(err)
	}
	var dp struct{ Resources []struct{ Name, Path string } }
	if err := json.NewDecoder(f).Decode(&dp); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if len(dp.Resources) == 0 {
		t.Fatal("no resources")
	}
	for _, r := range dp.Resources {
		if strings.Trim(r.Name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			t.Errorf("resource %s: name %q breaks the Data Package rule", r.Path, r.Name)
		}
	}
	if code, out, errs := runCLI(t, "", "verify", bundle); code != 3 || !strings.Contains(out, "INTACT:") {
		t.Errorf("verify of the new unsigned bundle: exit %d, %q %q", code, out, errs)
	}
}

// On a machine with only Go, make's staticcheck and rules steps skip with a
// one-line note naming how to get the tool; with LW_REQUIRE_TOOLS set (as
// .ci/run does) they fail instead; with the tool there, its failure fails
// the step.
func TestMakeOptionalTools(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Skip("make not found")
	}
	shBin, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("sh not found")
	}
	// A PATH with make and sh only: no staticcheck, no promtool.
	bin := t.TempDir()
	for _, p := range []string{makeBin, shBin} {
		if err := os.Symlink(p, filepath.Join(bin, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir() // no ~/go/bin/staticcheck there
	makeRun := func(extra []string, targets ...string) (string, error) {
		cmd := exec.Command(makeBin, append([]string{"-s", "-C", "../.."}, targets...)...)
		cmd.Env = append([]string{"PATH=" + bin, "HOME=" + home}, extra...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := makeRun(nil, "staticcheck", "rules")
	if err != nil {
		t.Fatalf("make staticcheck rules without the tools: %v\n%s", err, out)
	}
	want := "skipped staticcheck: not installed (go install honnef.co/go/tools/cmd/staticcheck@v0.8.2)\n" +
		"skipped alert-rule checks: promtool not installed (apt-get install prometheus)\n"
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	for _, target := range []string{"staticcheck", "rules"} {
		out, err := makeRun([]string{"LW_REQUIRE_TOOLS=1"}, target)
		if err == nil || !strings.Contains(out, "LW_REQUIRE_TOOLS is set") {
			t.Errorf("make %s with LW_REQUIRE_TOOLS=1 and no tool: err %v, output %q; want a failure", target, err, out)
		}
	}
	// A promtool that finds the rules broken fails the step.
	if err := os.WriteFile(filepath.Join(bin, "promtool"), []byte("#!/bin/sh\necho \"FAILED: $*\"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err = makeRun(nil, "rules")
	if err == nil || !strings.Contains(out, "FAILED: check rules deploy/prometheus/alerts.yml") || strings.Contains(out, "FAILED: test rules") {
		t.Errorf("make rules with a failing promtool: err %v, output:\n%s", err, out)
	}
}
