package loadtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// Wrk runs the wrk binary with a Lua script (bench/wrk/report.lua) that
// prints its totals as one JSON line.
type Wrk struct {
	Bin    string // path of wrk
	Script string // path of report.lua
}

// FindWrk returns a Wrk when wrk is on PATH.
func FindWrk(script string) (*Wrk, bool) {
	p, err := exec.LookPath("wrk")
	if err != nil {
		return nil, false
	}
	return &Wrk{Bin: p, Script: script}, true
}

// Name is "wrk" and its version.
func (w *Wrk) Name() string {
	// wrk -v prints its version and exits 1.
	out, _ := exec.Command(w.Bin, "-v").CombinedOutput()
	line, _, _ := strings.Cut(string(out), "\n")
	if f := strings.Fields(line); len(f) >= 2 && f[0] == "wrk" {
		return "wrk " + f[1]
	}
	return "wrk"
}

// Args is the wrk command line for o.
func (w *Wrk) Args(o Options) []string {
	return []string{
		"-t", strconv.Itoa(max(o.Threads, 1)), "-c", strconv.Itoa(max(o.Connections, 1)),
		"-d", fmt.Sprintf("%ds", max(int(o.Duration.Seconds()), 1)),
		"--timeout", "5s", "-s", w.Script, o.URL,
	}
}

// Run loads o.URL with wrk.
func (w *Wrk) Run(o Options) (Result, error) {
	cmd := exec.Command(w.Bin, w.Args(o)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("wrk %s: %w: %s", o.URL, err, strings.TrimSpace(stderr.String()))
	}
	return parseWrk(out)
}

type wrkLine struct {
	Requests   int64   `json:"requests"`
	DurationUs int64   `json:"duration_us"`
	Connect    int64   `json:"connect"`
	Read       int64   `json:"read"`
	Write      int64   `json:"write"`
	Status     int64   `json:"status"`
	Timeout    int64   `json:"timeout"`
	P50us      float64 `json:"p50_us"`
	P90us      float64 `json:"p90_us"`
	P99us      float64 `json:"p99_us"`
	MaxUs      float64 `json:"max_us"`
}

// parseWrk finds the MESHBENCH line the Lua script printed.
func parseWrk(out []byte) (Result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		js, ok := strings.CutPrefix(sc.Text(), "MESHBENCH ")
		if !ok {
			continue
		}
		var l wrkLine
		if err := json.Unmarshal([]byte(js), &l); err != nil {
			return Result{}, fmt.Errorf("wrk report line: %w", err)
		}
		if l.DurationUs <= 0 {
			return Result{}, fmt.Errorf("wrk report line: duration %dus", l.DurationUs)
		}
		secs := float64(l.DurationUs) / 1e6
		return Result{
			Requests: l.Requests, Seconds: secs, RPS: float64(l.Requests) / secs,
			P50ms: l.P50us / 1000, P90ms: l.P90us / 1000, P99ms: l.P99us / 1000, MaxMs: l.MaxUs / 1000,
			Non2xx: l.Status, Errors: l.Connect + l.Read + l.Write + l.Timeout,
		}, nil
	}
	return Result{}, fmt.Errorf("wrk printed no MESHBENCH line (was the script %s loaded?): %q", "report.lua", truncate(out, 400))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
