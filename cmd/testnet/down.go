package main

import (
	"context"
	"fmt"

	"github.com/meshhealth/meshhealth/testnet"
)

func (c *cli) down(ctx context.Context, args []string) int {
	fs := c.flags("down")
	o := testnet.DownOptions{}
	fs.DurationVar(&o.Grace, "grace", testnet.DefaultDownGrace, "time between SIGTERM and SIGKILL")
	fs.BoolVar(&o.Purge, "purge", false, "also remove the logs, data dirs and reports (and DIR when nothing else is in it)")
	pos, _, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr(fs, "down takes no arguments, got %q", pos)
	}
	o.Report = func(name, how string) { fmt.Fprintf(c.stdout, "%s: %s\n", name, how) }
	// Down must finish even after a Ctrl-C: a half-removed testnet is
	// worse than a slow one.
	if err := testnet.Down(context.WithoutCancel(ctx), c.dir, o, c.opts()); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stdout, "testnet in %s is down\n", c.dir)
	return exitOK
}
