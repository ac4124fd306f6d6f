package main

// The guides (README.md and docs/*.md) are kept true by these tests: every
// lokerwatch command they write names a real command with flags it takes,
// every YAML example loads, every link, anchor and picture resolves, and
// every picture is taken by a test. They read the files of this checkout;
// nothing here is skipped.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/lokerwatch/lokerwatch/classifiers"
	"github.com/lokerwatch/lokerwatch/config"
)

// repoRoot is the checkout this package is in.
const repoRoot = "../.."

// doc is one markdown file split into what the checks read.
type doc struct {
	path   string      // as given, for messages
	blocks []codeBlock // fenced code blocks
	prose  string      // the text outside fenced blocks, inline code blanked
	spans  []span      // inline code spans outside fenced blocks
	text   string      // the whole file
}

type codeBlock struct {
	info string // the fence's info string ("yaml", "sh", "")
	line int    // line of the first line inside the fence
	body string
}

type span struct {
	line int
	text string
}

var fenceRe = regexp.MustCompile("^ {0,3}(```+|~~~+)\\s*([^`\\s]*)")

// parseDoc splits markdown into fenced blocks, inline code spans and the
// remaining prose (with spans blanked, so that `[ID]` is not a link).
func parseDoc(path, text string) *doc {
	d := &doc{path: path, text: text}
	lines := strings.Split(text, "\n")
	var prose []string
	var proseLine []int // prose line i is file line proseLine[i]
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			prose = append(prose, lines[i])
			proseLine = append(proseLine, i+1)
			continue
		}
		fence := m[1]
		b := codeBlock{info: strings.ToLower(m[2]), line: i + 2}
		var body []string
		for i++; i < len(lines); i++ {
			if strings.HasPrefix(strings.TrimLeft(lines[i], " "), fence[:3]) && strings.Trim(strings.TrimSpace(lines[i]), fence[:1]) == "" {
				break
			}
			body = append(body, lines[i])
		}
		b.body = strings.Join(body, "\n") + "\n"
		d.blocks = append(d.blocks, b)
		prose = append(prose, "")
		proseLine = append(proseLine, b.line-1)
	}
	// Inline code: a run of backticks up to the same run, across lines
	// within a paragraph.
	all := strings.Join(prose, "\n")
	var out strings.Builder
	lineOf := func(off int) int {
		n := strings.Count(all[:off], "\n")
		return proseLine[n]
	}
	for i := 0; i < len(all); {
		if all[i] != '`' {
			out.WriteByte(all[i])
			i++
			continue
		}
		j := i
		for j < len(all) && all[j] == '`' {
			j++
		}
		tick := all[i:j]
		end := strings.Index(all[j:], tick)
		if end < 0 || strings.Contains(all[j:j+end], "\n\n") {
			out.WriteString(tick)
			i = j
			continue
		}
		body := all[j : j+end]
		d.spans = append(d.spans, span{line: lineOf(i), text: strings.Join(strings.Fields(body), " ")})
		// Keep the line count, blank the code.
		out.WriteString(strings.Repeat(" ", len(tick)))
		for _, r := range body {
			if r == '\n' {
				out.WriteByte('\n')
			} else {
				out.WriteByte(' ')
			}
		}
		out.WriteString(strings.Repeat(" ", len(tick)))
		i = j + end + len(tick)
	}
	d.prose = out.String()
	return d
}

// guides reads README.md and docs/*.md.
func guides(t *testing.T) []*doc {
	t.Helper()
	paths := []string{filepath.Join(repoRoot, "README.md")}
	more, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, more...)
	if len(more) < 5 {
		t.Fatalf("docs/*.md: %d guides, want the five of the README's map at least", len(more))
	}
	var docs []*doc
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, parseDoc(p, string(b)))
	}
	return docs
}

// A command line as the guides write it.
type cmdLine struct {
	where string // file:line
	args  []string
}

var binaries = [][]string{{"lokerwatch"}, {"bin/lokerwatch"}, {"./bin/lokerwatch"}, {"go", "run", "./cmd/lokerwatch"}}

// commandsIn finds the lokerwatch command lines of a doc: lines of code
// blocks, and inline code (table cells included) that starts with
// lokerwatch — or with a command's name followed by a flag
// (`status --format jsonl`).
func commandsIn(d *doc) []cmdLine {
	names := map[string]bool{}
	for _, c := range commands() {
		names[c.name] = true
	}
	var out []cmdLine
	add := func(where, s string, bare bool) {
		// Table cells escape | as \|; a shell line may pipe or chain.
		s = strings.ReplaceAll(s, `\|`, "\x00")
		for _, part := range regexp.MustCompile(`\s(?:\||&&|;)\s`).Split(s, -1) {
			part = strings.ReplaceAll(part, "\x00", "|")
			if i := strings.Index(part, " #"); i >= 0 {
				part = part[:i]
			}
			f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(part), "$ "))
			matched := false
			for _, bin := range binaries {
				if len(f) > len(bin) && slices.Equal(f[:len(bin)], bin) {
					out = append(out, cmdLine{where, f[len(bin):]})
					matched = true
					break
				}
			}
			if !matched && bare && len(f) > 1 && names[f[0]] && slices.ContainsFunc(f[1:], isFlag) {
				out = append(out, cmdLine{where, f})
			}
		}
	}
	for _, b := range d.blocks {
		if b.info != "" && b.info != "sh" && b.info != "bash" && b.info != "shell" && b.info != "console" {
			continue
		}
		for i, l := range strings.Split(b.body, "\n") {
			add(fmt.Sprintf("%s:%d", d.path, b.line+i), l, false)
		}
	}
	for _, s := range d.spans {
		add(fmt.Sprintf("%s:%d", d.path, s.line), s.text, true)
	}
	return out
}

// clean strips the brackets and punctuation a synopsis wraps tokens in.
func clean(tok string) string {
	return strings.TrimRight(strings.TrimLeft(tok, "[("), "]),;:")
}

func isFlag(tok string) bool {
	tok = clean(tok)
	return len(tok) > 1 && tok[0] == '-' && tok != "--" && (unicode.IsLetter(rune(strings.TrimLeft(tok, "-")[0])))
}

// commandHelp is what `lokerwatch PATH --help` says: the usage line and,
// for a command with a flag set, its flags.
type commandHelp struct {
	usage   []string        // words after "Usage: lokerwatch"
	flagSet bool            // a command's flag set answered (not a group's list)
	flags   map[string]bool // flag names
}

var flagLineRe = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_.-]*)`)

func helpOf(t *testing.T, path []string) commandHelp {
	t.Helper()
	code, _, stderr := runCLI(t, "", append(slices.Clone(path), "--help")...)
	var h commandHelp
	for _, l := range strings.Split(stderr, "\n") {
		if rest, ok := strings.CutPrefix(l, "Usage: lokerwatch "); ok {
			h.usage = strings.Fields(rest)
			break
		}
	}
	h.flagSet = strings.Contains(stderr, "\nFlags:\n")
	if h.flagSet && code != 0 {
		t.Fatalf("lokerwatch %s --help: exit %d: %s", strings.Join(path, " "), code, stderr)
	}
	h.flags = map[string]bool{"help": true, "h": true}
	for _, m := range flagLineRe.FindAllStringSubmatch(stderr, -1) {
		h.flags[m[1]] = true
	}
	return h
}

// checkCommand says what is wrong with one documented command line, asking
// the CLI itself (in-process, --help) which commands and flags exist.
func checkCommand(t *testing.T, args []string, cache map[string]commandHelp) []string {
	t.Helper()
	if len(args) == 0 {
		return []string{"no command after lokerwatch"}
	}
	if a := clean(args[0]); a == "--help" || a == "-h" || a == "help" {
		return nil
	}
	var words []string // the words before the first flag
	for _, a := range args {
		if isFlag(a) {
			break
		}
		words = append(words, clean(a))
	}
	if len(words) == 0 {
		return []string{fmt.Sprintf("%q: a flag where the command should be", strings.Join(args, " "))}
	}
	// `lokerwatch …` and `lokerwatch COMMAND` stand for any command.
	if w := words[0]; w == "…" || w == "..." || strings.ToUpper(w) == w && strings.ToLower(w) != w {
		return nil
	}
	known := false
	for _, c := range commands() {
		known = known || c.name == words[0]
	}
	if !known {
		return []string{fmt.Sprintf("%q: no command %q", strings.Join(args, " "), words[0])}
	}
	help := func(path []string) commandHelp {
		k := strings.Join(path, " ")
		h, ok := cache[k]
		if !ok {
			h = helpOf(t, path)
			cache[k] = h
		}
		return h
	}
	// Go down the command groups (review list, user token, keys generate)
	// while --help answers with a group's usage instead of a flag set.
	path := []string{words[0]}
	h := help(path)
	for !h.flagSet {
		if len(h.usage) <= len(path) {
			return []string{fmt.Sprintf("lokerwatch %s --help names no subcommand", strings.Join(path, " "))}
		}
		want := strings.Split(h.usage[len(path)], "|")
		if len(words) <= len(path) || !slices.Contains(want, words[len(path)]) {
			return []string{fmt.Sprintf("%q: lokerwatch %s wants a subcommand: %s", strings.Join(args, " "), strings.Join(path, " "), strings.Join(want, ", "))}
		}
		path = append(path, words[len(path)])
		h = help(path)
	}
	var bad []string
	for _, a := range args {
		if !isFlag(a) {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(clean(a), "-"), "=")
		if !h.flags[name] {
			var have []string
			for f := range h.flags {
				if f != "h" && f != "help" {
					have = append(have, "--"+f)
				}
			}
			sort.Strings(have)
			bad = append(bad, fmt.Sprintf("%q: lokerwatch %s has no flag --%s (it has %s)", strings.Join(args, " "), strings.Join(path, " "), name, strings.Join(have, " ")))
		}
	}
	return bad
}

func TestDocsCommands(t *testing.T) {
	cache := map[string]commandHelp{}
	n := 0
	for _, d := range guides(t) {
		for _, c := range commandsIn(d) {
			n++
			for _, p := range checkCommand(t, c.args, cache) {
				t.Errorf("%s: %s", c.where, p)
			}
		}
	}
	// The guides write dozens of commands; finding few means the
	// extraction broke, not that the guides are right.
	if n < 60 {
		t.Errorf("found %d lokerwatch commands in the guides, want at least 60", n)
	}
	t.Logf("%d command lines checked against %d commands' --help", n, len(cache))
}

var (
	envNameRe      = regexp.MustCompile(`LOKERWATCH_[A-Z0-9_]+`)
	commentedKeyRe = regexp.MustCompile(`(?m)^(\s*)# ([a-z][a-z0-9_]*: \S.*)$`)
)

// checkYAML loads one YAML example: a rule or lexicon file (top-level
// cues/rules) through the classifier, anything else as a config. A config
// may leave secrets to the environment when it names the variable
// (`# better: LOKERWATCH_NOTIFY_WEBHOOK_SECRET`): those are set to a
// placeholder. Keys shown commented out (`# queue: 1000`, the defaults) are
// loaded too, uncommented, so that they are real keys as well.
func checkYAML(t *testing.T, name, body string) error {
	t.Helper()
	var top map[string]any
	if err := yaml.Unmarshal([]byte(body), &top); err != nil {
		return fmt.Errorf("not YAML: %w", err)
	}
	ruleFile := len(top) > 0
	for k := range top {
		ruleFile = ruleFile && (k == "cues" || k == "rules")
	}
	dir := t.TempDir()
	if ruleFile {
		if err := os.WriteFile(filepath.Join(dir, "example.yaml"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := classifiers.New(classifiers.Options{RulesDir: dir})
		return err
	}
	var env []string
	for _, v := range envNameRe.FindAllString(body, -1) {
		env = append(env, v+"=docs-placeholder-0123456789")
	}
	load := func(file, text string) error {
		p := filepath.Join(dir, file)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(p, env)
		return err
	}
	if err := load("example.yaml", body); err != nil {
		return err
	}
	if uncommented := commentedKeyRe.ReplaceAllString(body, "$1$2"); uncommented != body {
		if err := load("example-uncommented.yaml", uncommented); err != nil {
			return fmt.Errorf("with the keys shown in comments uncommented: %w", err)
		}
	}
	return nil
}

func TestDocsYAML(t *testing.T) {
	example, err := os.ReadFile("../../config/testdata/example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	n, exampleFound := 0, false
	for _, d := range guides(t) {
		for _, b := range d.blocks {
			where := fmt.Sprintf("%s:%d", d.path, b.line)
			switch b.info {
			case "yaml", "yml":
				n++
				if err := checkYAML(t, where, b.body); err != nil {
					t.Errorf("%s: the YAML example does not load: %v", where, err)
				}
				if b.body == string(example) {
					exampleFound = true
				}
			case "csv":
				// The agency registry (classify.registry).
				n++
				p := filepath.Join(t.TempDir(), "agencies.csv")
				if err := os.WriteFile(p, []byte(b.body), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := classifiers.New(classifiers.Options{Registry: p}); err != nil {
					t.Errorf("%s: the registry example does not load: %v", where, err)
				}
			}
		}
	}
	if n < 4 {
		t.Errorf("found %d YAML and CSV examples in the guides, want at least 4", n)
	}
	// config's tests load config/testdata/example.yaml as "the guide's
	// example": it must be the operator's guide's, byte for byte.
	if !exampleFound {
		t.Errorf("no guide shows config/testdata/example.yaml verbatim in a yaml block (docs/operator.md#configuration should): change both together")
	}
}

// slug is GitHub's heading anchor: lower case, letters, marks, digits,
// spaces, hyphens and underscores kept, spaces turned into hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	headingRe  = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	mdLinkRe   = regexp.MustCompile(`\[([^\]]*)\]\(([^)\s]*)[^)]*\)`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
)

// anchors lists the anchors of a markdown file's headings (outside fenced
// code), numbered as GitHub numbers repeats (x, x-1, x-2), and any
// <a name="…"> or id="…" written in it.
func anchors(text string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	fence := ""
	for _, l := range strings.Split(text, "\n") {
		if fence != "" {
			if strings.HasPrefix(strings.TrimLeft(l, " "), fence) {
				fence = ""
			}
			continue
		}
		if m := fenceRe.FindStringSubmatch(l); m != nil {
			fence = m[1][:3]
			continue
		}
		m := headingRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s := slug(mdLinkRe.ReplaceAllString(m[1], "$1"))
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	for _, m := range htmlAnchor.FindAllStringSubmatch(text, -1) {
		out[m[1]] = true
	}
	return out
}

// checkLinks says which relative links and images of d do not resolve.
func checkLinks(d *doc, anchorsOf func(path string) (map[string]bool, error)) []string {
	var bad []string
	for _, m := range mdLinkRe.FindAllStringSubmatchIndex(d.prose, -1) {
		target := d.prose[m[4]:m[5]]
		line := 1 + strings.Count(d.prose[:m[0]], "\n")
		where := fmt.Sprintf("%s:%d", d.path, line)
		if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		file, frag, _ := strings.Cut(target, "#")
		p := d.path
		if file != "" {
			p = filepath.Join(filepath.Dir(d.path), filepath.FromSlash(file))
			if _, err := os.Stat(p); err != nil {
				bad = append(bad, fmt.Sprintf("%s: %s: no such file", where, target))
				continue
			}
		}
		if frag == "" {
			continue
		}
		if !strings.HasSuffix(p, ".md") {
			bad = append(bad, fmt.Sprintf("%s: %s: an anchor into a file that is not markdown", where, target))
			continue
		}
		as, err := anchorsOf(p)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %s: %v", where, target, err))
			continue
		}
		if !as[frag] {
			bad = append(bad, fmt.Sprintf("%s: %s: no heading with anchor #%s in %s", where, target, frag, p))
		}
	}
	return bad
}

func TestDocsLinks(t *testing.T) {
	cache := map[string]map[string]bool{}
	anchorsOf := func(p string) (map[string]bool, error) {
		p = filepath.Clean(p)
		if as, ok := cache[p]; ok {
			return as, nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		as := anchors(string(b))
		cache[p] = as
		return as, nil
	}
	n := 0
	for _, d := range guides(t) {
		n += len(mdLinkRe.FindAllString(d.prose, -1))
		for _, p := range checkLinks(d, anchorsOf) {
			t.Error(p)
		}
	}
	if n < 50 {
		t.Errorf("found %d links in the guides, want at least 50", n)
	}
}

// composedShotRe finds a picture name built in a test: "prefix-"+name+".png".
var composedShotRe = regexp.MustCompile(`"([^"]*)"\s*\+\s*\w+\s*\+\s*"(\.(?:png|jpg|jpeg|gif|svg))"`)

// TestDocsPicturesAreTaken: every picture under docs/ is written by a
// test (its file name is in a test's source, or built there from a prefix
// and a literal), so the pictures can be taken again and show what the
// tests check.
func TestDocsPicturesAreTaken(t *testing.T) {
	var sources [][]byte
	err := filepath.WalkDir(repoRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (e.Name() == ".git" || e.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !e.IsDir() && strings.HasSuffix(p, "_test.go") && filepath.Base(p) != "docs_test.go" {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sources = append(sources, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pictures []string
	err = filepath.WalkDir(filepath.Join(repoRoot, "docs"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp":
			pictures = append(pictures, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pictures) == 0 {
		t.Fatal("no pictures under docs/: the console's screenshot at least should be there")
	}
	for _, p := range pictures {
		if !takenByTest(filepath.Base(p), sources) {
			t.Errorf("%s: no test writes it (no test source names it): take it with a browser test, or remove it", p)
		}
	}
}

func takenByTest(name string, sources [][]byte) bool {
	for _, src := range sources {
		if bytes.Contains(src, []byte(name)) {
			return true
		}
		for _, m := range composedShotRe.FindAllSubmatch(src, -1) {
			prefix, ext := string(m[1]), string(m[2])
			rest, ok := strings.CutPrefix(name, prefix)
			if !ok || prefix == "" {
				continue
			}
			if rest, ok = strings.CutSuffix(rest, ext); ok && bytes.Contains(src, []byte(`"`+rest+`"`)) {
				return true
			}
		}
	}
	return false
}

// TestDocsCheckersCatch feeds the checks above a guide with one mistake of
// each kind: each must be reported, so that a guide that goes wrong fails.
func TestDocsCheckersCatch(t *testing.T) {
	dir := t.TempDir()
	guide := filepath.Join(dir, "guide.md")
	other := filepath.Join(dir, "other.md")
	if err := os.WriteFile(other, []byte("# Other\n\n## A `code` heading (with parens)\n\n## Twice\n\n## Twice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := map[string]commandHelp{}
	tests := []struct {
		name  string
		text  string
		wrong bool
	}{
		{"right command", "```sh\nlokerwatch crawl --config c.yaml --store sqlite:x.db\n```\n", false},
		{"wrong flag in a block", "```sh\nlokerwatch crawl --config c.yaml --stor sqlite:x.db\n```\n", true},
		{"wrong flag inline", "Run `lokerwatch status --formt jsonl` to see.\n", true},
		{"wrong flag in a table", "| `lokerwatch review decide ID --verdict scam\\|benign --reviewr NAME` | x |\n", true},
		{"bare command with a wrong flag", "Then `worker --folow` keeps going.\n", true},
		{"flag of another subcommand", "`lokerwatch review list --verdict scam`\n", true},
		{"unknown command", "```sh\nlokerwatch crawlx --config c.yaml\n```\n", true},
		{"placeholders", "Every command runs as `lokerwatch …`; errors start `lokerwatch COMMAND:`.\n", false},
		{"unknown subcommand", "```sh\nlokerwatch review approve ID\n```\n", true},
		{"right subcommand", "`lokerwatch user token list NAME --store sqlite:x.db` and `lokerwatch keys generate --private a --public b`\n", false},
		{"go run", "```sh\ngo run ./cmd/lokerwatch demo --onse\n```\n", true},
		{"right link", "See [other](other.md#a-code-heading-with-parens) and [again](other.md#twice-1).\n", false},
		{"missing file", "See [gone](gone.md).\n", true},
		{"missing anchor", "See [other](other.md#nowhere).\n", true},
		{"missing anchor here", "# Here\n\nSee [here](#there).\n", true},
		{"missing picture", "![x](nothing.png)\n", true},
		{"link in code is no link", "`[a](gone.md)`\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parseDoc(guide, tt.text)
			var problems []string
			for _, c := range commandsIn(d) {
				problems = append(problems, checkCommand(t, c.args, cache)...)
			}
			problems = append(problems, checkLinks(d, func(p string) (map[string]bool, error) {
				if p == guide {
					return anchors(d.text), nil
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return nil, err
				}
				return anchors(string(b)), nil
			})...)
			if got := len(problems) > 0; got != tt.wrong {
				t.Errorf("problems %q, want some: %v", problems, tt.wrong)
			}
		})
	}
	for _, tt := range []struct {
		name, body string
		wrong      bool
	}{
		{"config", "crawl:\n  parallelism: 4\n", false},
		{"config with a wrong key", "crawl:\n  paralelism: 4\n", true},
		{"secret left to the environment it names", "notify:\n  webhook:\n    url: https://x.example/h\n    secret: \"\"   # better: LOKERWATCH_NOTIFY_WEBHOOK_SECRET\n  rules:\n    - {name: a, min_score: 80, to: [webhook]}\n", false},
		{"secret missing", "notify:\n  webhook:\n    url: https://x.example/h\n  rules:\n    - {name: a, min_score: 80, to: [webhook]}\n", true},
		{"commented-out default", "crawl:\n  parallelism: 4\n  # max_pages: 0     # the default\n", false},
		{"commented-out wrong key", "crawl:\n  parallelism: 4\n  # max_pagez: 0     # the default\n", true},
		{"rule file", "rules:\n  - id: local.x\n    category: scam\n    weight: 20\n    description: x\n    when: abroad_implied\n", false},
		{"rule naming no fact", "rules:\n  - id: local.x\n    category: scam\n    weight: 20\n    description: x\n    when: no_such_fact\n", true},
	} {
		t.Run("yaml "+tt.name, func(t *testing.T) {
			err := checkYAML(t, tt.name, tt.body)
			if (err != nil) != tt.wrong {
				t.Errorf("err %v, want an error: %v", err, tt.wrong)
			}
		})
	}
	if !takenByTest("investigate-ad.png", [][]byte{[]byte(`os.WriteFile(filepath.Join(dir, "investigate-"+name+".png"), png, 0o644); shot("ad")`)}) ||
		takenByTest("investigate-case.png", [][]byte{[]byte(`os.WriteFile(filepath.Join(dir, "investigate-"+name+".png"), png, 0o644); shot("ad")`)}) {
		t.Error("takenByTest does not tell a picture a test takes from one it does not")
	}
}

// TestDocsInvestigatorCommandsRun runs the investigator's guide's evidence
// commands as written — keys, exports, verify, purge — in-process, in a
// fresh directory holding the demo's store (the guide's commands use the
// default store, ./lokerwatch.db) with two decided items, and expects each
// to succeed: a signed bundle that verify accepts with the public key.
func TestDocsInvestigatorCommandsRun(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "investigator.md"))
	if err != nil {
		t.Fatal(err)
	}
	d := parseDoc("docs/investigator.md", string(b))
	var block *codeBlock
	for i := range d.blocks {
		if d.blocks[i].info == "sh" && strings.Contains(d.blocks[i].body, "lokerwatch verify") {
			block = &d.blocks[i]
			break
		}
	}
	if block == nil {
		t.Fatal("docs/investigator.md: no sh block with lokerwatch verify")
	}
	t.Chdir(t.TempDir())
	cli := func(stdin string, args ...string) string {
		t.Helper()
		code, out, stderr := runCLI(t, stdin, args...)
		if code != 0 {
			t.Fatalf("lokerwatch %s: exit %d\n%s%s", strings.Join(args, " "), code, out, stderr)
		}
		return out
	}
	cli("", "demo", "--once", "--store", "sqlite:./lokerwatch.db")
	cli("a-long-password-for-docs\n", "user", "add", "ines", "--role", "investigator", "--password-stdin")
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(cli("", "review", "list", "--format", "jsonl")), "\n") {
		var it struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(l), &it); err != nil || it.ID == "" {
			t.Fatalf("review list line %q: %v", l, err)
		}
		ids = append(ids, it.ID)
	}
	if len(ids) < 2 {
		t.Fatalf("the demo queued %d items, want at least 2", len(ids))
	}
	cli("", "review", "decide", ids[0], "--verdict", "scam", "--reviewer", "ines")
	cli("", "review", "decide", ids[1], "--verdict", "trafficking", "--reviewer", "ines")

	ran := 0
	for i, l := range strings.Split(block.body, "\n") {
		if c, _, _ := strings.Cut(l, " #"); strings.TrimSpace(c) == "" {
			continue
		}
		cl := commandsIn(&doc{path: d.path, blocks: []codeBlock{{info: "sh", line: block.line + i, body: l}}})
		if len(cl) != 1 {
			t.Fatalf("%s:%d: %q is not one lokerwatch command", d.path, block.line+i, l)
		}
		// As a shell would read it: quotes removed; [optional] parts given.
		var args []string
		for _, a := range cl[0].args {
			a = strings.Trim(a, "[]")
			if a != "" {
				args = append(args, strings.Trim(a, `"'`))
			}
		}
		out := cli("", args...)
		t.Logf("%s:%d: lokerwatch %s\n%s", d.path, block.line+i, strings.Join(args, " "), out)
		ran++
	}
	if ran < 5 {
		t.Errorf("ran %d commands of the guide's evidence block, want at least 5", ran)
	}
	// What the guide promises: the case bundle holds the two decided ads, signed.
	out := cli("", "verify", "--public", "sign.pub.pem", "case-42.wacz")
	if !strings.Contains(out, "sign") {
		t.Errorf("verify of the guide's bundle says %q, want it to name the signature", out)
	}
}
