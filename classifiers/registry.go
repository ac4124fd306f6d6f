package classifiers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Agency is one licensed placement company (P3MI) from the registry file:
// a snapshot of the SISKOP2MI list kept by the operator.
type Agency struct {
	Name    string   `yaml:"name"`
	Licence string   `yaml:"licence"`
	Phones  []string `yaml:"phones"`
	Status  string   `yaml:"status"` // active (default), suspended, revoked
}

// Registry answers whether an agency, licence number or phone is on file.
type Registry struct {
	byName    map[string]*Agency
	byLicence map[string]*Agency
	phones    map[string]*Agency // E.164 -> agency
	n         int
}

// Len is the number of agencies on file.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// agencyKey folds a company name for comparison: lower case, letters and
// digits only, without the legal form.
func agencyKey(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		if w == "pt" || w == "tbk" || w == "persero" || w == "cv" {
			continue
		}
		b.WriteString(w)
	}
	return b.String()
}

// loadRegistry reads a YAML ("agencies:" list) or CSV (header
// name,licence,phones,status; phones separated by ";") registry.
func (e *Engine) loadRegistry(path string) (*Registry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read registry: %w", err)
	}
	var list []Agency
	if strings.HasSuffix(strings.ToLower(path), ".csv") {
		list, err = parseRegistryCSV(path, data)
	} else {
		list, err = parseRegistryYAML(path, data)
	}
	if err != nil {
		return nil, err
	}
	reg := &Registry{byName: map[string]*Agency{}, byLicence: map[string]*Agency{}, phones: map[string]*Agency{}}
	for i := range list {
		a := &list[i]
		if a.Status == "" {
			a.Status = "active"
		}
		reg.n++
		if k := agencyKey(a.Name); k != "" {
			reg.byName[k] = a
		}
		if k := licenceKey(a.Licence); k != "" {
			reg.byLicence[k] = a
		}
		for _, p := range a.Phones {
			d := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, p)
			if d == "" {
				continue
			}
			if ent, ok := e.phoneEntity(d, strings.HasPrefix(strings.TrimSpace(p), "+"), 0, 0); ok {
				reg.phones[ent.Value] = a
			}
		}
	}
	return reg, nil
}

func parseRegistryYAML(path string, data []byte) ([]Agency, error) {
	var doc struct {
		Agencies []Agency `yaml:"agencies"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlLoadError(path, err)
	}
	for i, a := range doc.Agencies {
		if strings.TrimSpace(a.Name) == "" {
			return nil, &LoadError{path, 0, fmt.Sprintf("agency %d has no name", i+1)}
		}
	}
	return doc.Agencies, nil
}

func parseRegistryCSV(path string, data []byte) ([]Agency, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, &LoadError{path, 1, fmt.Sprintf("read header: %v", err)}
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["name"]; !ok {
		return nil, &LoadError{path, 1, "header must name a \"name\" column (name,licence,phones,status)"}
	}
	get := func(rec []string, k string) string {
		if i, ok := col[k]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Agency
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &LoadError{path, line, err.Error()}
		}
		a := Agency{Name: get(rec, "name"), Licence: get(rec, "licence"), Status: get(rec, "status")}
		if a.Licence == "" {
			a.Licence = get(rec, "license")
		}
		if a.Name == "" {
			return nil, &LoadError{path, line, "empty name"}
		}
		for _, p := range strings.FieldsFunc(get(rec, "phones"), func(r rune) bool { return r == ';' || r == '|' }) {
			if p = strings.TrimSpace(p); p != "" {
				a.Phones = append(a.Phones, p)
			}
		}
		out = append(out, a)
	}
	return out, nil
}
