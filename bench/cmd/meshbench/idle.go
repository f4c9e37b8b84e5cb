package main

import (
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/procfs"
	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/bench/internal/watch"
	"github.com/meshhealth/meshhealth/testnet"
)

type idleBench struct {
	commonFlags
	nodes    int
	duration time.Duration
	settle   time.Duration
	bareBin  string
}

// runIdle is section 4: a small mesh of nodes with every probe on and a
// mesh of bare libp2p hosts (bench/cmd/barehost) of the same size run side
// by side, so whatever else loads the machine loads both alike; each
// process's CPU time and RSS are read from /proc over the same window.
func runIdle(ctx context.Context, args []string, log io.Writer) error {
	b := idleBench{}
	fs := newFlags("idle", log)
	b.register(fs)
	fs.IntVar(&b.nodes, "n", 3, "processes in each mesh (a node alone would have no peer to probe)")
	fs.DurationVar(&b.duration, "d", 60*time.Second, "measurement window")
	fs.DurationVar(&b.settle, "settle", 15*time.Second, "wait after convergence before measuring (first DHT probes, mesh set-up)")
	fs.StringVar(&b.bareBin, "bare-bin", "bin/bench-barehost", "the bare libp2p host")
	if err := fs.Parse(args); err != nil {
		return err
	}
	res := results.Idle{Header: b.header("idle")}
	err := b.run(ctx, &res, log)
	if err != nil {
		res.Notes = append(res.Notes, "incomplete: "+err.Error())
	}
	finish(&res.Header)
	if werr := results.Write(b.out, results.FileIdle, res); werr != nil {
		return werr
	}
	return err
}

type measured struct {
	kind, name string
	pid        int
}

func (b *idleBench) run(ctx context.Context, res *results.Idle, log io.Writer) error {
	dir := filepath.Join(b.work, "idle")
	opts := b.testnetOpts(log)
	t, err := upTestnet(ctx, testnet.UpOptions{Dir: dir, N: b.nodes, Mode: testnet.ModeLocal, NodeBin: b.nodeBin, ReadyTimeout: 120 * time.Second}, opts, log)
	if err != nil {
		return err
	}
	defer downTestnet(ctx, dir, opts, log)
	defer t.Close()
	bare, stopBare, err := startBareMesh(b.bareBin, b.nodes, bareOptions{})
	defer stopBare()
	if err != nil {
		return err
	}
	var ss settleState
	if _, _, err := waitFor(ctx, t, 500*time.Millisecond, 120*time.Second, settledCond(watch.Ready, &ss)); err != nil {
		res.Notes = append(res.Notes, "the node mesh did not converge before the measurement: "+err.Error())
	}
	if err := sleep(ctx, b.settle); err != nil {
		return err
	}
	st, err := t.State()
	if err != nil {
		return err
	}
	var procs []measured
	for _, n := range st.Nodes {
		procs = append(procs, measured{results.KindNode, n.Name, n.PID})
	}
	for i, h := range bare {
		procs = append(procs, measured{results.KindBare, fmt.Sprintf("bare%d", i), h.cmd.Process.Pid})
	}
	samples, err := sampleProcs(ctx, procs, b.duration, time.Second)
	res.DurationSeconds = b.duration.Seconds()
	res.Procs = samples
	return err
}

// sampleProcs reads every process's CPU time at both ends of the window
// and its RSS every period in between.
func sampleProcs(ctx context.Context, procs []measured, window, period time.Duration) ([]results.ProcSample, error) {
	cpu0 := make([]time.Duration, len(procs))
	for i, p := range procs {
		c, err := procfs.CPUTime(p.pid)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		cpu0[i] = c
	}
	start := time.Now()
	out := make([]results.ProcSample, len(procs))
	for i, p := range procs {
		out[i] = results.ProcSample{Kind: p.kind, Name: p.name}
	}
	rssSum := make([]float64, len(procs))
	for time.Since(start) < window {
		if err := sleep(ctx, period); err != nil {
			return nil, err
		}
		for i, p := range procs {
			if rss, err := procfs.RSS(p.pid); err == nil {
				rssSum[i] += float64(rss)
				out[i].Samples++
				out[i].RSSMaxB = max(out[i].RSSMaxB, rss)
			}
		}
	}
	wall := time.Since(start)
	for i, p := range procs {
		c, err := procfs.CPUTime(p.pid)
		if err != nil {
			return out, fmt.Errorf("%s ended during the measurement: %w", p.name, err)
		}
		out[i].CPUShare = float64(c-cpu0[i]) / float64(wall)
		if out[i].Samples > 0 {
			out[i].RSSMeanB = rssSum[i] / float64(out[i].Samples)
		}
	}
	return out, nil
}

// bareOptions say how a bare mesh is wired. With all false every host is
// bootstrapped from the first, as the local testnet does with nodes; with
// all true each host dials up to dial hosts started before it, picked at
// random, as mDNS makes netns nodes find each other. ConnLow and ConnHigh
// are the hosts' connection-manager watermarks (0: barehost's defaults).
type bareOptions struct {
	all               bool
	dial              int
	connLow, connHigh int
}

// bareHost is one running bare host and its stdout, whose last line is
// its latest "peers N" report.
type bareHost struct {
	cmd *exec.Cmd
	out *firstLine
}

// peers is the host's last reported connected-peer count (-1: none yet).
func (h bareHost) peers() int {
	var n int
	if _, err := fmt.Sscanf(h.out.Last(), "peers %d", &n); err != nil {
		return -1
	}
	return n
}

// startBareMesh starts n bare hosts on loopback, wired as o says.
func startBareMesh(bin string, n int, o bareOptions) ([]bareHost, func(), error) {
	var hosts []bareHost
	stop := func() {
		for _, h := range hosts {
			stopProcess(h.cmd, 5*time.Second)
		}
	}
	var addrs []string
	for i := 0; i < n; i++ {
		args := []string{"-listen", "/ip4/127.0.0.1/tcp/0", "-listen", "/ip4/127.0.0.1/udp/0/quic-v1"}
		if o.connLow > 0 && o.connHigh > 0 {
			args = append(args, "-conn-low", fmt.Sprint(o.connLow), "-conn-high", fmt.Sprint(o.connHigh))
		}
		boot := addrs
		if !o.all && len(addrs) > 0 {
			boot = addrs[:1]
		}
		if o.all && o.dial > 0 && len(boot) > o.dial {
			boot = slices.Clone(boot)
			mrand.Shuffle(len(boot), func(a, b int) { boot[a], boot[b] = boot[b], boot[a] })
			boot = boot[:o.dial]
		}
		for _, b := range boot {
			args = append(args, "-bootstrap", b)
		}
		cmd := exec.Command(bin, args...)
		cmd.Stderr = os.Stderr
		out := newFirstLine()
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			return hosts, stop, fmt.Errorf("start %s: %w (build it with go build -o %s ./bench/cmd/barehost)", bin, err, bin)
		}
		hosts = append(hosts, bareHost{cmd, out})
		select {
		case l := <-out.line:
			addr, ok := strings.CutPrefix(l, "addr ")
			if !ok {
				return hosts, stop, fmt.Errorf("barehost said %q, want \"addr MULTIADDR\"", l)
			}
			addrs = append(addrs, addr)
		case <-time.After(15 * time.Second):
			return hosts, stop, fmt.Errorf("barehost %d did not start within 15s", i)
		}
	}
	return hosts, stop, nil
}
