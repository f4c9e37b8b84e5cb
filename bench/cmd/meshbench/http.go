package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/loadtest"
	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

// httpPaths are the endpoints measured with the node healthy; while a check
// hangs only /health (the heavier body) is measured again.
var httpPaths = []string{"/health", "/health/ready"}

// capturedHeaders are copied from the node's answer into the static one.
var capturedHeaders = []string{"Content-Type", "Cache-Control", "X-Content-Type-Options"}

type httpBench struct {
	commonFlags
	duration  time.Duration
	reps      int
	hangReps  int
	conns     int
	threads   int
	staticBin string
	script    string
	hang      string
	forceGo   bool
}

// runHTTP is section 1. A 2-node local testnet gives node0 real peers and
// real probes; the load goes to node0 and to a static server answering the
// bytes node0 answered a moment before, alternately, rep after rep. Then a
// fault hangs node0's checks and /health is measured again.
func runHTTP(ctx context.Context, args []string, log io.Writer) error {
	b := httpBench{}
	fs := newFlags("http", log)
	b.register(fs)
	fs.DurationVar(&b.duration, "d", 10*time.Second, "duration of each load run")
	fs.IntVar(&b.reps, "reps", 3, "repetitions of each (target, path) with the node healthy")
	fs.IntVar(&b.hangReps, "hang-reps", 2, "repetitions of /health while the check hangs")
	// One wrk thread with 8 connections keeps one of two cores for the
	// server: the load saturates it without starving it of CPU.
	fs.IntVar(&b.conns, "c", 8, "connections")
	fs.IntVar(&b.threads, "t", 1, "wrk threads")
	fs.StringVar(&b.staticBin, "static-bin", "bin/bench-static", "the static baseline server")
	fs.StringVar(&b.script, "wrk-script", "bench/wrk/report.lua", "wrk's reporting script")
	fs.StringVar(&b.hang, "hang", "scheduler/stall", "COMPONENT/FAULT that hangs the node's checks")
	fs.BoolVar(&b.forceGo, "go-client", false, "use the Go load generator even if wrk is installed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var runner loadtest.Runner = loadtest.Gen{}
	if w, ok := loadtest.FindWrk(b.script); ok && !b.forceGo {
		runner = w
	}
	res := results.HTTP{
		Header: b.header("http"), Tool: runner.Name(), Duration: b.duration.Seconds(),
		Connections: b.conns, Threads: b.threads, HangFault: b.hang,
	}
	if err := b.run(ctx, runner, &res, log); err != nil {
		res.Notes = append(res.Notes, "incomplete: "+err.Error())
		finish(&res.Header)
		if werr := results.Write(b.out, results.FileHTTP, res); werr != nil {
			fmt.Fprintln(log, "meshbench http:", werr)
		}
		return err
	}
	finish(&res.Header)
	return results.Write(b.out, results.FileHTTP, res)
}

func (b *httpBench) run(ctx context.Context, runner loadtest.Runner, res *results.HTTP, log io.Writer) error {
	dir := filepath.Join(b.work, "http")
	opts := b.testnetOpts(log)
	t, err := upTestnet(ctx, testnet.UpOptions{
		Dir: dir, N: 2, Mode: testnet.ModeLocal, NodeBin: b.nodeBin, ReadyTimeout: 120 * time.Second,
		// The hang must not make the node shut itself down mid-measurement.
		NodeArgs: []string{"--shutdown-on-critical=false"},
	}, opts, log)
	if err != nil {
		return err
	}
	defer downTestnet(ctx, dir, opts, log)
	defer t.Close()
	var ss settleState
	if _, _, err := waitFor(ctx, t, 500*time.Millisecond, 120*time.Second, settledCond(watch.Healthy, &ss)); err != nil {
		res.Notes = append(res.Notes, "the testnet was not healthy with one leader before the load: "+err.Error())
	}
	st, err := t.State()
	if err != nil {
		return err
	}
	nodeURL := "http://" + st.Nodes[0].HTTP

	if err := b.phase(ctx, runner, res, results.PhaseNormal, nodeURL, httpPaths, b.reps, filepath.Join(dir, "static-normal.json"), log); err != nil {
		return err
	}
	if b.hangReps == 0 {
		return nil
	}
	comp, fault, ok := strings.Cut(b.hang, "/")
	if !ok {
		return fmt.Errorf("-hang %q: want COMPONENT/FAULT", b.hang)
	}
	if err := t.Apply(ctx, testnet.Chaos{Action: testnet.ChaosFault, Node: 0, Component: comp, Fault: fault}); err != nil {
		res.Notes = append(res.Notes, "hang phase skipped: "+err.Error())
		return nil
	}
	// Wait for the fault's full effect (every result stale: unhealthy), so
	// the captured answer stays the node's answer for the whole phase.
	nodes, _, err := waitFor(ctx, t, 250*time.Millisecond, 60*time.Second, func(n []testnet.NodeStatus) bool {
		return n[0].Status == "unhealthy"
	})
	if len(nodes) > 0 {
		res.HangStatus = nodes[0].Status
	}
	if err != nil {
		res.Notes = append(res.Notes, "the fault did not turn node0 unhealthy; measured anyway: "+err.Error())
	}
	return b.phase(ctx, runner, res, results.PhaseHang, nodeURL, httpPaths[:1], b.hangReps, filepath.Join(dir, "static-hang.json"), log)
}

// phase captures the node's answers, starts the static server on them and
// alternates the two targets rep after rep, so slow drift of the machine's
// load hits both alike.
func (b *httpBench) phase(ctx context.Context, runner loadtest.Runner, res *results.HTTP, phase, nodeURL string,
	paths []string, reps int, manifest string, log io.Writer) error {
	routes, err := capture(ctx, nodeURL, paths)
	if err != nil {
		return err
	}
	staticURL, stop, err := startStatic(b.staticBin, manifest, routes)
	if err != nil {
		return err
	}
	defer stop()
	for rep := 1; rep <= reps; rep++ {
		for _, path := range paths {
			targets := []string{results.TargetNode, results.TargetStatic}
			if rep%2 == 0 {
				targets[0], targets[1] = targets[1], targets[0]
			}
			for _, target := range targets {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				base := nodeURL
				if target == results.TargetStatic {
					base = staticURL
				}
				r, err := runner.Run(loadtest.Options{URL: base + path, Duration: b.duration, Connections: b.conns, Threads: b.threads})
				if err != nil {
					return err
				}
				fmt.Fprintf(log, "meshbench http: %s %s %s rep %d: %.0f req/s, p99 %.2f ms, non-2xx %d\n",
					phase, target, path, rep, r.RPS, r.P99ms, r.Non2xx)
				res.Runs = append(res.Runs, results.HTTPRun{
					Phase: phase, Target: target, Path: path, Rep: rep, Requests: r.Requests, RPS: r.RPS,
					P50ms: r.P50ms, P90ms: r.P90ms, P99ms: r.P99ms, MaxMs: r.MaxMs, Non2xx: r.Non2xx, Errors: r.Errors,
					Status: routes[path].Status, Bytes: len(routes[path].Body),
				})
			}
		}
	}
	return nil
}

// staticRoute mirrors bench/cmd/static's manifest entry.
type staticRoute struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

func capture(ctx context.Context, base string, paths []string) (map[string]staticRoute, error) {
	out := map[string]staticRoute{}
	c := &http.Client{Timeout: 5 * time.Second}
	for _, p := range paths {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		if err != nil {
			return nil, err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", p, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("capture %s: %w", p, err)
		}
		r := staticRoute{Status: resp.StatusCode, Headers: map[string]string{}, Body: body}
		for _, h := range capturedHeaders {
			if v := resp.Header.Get(h); v != "" {
				r.Headers[h] = v
			}
		}
		out[p] = r
	}
	return out, nil
}

// startStatic runs the static server on routes and returns its base URL
// and a function that stops it.
func startStatic(bin, manifest string, routes map[string]staticRoute) (string, func(), error) {
	b, err := json.Marshal(map[string]any{"routes": routes})
	if err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(manifest, b, 0o644); err != nil {
		return "", nil, fmt.Errorf("static manifest: %w", err)
	}
	cmd := exec.Command(bin, "-manifest", manifest)
	cmd.Stderr = os.Stderr
	first := newFirstLine()
	cmd.Stdout = first
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %w (build it with go build -o %s ./bench/cmd/static)", bin, err, bin)
	}
	stop := func() { stopProcess(cmd, 5*time.Second) }
	select {
	case l := <-first.line:
		addr, found := strings.CutPrefix(l, "listening ")
		if !found {
			stop()
			return "", nil, fmt.Errorf("static server said %q, want \"listening ADDR\"", l)
		}
		return "http://" + addr, stop, nil
	case <-time.After(10 * time.Second):
		stop()
		return "", nil, fmt.Errorf("static server did not start within 10s")
	}
}
