package main

import (
	"context"
	"io"

	"github.com/lokerwatch/lokerwatch/cases"
	"github.com/lokerwatch/lokerwatch/config"
	"github.com/lokerwatch/lokerwatch/evidence"
	"github.com/lokerwatch/lokerwatch/persona"
	"github.com/lokerwatch/lokerwatch/storage"
)

// exportCase writes `lokerwatch export --case ID`: the case bundle, with
// persona links judged as the crawl judges them (the configured registry's
// hotlines are weak).
func exportCase(ctx context.Context, cfg *config.Config, st storage.Store, id string, w io.Writer, opts evidence.ExportOptions) (*evidence.ExportSummary, error) {
	eng, err := newClassifier(cfg)
	if err != nil {
		return nil, err
	}
	l := persona.NewLinker(st, persona.Options{Weak: eng.LicensedContact})
	return cases.Export(ctx, st, l, id, w, cases.ExportOptions{ExportOptions: opts})
}
