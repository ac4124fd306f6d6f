package main

// Issue 22's newcomer pass: the rough edges a first-time user of the CLI
// met, each run through the real CLI.

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/lokerwatch/lokerwatch/storage/redis/redistest"
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
