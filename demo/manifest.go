package demo

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The sample web: ads.yaml (content and expected labels), page templates and
// robots.txt. Embedded so that `lokerwatch demo` needs nothing but the binary.
//
//go:embed site/ads.yaml site/robots.txt site/templates/*
var siteFS embed.FS

// Source names of the sample web, as used in Config.
const (
	SourceBoard       = "board"
	SourceChannel     = "channel"
	SourceClassifieds = "classifieds"
	SourceForum       = "forum"
)

// Labels an analyst gives a sample ad. The three harmful ones are the
// lokerwatch.Category values.
const (
	LabelScam          = "scam"
	LabelNonprocedural = "nonprocedural"
	LabelTrafficking   = "trafficking"
	LabelBenign        = "benign"
)

// Salary is the structured salary of a job board ad (JSON-LD baseSalary).
type Salary struct {
	Currency string `yaml:"currency"`
	Min      int64  `yaml:"min"`
	Max      int64  `yaml:"max"`
}

// SampleAd is one ad or post of the sample web with the label a human
// analyst would give it.
type SampleAd struct {
	ID     string `yaml:"id"`
	Source string `yaml:"source"`
	Page   int    `yaml:"page"`
	Lang   string `yaml:"lang"`
	Label  string `yaml:"label"`
	// Kind is what the text is: offer, warning, news or story.
	Kind string `yaml:"kind"`
	// Borderline ads are neither required nor forbidden to be flagged.
	Borderline bool      `yaml:"borderline"`
	PostedRaw  string    `yaml:"posted"`
	Posted     time.Time `yaml:"-"`
	Title      string    `yaml:"title"`
	Company    string    `yaml:"company"`
	Location   string    `yaml:"location"`
	Country    string    `yaml:"country"`
	Salary     *Salary   `yaml:"salary"`
	Text       string    `yaml:"text"`
	Why        []string  `yaml:"why"`
}

// Path is the URL path of the ad's permalink on the sample web: what the
// crawler stores as the ad's URL.
func (a SampleAd) Path() string {
	switch a.Source {
	case SourceBoard:
		return "/job/" + a.ID
	case SourceChannel:
		return "/" + channelName + "/" + a.ID
	case SourceClassifieds:
		return "/iklan/" + a.ID
	case SourceForum:
		return "/forum/t/" + a.ID
	}
	return ""
}

// WantFlagged says whether the classifier should flag the ad; sure is false
// for borderline ads, where either outcome is acceptable.
func (a SampleAd) WantFlagged() (flag, sure bool) {
	return a.Label != LabelBenign, !a.Borderline
}

// Lines returns the text's lines without blank ones.
func (a SampleAd) Lines() []string {
	var out []string
	for _, l := range strings.Split(a.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// Ads returns the sample web's ads in manifest order (a copy).
func Ads() []SampleAd {
	out := make([]SampleAd, len(manifest))
	copy(out, manifest)
	return out
}

// manifest is loaded once from the embedded ads.yaml; the file is part of the
// program, so a broken one stops the program at start (and fails the tests).
var manifest = mustLoadManifest()

func mustLoadManifest() []SampleAd {
	data, err := siteFS.ReadFile("site/ads.yaml")
	if err != nil {
		panic(fmt.Sprintf("demo: read embedded site/ads.yaml: %v", err))
	}
	ads, err := parseManifest(data)
	if err != nil {
		panic(fmt.Sprintf("demo: embedded site/ads.yaml: %v", err))
	}
	return ads
}

var (
	numericID = regexp.MustCompile(`^[0-9]+$`)
	slugID    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// parseManifest decodes and checks ads.yaml: unknown fields, duplicate ids,
// unknown sources, labels and kinds, missing text or dates are errors naming
// the ad.
func parseManifest(data []byte) ([]SampleAd, error) {
	var doc struct {
		Ads []SampleAd `yaml:"ads"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(doc.Ads) == 0 {
		return nil, fmt.Errorf("no ads")
	}
	seen := map[string]bool{}
	for i := range doc.Ads {
		a := &doc.Ads[i]
		where := fmt.Sprintf("ad %d (id %q)", i+1, a.ID)
		key := a.Source + "/" + a.ID
		if seen[key] {
			return nil, fmt.Errorf("%s: duplicate id in source %s", where, a.Source)
		}
		seen[key] = true
		switch a.Source {
		case SourceBoard:
			if !slugID.MatchString(a.ID) {
				return nil, fmt.Errorf("%s: board ids are lower-case slugs", where)
			}
			if a.Title == "" || a.Company == "" || a.Location == "" || a.Page < 1 {
				return nil, fmt.Errorf("%s: board ads need title, company, location and page >= 1", where)
			}
		case SourceChannel, SourceClassifieds:
			if !numericID.MatchString(a.ID) {
				return nil, fmt.Errorf("%s: %s ids are numbers", where, a.Source)
			}
			if a.Source == SourceClassifieds && a.Title == "" {
				return nil, fmt.Errorf("%s: classifieds ads need a title", where)
			}
		case SourceForum:
			if !numericID.MatchString(a.ID) || a.Title == "" || a.Page < 1 {
				return nil, fmt.Errorf("%s: forum posts need a numeric id, a title and page >= 1", where)
			}
		default:
			return nil, fmt.Errorf("%s: unknown source %q", where, a.Source)
		}
		if !slices.Contains([]string{LabelScam, LabelNonprocedural, LabelTrafficking, LabelBenign}, a.Label) {
			return nil, fmt.Errorf("%s: unknown label %q", where, a.Label)
		}
		if !slices.Contains([]string{"offer", "warning", "news", "story"}, a.Kind) {
			return nil, fmt.Errorf("%s: unknown kind %q", where, a.Kind)
		}
		if !slices.Contains([]string{"id", "en", "mixed"}, a.Lang) {
			return nil, fmt.Errorf("%s: unknown lang %q", where, a.Lang)
		}
		if len(a.Lines()) == 0 {
			return nil, fmt.Errorf("%s: empty text", where)
		}
		t, err := parseDate(a.PostedRaw)
		if err != nil {
			return nil, fmt.Errorf("%s: posted: %w", where, err)
		}
		a.Posted = t
	}
	return doc.Ads, nil
}

func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2006-01-02 or RFC 3339)", s)
}
