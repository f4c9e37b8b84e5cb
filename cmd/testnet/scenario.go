package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

func (c *cli) scenario(ctx context.Context, args []string) int {
	o := testnet.ScenarioOptions{Out: c.stdout}
	var mode string
	var nodeArgs repeated
	fs := c.upFlags("scenario", &o.Up, &mode, &nodeArgs)
	fs.StringVar(&o.Report, "report", "", "JSON report path (default DIR/report-NAME.json)")
	fs.DurationVar(&o.HoldFor, "duration", 0, "replaces every hold step's for: (soak --duration 10m)")
	fs.DurationVar(&o.Hold, "hold", 0, "runs the scenario's optional holds for this long (scale --hold 10m); without it they are skipped")
	fs.BoolVar(&o.Keep, "keep", false, "leave a testnet the scenario started running at the end")
	list := fs.Bool("list", false, "list the built-in scenarios")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: testnet scenario NAME|FILE [flags]")
		fmt.Fprintf(c.stderr, "built-in: %s\n", strings.Join(testnet.Builtins(), ", "))
		fmt.Fprintln(c.stderr, "With no testnet up in DIR, the scenario starts one (-n, --mode, or its testnet: section) and stops it at the end.")
		fs.PrintDefaults()
	}
	pos, rest, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if *list {
		for _, name := range testnet.Builtins() {
			b, _ := testnet.Builtin(name)
			sc, err := testnet.ParseScenario(b, "builtin")
			if err != nil {
				return c.fail(err)
			}
			fmt.Fprintf(c.stdout, "%-18s %s\n", name, sc.Description)
		}
		return exitOK
	}
	if len(pos) != 1 {
		return c.usageErr(fs, "scenario takes one NAME or FILE")
	}
	sc, err := testnet.LoadScenario(pos[0])
	if err != nil {
		return c.fail(err)
	}
	// -n and --mode apply only when given: otherwise the scenario's own
	// testnet: section decides.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["n"] {
		o.Up.N = 0
	}
	if set["mode"] {
		m, err := testnet.ParseMode(mode)
		if err != nil {
			return c.usageErr(fs, "%v", err)
		}
		o.Up.Mode = m
	}
	o.Dir = c.dir
	o.Up.NodeArgs = append(nodeArgs, rest...)
	if o.Up.ReadyTimeout == 0 {
		o.Up.ReadyTimeout = time.Millisecond
	}
	_, err = testnet.RunScenario(ctx, sc, o, c.opts())
	var f *testnet.StepFailure
	if errors.As(err, &f) {
		fmt.Fprintf(c.stderr, "testnet: scenario %s failed: %v\n", sc.Name, f)
		return exitFail
	}
	if err != nil {
		return c.fail(err)
	}
	return exitOK
}
