package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

// runStart records what the whole run is: mode, machine, commit, date.
func runStart(_ context.Context, args []string, log io.Writer) error {
	fs := newFlags("start", log)
	out := fs.String("out", "bin/bench-results", "results directory")
	mode := fs.String("mode", "quick", "quick or full")
	command := fs.String("command", "make bench", "the command that started the run, for the report")
	note := fs.String("note", "", "free text for the report, such as \"shared machine\"")
	repo := fs.String("repo", ".", "the repository whose commit is measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	r := results.Run{Mode: *mode, Command: *command, Started: time.Now().UTC(), Machine: results.ReadMachine(), Note: *note}
	commit, dirty, err := results.GitCommit(*repo)
	if err != nil {
		fmt.Fprintf(log, "meshbench start: %v\n", err)
	}
	r.Commit, r.Dirty = commit, dirty
	return results.Write(*out, results.FileRun, r)
}
