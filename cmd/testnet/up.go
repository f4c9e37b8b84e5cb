package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// upFlags are the flags of up, also taken by scenario for when it has to
// start its own testnet.
func (c *cli) upFlags(name string, o *testnet.UpOptions, mode *string, nodeArgs *repeated) *flag.FlagSet {
	fs := c.flags(name)
	fs.IntVar(&o.N, "n", o.N, "number of nodes")
	fs.StringVar(mode, "mode", *mode, "local (127.0.0.1, distinct ports) or netns (a namespace per node on a bridge; root)")
	fs.StringVar(&o.NodeBin, "node-bin", "bin/meshhealth", "the node binary (up builds nothing)")
	fs.StringVar(&o.Subnet, "subnet", "", "netns mode: the nodes' /24, the bridge takes .254 (default: the first /24 of 198.18.0.0/15 no interface uses)")
	fs.Var(nodeArgs, "node-arg", "a flag for every node (repeatable); or put node flags after --")
	fs.BoolVar(&o.Prometheus, "prometheus", false, "also run Prometheus (on PATH) on the targets file with the alert rules; down stops it")
	fs.StringVar(&o.PrometheusRules, "prometheus-rules", testnet.DefaultPrometheusRules, "the alert rules --prometheus loads")
	fs.BoolVar(&o.AllowList, "allow-list", false, "start the mesh with an allow-list (DIR/allow-list) naming every member; rotate it with the rotate-allow-list chaos")
	fs.IntVar(&o.Outsiders, "outsiders", 0, "make the last `K` nodes outsiders: valid identities, not on the allow-list (implies --allow-list)")
	return fs
}

func (c *cli) up(ctx context.Context, args []string) int {
	o := testnet.UpOptions{N: 5}
	mode := string(testnet.ModeLocal)
	var nodeArgs repeated
	fs := c.upFlags("up", &o, &mode, &nodeArgs)
	fs.DurationVar(&o.ReadyTimeout, "timeout", 120*time.Second, "how long to wait for every node to be ready; the nodes keep running after it")
	_, rest, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	m, err := testnet.ParseMode(mode)
	if err != nil {
		return c.usageErr(fs, "%v", err)
	}
	o.Mode, o.Dir = m, c.dir
	o.NodeArgs = append(nodeArgs, rest...)
	o.Progress = c.progress()
	fmt.Fprintf(c.stderr, "starting %d %s nodes in %s\n", o.N, o.Mode, c.dir)
	t, err := testnet.Up(ctx, o, c.opts())
	if c.progressDone != nil {
		c.progressDone()
	}
	if err != nil && !errors.Is(err, testnet.ErrNotReady) {
		return c.fail(err)
	}
	defer t.Close()
	if err != nil {
		fmt.Fprintf(c.stderr, "testnet: warning: %v; the nodes keep running (testnet status, testnet logs NODE)\n", err)
	}
	nodes, serr := t.Observe(ctx, testnet.Scrape{Metrics: true, Summary: true})
	if serr != nil {
		return c.fail(serr)
	}
	testnet.RenderTable(c.stdout, nodes)
	st, serr := t.State()
	if serr != nil {
		return c.fail(serr)
	}
	if st.ReadySeconds > 0 {
		fmt.Fprintf(c.stdout, "all %d nodes ready in %.1fs\n", len(st.Nodes), st.ReadySeconds)
	}
	fmt.Fprintf(c.stdout, "prometheus file_sd targets: %s\n", filepath.Join(st.Dir, testnet.TargetsFile))
	if p := st.Prometheus; p != nil {
		fmt.Fprintf(c.stdout, "prometheus: %s (alerts: %s/alerts, rules: %s, log: %s)\n", p.URL(), p.URL(), p.Rules, p.Log)
	}
	return exitOK
}

// progress draws the wait for readiness: one line redrawn in place on a
// terminal, a line per change elsewhere.
func (c *cli) progress() func(testnet.Progress) {
	tty := isTerminal(c.stderr)
	last := -1
	c.progressDone = func() {
		if tty && last >= 0 {
			fmt.Fprint(c.stderr, "\r\033[K")
		}
	}
	return func(p testnet.Progress) {
		line := fmt.Sprintf("waiting: %d/%d ready after %s (%s)", p.Ready, p.Total, seconds(p.Elapsed), statusCounts(p.Nodes))
		switch {
		case tty:
			fmt.Fprintf(c.stderr, "\r\033[K%s", line)
			last = p.Ready
		case p.Ready != last:
			fmt.Fprintln(c.stderr, line)
			last = p.Ready
		}
	}
}

// statusCounts is "healthy 3, starting 2".
func statusCounts(nodes []testnet.NodeStatus) string {
	counts := map[string]int{}
	for _, n := range nodes {
		counts[n.Status]++
	}
	var parts []string
	for st, n := range counts {
		parts = append(parts, fmt.Sprintf("%s %d", st, n))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}
