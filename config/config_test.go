package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokerwatch/lokerwatch"
)

// TestLoadExample loads the example config of docs/operator.md: the guide
// shows testdata/example.yaml byte for byte (cmd/lokerwatch's TestDocsYAML
// fails when the two differ).
func TestLoadExample(t *testing.T) {
	cfg, err := Load("testdata/example.yaml", nil)
	if err != nil {
		t.Fatalf("docs/operator.md's example config must load: %v", err)
	}
	if cfg.Crawl.HostDelay.D() != 500*time.Millisecond {
		t.Errorf("host_delay = %v, want 500ms", cfg.Crawl.HostDelay)
	}
	if cfg.Crawl.MaxBody != 5<<20 {
		t.Errorf("max_body = %d, want 5MiB", cfg.Crawl.MaxBody)
	}
	if len(cfg.Sources) != 4 {
		t.Fatalf("sources = %d, want 4", len(cfg.Sources))
	}
	forum := cfg.Sources[3]
	if forum.Type != lokerwatch.SourceHTML || forum.Profile == nil || forum.Profile.Next != "a.next" {
		t.Errorf("forum source = %+v", forum)
	}
	if forum.Line != 16 {
		t.Errorf("forum source line = %d, want 16", forum.Line)
	}
	if got := cfg.Sources[0].Follow; len(got) != 2 || got[0] != `/jobs\?page=` {
		t.Errorf("follow = %q", got)
	}
	// Defaults fill what the file leaves out.
	if cfg.Crawl.MaxAttempts != Default().Crawl.MaxAttempts || cfg.Review.Lease == 0 {
		t.Errorf("defaults not applied: %+v", cfg.Crawl)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings, each must appear
	}{
		{"unknown_key.yaml", []string{"testdata/unknown_key.yaml:4: crawl.paralelism: unknown key", "parallelism"}},
		{"bad_source.yaml", []string{
			"bad_source.yaml:6: sources[1].type: unknown source type \"facebook\"",
			"bad_source.yaml:7: sources[1].seeds[0]: \"ftp://example.org/x\" is not an http(s) URL",
			"bad_source.yaml:8: sources[1].follow[0]: bad pattern",
			"bad_source.yaml:9: sources[1].every: must not be negative",
			"bad_source.yaml:10: sources[1].ad_every: must not be negative",
		}},
		{"bad_duration.yaml", []string{"bad_duration.yaml:2:", "\"soon\" is not a duration"}},
		{"malformed.yaml", []string{"malformed.yaml:2:"}},
		{"html_no_profile.yaml", []string{"html_no_profile.yaml:2: sources[0].profile: html sources need a profile"}},
		{"missing.yaml", []string{"read config", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := Load(filepath.Join("testdata", tt.file), nil)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	env := []string{
		"PATH=/bin",
		"LOKERWATCH_STORE=redis://127.0.0.1:6390/2",
		"LOKERWATCH_CRAWL_PARALLELISM=3",
		"LOKERWATCH_CRAWL_HOST_DELAY=2s",
		"LOKERWATCH_CRAWL_MAX_BODY=1MiB",
		"LOKERWATCH_CRAWL_ALLOW_PRIVATE=10.0.0.0/8, 127.0.0.1:8081",
		"LOKERWATCH_CRAWL_SEEN_KIND=bloom",
		"LOKERWATCH_CLASSIFY_THRESHOLD=60",
		"LOKERWATCH_EVIDENCE_RETENTION_BENIGN_DAYS=7",
		"LOKERWATCH_REVIEW_LISTEN=0.0.0.0:9000",
	}
	cfg, err := Load("testdata/example.yaml", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store != "redis://127.0.0.1:6390/2" || cfg.Crawl.Parallelism != 3 || cfg.Crawl.HostDelay.D() != 2*time.Second ||
		cfg.Crawl.MaxBody != 1<<20 || cfg.Classify.Threshold != 60 || cfg.Evidence.Retention.BenignDays != 7 ||
		cfg.Review.Listen != "0.0.0.0:9000" || cfg.Crawl.Seen.Kind != "bloom" {
		t.Errorf("overrides not applied: %+v", cfg)
	}
	if got := cfg.Crawl.AllowPrivate; len(got) != 2 || got[1] != "127.0.0.1:8081" {
		t.Errorf("allow_private = %q", got)
	}

	for _, bad := range []string{"LOKERWATCH_CRAWL_PARALELISM=3", "LOKERWATCH_CRAWL_PARALLELISM=many", "LOKERWATCH_CLASSIFY_THRESHOLD=500"} {
		if _, err := Load("testdata/example.yaml", []string{bad}); err == nil {
			t.Errorf("%s: want an error", bad)
		} else {
			var es Errors
			if !errors.As(err, &es) {
				t.Errorf("%s: error %T is not config.Errors", bad, err)
			}
		}
	}
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"5MiB", 5 << 20, true}, {"512KB", 512000, true}, {"1048576", 1 << 20, true},
		{"1.5GiB", 3 << 29, true}, {"10 kib", 10240, true}, {"lots", 0, false}, {"-1", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestEmptyFileIsDefaults(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Crawl.Parallelism != Default().Crawl.Parallelism {
		t.Errorf("empty file should give defaults")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"example.yaml", "unknown_key.yaml", "bad_source.yaml", "malformed.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
	})
}
