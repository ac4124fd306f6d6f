package config

import (
	"strings"
	"testing"
)

// config check lists every problem at once, in line order, each with its
// field (issue 22).
func TestLoadListsEveryErrorInLineOrder(t *testing.T) {
	_, err := Load("testdata/many_errors.yaml", nil)
	if err == nil {
		t.Fatal("want errors")
	}
	want := []string{
		"testdata/many_errors.yaml:3: crawl.paralelism: unknown key",
		`testdata/many_errors.yaml:4: crawl.host_delay: "soon" is not a duration`,
		`testdata/many_errors.yaml:5: crawl.max_body: "lots" is not a size`,
		"testdata/many_errors.yaml:6: crawl.max_depth: cannot unmarshal !!str `deep` into int",
		`testdata/many_errors.yaml:7: crawl.timeout: "later" is not a duration`,
		"testdata/many_errors.yaml:8: crawl.parallelism: 0 is out of range",
		`testdata/many_errors.yaml:10: sources[0].type: unknown source type "facebook"`,
		`testdata/many_errors.yaml:10: sources[0].every: "sometimes" is not a duration`,
		"testdata/many_errors.yaml:12: classify.threshold: 500 is out of range",
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s…", i+1, got[i], want[i])
		}
	}
}

// An environment override's errors name the variable (and the field it
// sets), never "line 0"; they come after the file's.
func TestEnvErrorsNameTheVariable(t *testing.T) {
	_, err := Load("testdata/bad_duration.yaml", []string{
		"LOKERWATCH_CRAWL_TIMEOUT=eventually",
		"LOKERWATCH_CRAWL_MAX_BODY=huge",
		"LOKERWATCH_CLASSIFY_THRESHOLD=500",
		"LOKERWATCH_CRAWL_PARALELISM=3",
	})
	if err == nil {
		t.Fatal("want errors")
	}
	want := []string{
		`testdata/bad_duration.yaml:2: crawl.host_delay: "soon" is not a duration`,
		`environment: LOKERWATCH_CRAWL_TIMEOUT (crawl.timeout): "eventually" is not a duration (e.g. 500ms, 30s, 1h)`,
		`environment: LOKERWATCH_CRAWL_MAX_BODY (crawl.max_body): "huge" is not a size`,
		"environment: LOKERWATCH_CRAWL_PARALELISM: unknown setting",
		"environment: LOKERWATCH_CLASSIFY_THRESHOLD (classify.threshold): 500 is out of range",
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%s", len(got), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d:\n got  %s\n want %s…", i+1, got[i], want[i])
		}
	}
	if strings.Contains(err.Error(), "line 0") {
		t.Errorf("an error says line 0:\n%s", err)
	}
}

// A value of the wrong kind is reported once, by the key check, not again
// by the decoder.
func TestWrongKindReportedOnce(t *testing.T) {
	_, err := Parse("c.yaml", []byte("sources: 5\ncrawl:\n  seen: [1]\n  host_delay: x\n"))
	if err == nil {
		t.Fatal("want errors")
	}
	want := "c.yaml:1: sources: want a list, got \"5\"\n" +
		"c.yaml:3: crawl.seen: want a mapping of keys, got a list\n" +
		"c.yaml:4: crawl.host_delay: \"x\" is not a duration (e.g. 500ms, 30s, 1h)"
	if err.Error() != want {
		t.Errorf("errors:\n%s\nwant:\n%s", err, want)
	}
}
