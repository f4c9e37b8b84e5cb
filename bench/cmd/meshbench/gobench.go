package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

// runGoBench is section 6: it parses the output of the go test -bench run
// that bench/run.sh made (and benchstat's summary of it, when installed).
func runGoBench(_ context.Context, args []string, log io.Writer) error {
	fs := newFlags("gobench", log)
	out := fs.String("out", "bin/bench-results", "results directory")
	raw := fs.String("raw", "", "go test -bench output")
	benchstat := fs.String("benchstat", "", "benchstat's output for the same run (optional)")
	command := fs.String("command", "", "the go test command that produced -raw")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*raw)
	if err != nil {
		return fmt.Errorf("raw output: %w", err)
	}
	h := newHeader("gobench")
	if *command != "" {
		h.Command = *command
	}
	res := results.GoBench{Header: h, Raw: string(b), Results: parseGoBench(string(b))}
	if len(res.Results) == 0 {
		res.Notes = append(res.Notes, "no benchmark lines in the output")
	}
	if *benchstat != "" {
		if s, err := os.ReadFile(*benchstat); err == nil {
			res.Benchstat = string(s)
		}
	}
	finish(&res.Header)
	return results.Write(*out, results.FileGoBench, res)
}

// parseGoBench reads the benchmark lines of go test output:
//
//	BenchmarkScore-2   	 1000000	      1043 ns/op	     256 B/op	       1 allocs/op
//
// The -N GOMAXPROCS suffix is dropped from the name so that repeated runs
// of one benchmark share it.
func parseGoBench(out string) []results.GoBenchResult {
	var rs []results.GoBenchResult
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		iters, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		r := results.GoBenchResult{Name: trimProcs(f[0]), Iterations: iters}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.NsPerOp = v
			case "B/op":
				r.BytesPerOp = v
			case "allocs/op":
				r.AllocsPerOp = v
			}
		}
		rs = append(rs, r)
	}
	return rs
}

func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}
