package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

// inputs opens the named files in order, or returns stdin when none.
func inputs(e *env, names []string) (io.Reader, func(), error) {
	if len(names) == 0 || (len(names) == 1 && names[0] == "-") {
		return e.stdin, func() {}, nil
	}
	var rs []io.Reader
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			closeAll()
			return nil, nil, usagef("%v", err)
		}
		files = append(files, f)
		rs = append(rs, f)
	}
	return io.MultiReader(rs...), closeAll, nil
}

func runClassify(ctx context.Context, e *env, args []string) error {
	var c common
	var explain bool
	fs := flags(e, "classify", "[--explain] [--config FILE] [FILE…]  (JSON lines: id, title, text, optional url, source, lang)")
	c.register(fs)
	fs.BoolVar(&explain, "explain", false, "print each ad's signals readably instead of JSON lines")
	if err := parse(fs, reorder(fs, args)); err != nil {
		return err
	}
	cfg, err := c.load(e)
	if err != nil {
		return err
	}
	eng, err := newClassifier(cfg)
	if err != nil {
		return err
	}
	r, done, err := inputs(e, fs.Args())
	if err != nil {
		return err
	}
	defer done()
	bad, err := eng.ClassifyJSONL(ctx, r, e.stdout, e.stderr, explain)
	if err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("%d input lines could not be read (see above); the others were classified", bad)
	}
	return nil
}
