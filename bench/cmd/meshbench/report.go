package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	if err := writePlot(in, *doc); err != nil {
		// The document still says everything in its tables.
		fmt.Fprintf(log, "meshbench report: %v\n", err)
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

// plotFile is the scale curve's image, written next to the document.
const plotFile = "bench-scale.png"

// writePlot draws the scale curve beside doc and tells the document its
// name; with no curve in the results it removes nothing and links nothing.
func writePlot(in *report.Input, doc string) error {
	path := filepath.Join(filepath.Dir(doc), plotFile)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	drawn, err := report.WritePlot(f, in)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || !drawn {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	in.Plot = plotFile
	return nil
}
