package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/report"
	"github.com/meshhealth/meshhealth/bench/internal/results"
)

// runReport renders the results directory into the benchmarks document.
func runReport(_ context.Context, args []string, log io.Writer) error {
	fs := newFlags("report", log)
	out := fs.String("out", "bin/bench-results", "results directory")
	doc := fs.String("doc", "docs/BENCHMARKS.md", "the document to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, err := report.Load(*out)
	if err != nil {
		return err
	}
	if in.Run.Finished.IsZero() {
		// The first report ends the run; later ones (the prose changed)
		// keep its length.
		in.Run.Finished = time.Now().UTC()
		if err := results.Write(*out, results.FileRun, in.Run); err != nil {
			return err
		}
	}
	tmp := *doc + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := report.Render(f, in); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, *doc)
}
