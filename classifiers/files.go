package classifiers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The rule files: every YAML file may hold any of these sections. The
// embedded defaults are read first, then the files of Options.RulesDir in
// name order; cues with the same name merge their terms, and a rule with
// the id of an earlier one replaces it.
type fileDoc struct {
	Negators   []string      `yaml:"negators"`
	Protect    []string      `yaml:"protect"`
	Cues       []cueDoc      `yaml:"cues"`
	Countries  []countryDoc  `yaml:"countries"`
	Currencies []currencyDoc `yaml:"currencies"`
	Rules      []ruleDoc     `yaml:"rules"`
	Settings   *settingsDoc  `yaml:"settings"`
}

type cueDoc struct {
	Cue         string              `yaml:"cue"`
	Description string              `yaml:"description"`
	Source      string              `yaml:"source"`
	Negated     string              `yaml:"negated"`
	Strong      bool                `yaml:"strong"`
	Count       bool                `yaml:"count"` // also a <cue>_n fact: distinct terms matched
	Terms       map[string][]string `yaml:"terms"` // language (id, en, any) -> terms
	line        int

	// DescriptionID is the description in Indonesian, for analysts whose
	// console speaks it (they read the English one when it is missing).
	DescriptionID string `yaml:"description_id"`
}

type countryDoc struct {
	Code       string   `yaml:"code"`
	Names      []string `yaml:"names"`
	Places     []string `yaml:"places"`
	Hotspots   []string `yaml:"hotspots"`
	Placement  *bool    `yaml:"placement"`           // an official PMI placement destination
	Moratorium bool     `yaml:"domestic_moratorium"` // domestic work placement closed
	Wage       float64  `yaml:"wage"`                // typical low-skill monthly wage, local currency
	Currency   string   `yaml:"currency"`
	Phone      string   `yaml:"phone"` // country calling code
	Source     string   `yaml:"source"`
	line       int
	file       string
}

type currencyDoc struct {
	Code  string   `yaml:"code"`
	Rate  float64  `yaml:"rate"` // IDR per unit
	Names []string `yaml:"names"`
	line  int
}

type ruleDoc struct {
	ID          string   `yaml:"id"`
	Category    string   `yaml:"category"`
	Weight      int      `yaml:"weight"`
	Description string   `yaml:"description"`
	When        string   `yaml:"when"`
	Evidence    []string `yaml:"evidence"`
	Source      string   `yaml:"source"`
	line        int
	file        string
	auto        bool // generated single-indicator rule (autoRules)

	// DescriptionID is the description in Indonesian (see cueDoc).
	DescriptionID string `yaml:"description_id"`
}

type settingsDoc struct {
	NotOfferThreshold int     `yaml:"not_offer_threshold"`
	NotOfferFactor    float64 `yaml:"not_offer_factor"`
	SalaryHighRatio   float64 `yaml:"salary_high_ratio"`
	DefaultWageIDR    float64 `yaml:"default_wage_idr"`
	ScoreSaturation   float64 `yaml:"score_saturation"`
}

var allowedKeys = map[string][]string{
	"file":     {"negators", "protect", "cues", "countries", "currencies", "rules", "settings"},
	"cue":      {"cue", "description", "description_id", "source", "negated", "strong", "count", "terms"},
	"country":  {"code", "names", "places", "hotspots", "placement", "domestic_moratorium", "wage", "currency", "phone", "source"},
	"currency": {"code", "rate", "names"},
	"rule":     {"id", "category", "weight", "description", "description_id", "when", "evidence", "source"},
	"settings": {"not_offer_threshold", "not_offer_factor", "salary_high_ratio", "default_wage_idr", "score_saturation"},
}

// LoadError is a problem in a rule file, with where it is.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// checkKeys rejects unknown keys of a mapping node.
func checkKeys(file string, n *yaml.Node, kind string) error {
	if n.Kind != yaml.MappingNode {
		return &LoadError{file, n.Line, fmt.Sprintf("%s: expected a mapping", kind)}
	}
	ok := allowedKeys[kind]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		found := false
		for _, a := range ok {
			if k.Value == a {
				found = true
				break
			}
		}
		if !found {
			return &LoadError{file, k.Line, fmt.Sprintf("unknown %s field %q (known: %s)", kind, k.Value, strings.Join(ok, ", "))}
		}
	}
	return nil
}

// parseFile decodes one rule file strictly.
func parseFile(name string, data []byte) (*fileDoc, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return &fileDoc{}, nil
		}
		return nil, yamlLoadError(name, err)
	}
	doc := &fileDoc{}
	if len(root.Content) == 0 {
		return doc, nil
	}
	top := root.Content[0]
	if err := checkKeys(name, top, "file"); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, top.Content[i+1]
		var err error
		switch key {
		case "negators":
			err = val.Decode(&doc.Negators)
		case "protect":
			err = val.Decode(&doc.Protect)
		case "settings":
			if err = checkKeys(name, val, "settings"); err == nil {
				doc.Settings = &settingsDoc{}
				err = val.Decode(doc.Settings)
			}
		case "cues", "countries", "currencies", "rules":
			if val.Kind != yaml.SequenceNode {
				return nil, &LoadError{name, val.Line, key + ": expected a list"}
			}
			kind := strings.TrimSuffix(key, "s")
			if key == "countries" {
				kind = "country"
			} else if key == "currencies" {
				kind = "currency"
			}
			for _, item := range val.Content {
				if err := checkKeys(name, item, kind); err != nil {
					return nil, err
				}
				switch key {
				case "cues":
					var c cueDoc
					err = item.Decode(&c)
					c.line = item.Line
					doc.Cues = append(doc.Cues, c)
				case "countries":
					var c countryDoc
					err = item.Decode(&c)
					c.line, c.file = item.Line, name
					doc.Countries = append(doc.Countries, c)
				case "currencies":
					var c currencyDoc
					err = item.Decode(&c)
					c.line = item.Line
					doc.Currencies = append(doc.Currencies, c)
				case "rules":
					var r ruleDoc
					err = item.Decode(&r)
					r.line, r.file = item.Line, name
					doc.Rules = append(doc.Rules, r)
				}
				if err != nil {
					return nil, yamlLoadError(name, err)
				}
			}
		}
		if err != nil {
			return nil, yamlLoadError(name, err)
		}
	}
	return doc, nil
}

// yamlLoadError turns a yaml error ("yaml: line 7: …") into file:line: msg.
func yamlLoadError(name string, err error) error {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	var line int
	if strings.HasPrefix(msg, "line ") {
		rest := msg[5:]
		if k := strings.IndexByte(rest, ':'); k > 0 {
			if _, e := fmt.Sscanf(rest[:k], "%d", &line); e == nil {
				msg = strings.TrimSpace(rest[k+1:])
			}
		}
	}
	return &LoadError{File: name, Line: line, Msg: msg}
}

type namedFile struct {
	name string
	data []byte
}

// readRuleFiles lists the embedded defaults and then the YAML files of dir.
func readRuleFiles(embedded fs.FS, dir string) ([]namedFile, error) {
	var files []namedFile
	ents, err := fs.ReadDir(embedded, "defaults")
	if err != nil {
		return nil, fmt.Errorf("read embedded rules: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() || !isYAML(e.Name()) {
			continue
		}
		b, err := fs.ReadFile(embedded, "defaults/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("read embedded rules: %w", err)
		}
		files = append(files, namedFile{"defaults/" + e.Name(), b})
	}
	if dir == "" {
		return files, nil
	}
	ents2, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read rules directory: %w", err)
	}
	var names []string
	for _, e := range ents2 {
		if !e.IsDir() && isYAML(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read rule file: %w", err)
		}
		files = append(files, namedFile{p, b})
	}
	return files, nil
}

func isYAML(n string) bool {
	return strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")
}
