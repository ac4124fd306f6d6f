package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs the CLI in-process and returns exit code, stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, environ: nil})
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBadInputExitCodes(t *testing.T) {
	badType := writeFile(t, "bad.yaml", "sources:\n  - {name: x, type: facebook, seeds: [\"https://example.org/\"]}\n")
	malformed := writeFile(t, "malformed.yaml", "crawl:\n  parallelism: [\n")
	tests := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"fly"}, 2, "unknown command"},
		{"missing config", []string{"crawl", "--config", "/nonexistent/lw.yaml"}, 2, "no such file"},
		{"malformed config", []string{"config", "check", malformed}, 2, "malformed.yaml:"},
		{"unknown source type", []string{"crawl", "--config", badType}, 2, "unknown source type \"facebook\""},
		{"bad store scheme", []string{"status", "--store", "mysql://x"}, 2, "store"},
		{"unopenable store", []string{"status", "--store", "sqlite:/nonexistent-dir/x/y.db"}, 1, "open store"},
		{"bad flag", []string{"ads", "--nope"}, 2, "flag provided but not defined"},
		{"decide without verdict", []string{"review", "decide", "abc", "--reviewer", "ana"}, 2, "unknown verdict"},
		{"eval without labels", []string{"eval"}, 2, "--labels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q lacks %q", stderr, tt.want)
			}
		})
	}
}

func TestConfigCheckExample(t *testing.T) {
	code, out, stderr := runCLI(t, "", "config", "check", "../../config/testdata/example.yaml")
	if code != 0 || !strings.Contains(out, "ok (4 sources") {
		t.Fatalf("exit %d, out %q, err %q", code, out, stderr)
	}
}

func TestClassifyBadLineKeepsGoing(t *testing.T) {
	in := `{"id":"a","title":"Lowongan admin Kamboja","text":"Gaji 20 juta, tiket ditanggung, tanpa pengalaman, hubungi WA 0812-3456-7890, berangkat minggu ini pakai visa turis"}
this is not json
{"id":"c","title":"Staf gudang","text":"PT Maju Jaya membuka lowongan staf gudang di Cikarang. Kirim CV ke hrd@majujaya.co.id."}
`
	code, out, stderr := runCLI(t, in, "classify")
	if code != 1 {
		t.Errorf("exit %d, want 1 (a bad line)", code)
	}
	if !strings.Contains(stderr, "line 2") {
		t.Errorf("stderr %q does not name line 2", stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 output lines, got %d: %q", len(lines), out)
	}
	for _, l := range lines {
		var v struct {
			ID         string         `json:"id"`
			Score      *int           `json:"score"`
			Flagged    *bool          `json:"flagged"`
			Category   *string        `json:"category"`
			Categories map[string]int `json:"categories"`
			Signals    []struct {
				Rule, Category, Evidence string
				Weight, Start, End       int
			} `json:"signals"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("output line %q: %v", l, err)
		}
		if v.Score == nil || v.Flagged == nil || v.Category == nil || v.Categories == nil {
			t.Errorf("line %q misses a DESIGN.md field", l)
		}
	}
}

func TestUserAddAndList(t *testing.T) {
	store := "sqlite:" + filepath.Join(t.TempDir(), "u.db")
	if code, _, errs := runCLI(t, "short\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--store", store); code != 2 || !strings.Contains(errs, "at least") {
		t.Errorf("short password: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "boss", "--password-stdin", "--store", store); code != 2 {
		t.Errorf("bad role: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "", "user", "add", "ana", "--role", "analyst", "--store", store); code != 2 || !strings.Contains(errs, "--password-stdin") {
		t.Errorf("no terminal: exit %d, %q", code, errs)
	}
	if code, out, errs := runCLI(t, "correct horse battery\n", "user", "add", "ana", "--role", "analyst", "--password-stdin", "--store", store); code != 0 || !strings.Contains(out, "ana (analyst)") {
		t.Fatalf("add: exit %d, %q %q", code, out, errs)
	}
	code, out, _ := runCLI(t, "", "user", "list", "--store", store)
	if code != 0 || !strings.Contains(out, "ana") || !strings.Contains(out, "analyst") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	code, tok, _ := runCLI(t, "", "user", "token", "ana", "--store", store)
	if code != 0 || len(strings.TrimSpace(tok)) < 20 {
		t.Errorf("token: exit %d, %q", code, tok)
	}
}

func TestReorder(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.String("verdict", "", "")
	fs.Bool("amend", false, "")
	tests := []struct{ in, want []string }{
		{[]string{"ID", "--verdict", "scam"}, []string{"--verdict", "scam", "ID"}},
		{[]string{"--amend", "ID", "--verdict=benign"}, []string{"--amend", "--verdict=benign", "ID"}},
		{[]string{"--verdict", "scam", "--amend", "ID"}, []string{"--verdict", "scam", "--amend", "ID"}},
		{[]string{"-h", "ID"}, []string{"-h", "ID"}},
		{[]string{"--", "-odd-id"}, []string{"-odd-id"}},
	}
	for _, tt := range tests {
		if got := reorder(fs, tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("reorder(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
