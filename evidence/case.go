package evidence

import (
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"

	"archive/zip"
)

// Case bundles: ExportOptions.AdIDs selects a case's ads and
// ExportOptions.Files carries the case's own files (notes, entity list,
// persona graphs, timeline), which go into the bundle under case/ and are
// hashed in datapackage.json, so verify covers them like the captures.

func idSet(ids []string) map[string]bool {
	if ids == nil {
		return nil
	}
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// extraFiles returns the names of opts.Files in order, refusing names
// outside case/ or that would replace a file the exporter writes.
func extraFiles(files map[string][]byte) ([]string, error) {
	var names []string
	for n := range files {
		clean := path.Clean(n)
		if clean != n || !strings.HasPrefix(n, "case/") || strings.Contains(n, "..") {
			return nil, fmt.Errorf("bundle file %q: must be a clean path under case/", n)
		}
		switch n {
		case "case/ads.jsonl", "case/ads.csv", "case/decisions.csv", "case/audit.csv", "case/export.json":
			return nil, fmt.Errorf("bundle file %q: written by the exporter", n)
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

func extraFileNotes(files map[string][]byte) []string {
	names, _ := extraFiles(files)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + ": part of the case (see case/case.json)"
	}
	return out
}

func (x *exporter) addFiles(z *zipAdder) error {
	names, err := extraFiles(x.opts.Files)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := z.add(n, zip.Deflate, bytes.NewReader(x.opts.Files[n]), true); err != nil {
			return err
		}
	}
	return nil
}
