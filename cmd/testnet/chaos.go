package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/meshhealth/meshhealth/testnet"
)

func (c *cli) chaos(ctx context.Context, args []string) int {
	fs := c.flags("chaos")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "usage: testnet chaos kill|stop|cont|restart|partition|heal NODE... [--dir DIR]")
		fmt.Fprintln(c.stderr, "       testnet chaos fault NODE COMPONENT FAULT | fault NODE clear")
		fmt.Fprintln(c.stderr, "NODE: a number, nodeN, leader or any-follower")
		fs.PrintDefaults()
	}
	pos, _, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) < 2 {
		return c.usageErr(fs, "chaos needs an action and a node")
	}
	action, targets := pos[0], pos[1:]
	var component, fault string
	switch {
	case action == testnet.ChaosFault && len(targets) == 2 && targets[1] == "clear":
		action, targets = testnet.ChaosClear, targets[:1]
	case action == testnet.ChaosFault && len(targets) == 3:
		component, fault, targets = targets[1], targets[2], targets[:1]
	case action == testnet.ChaosFault:
		return c.usageErr(fs, "fault takes NODE COMPONENT FAULT (such as 2 pubsub drop-inbound) or NODE clear")
	case !slices.Contains(testnet.ChaosActions, action):
		return c.usageErr(fs, "unknown action %q; known: %s", action, strings.Join(testnet.ChaosActions, ", "))
	}
	t, err := testnet.Open(c.dir, c.opts())
	if err != nil {
		return c.fail(err)
	}
	defer t.Close()
	failed := false
	for _, sel := range targets {
		i, err := t.Resolve(ctx, sel)
		if err != nil {
			c.fail(err)
			failed = true
			continue
		}
		ch := testnet.Chaos{Action: action, Node: i, Component: component, Fault: fault}
		if err := t.Apply(ctx, ch); err != nil {
			c.fail(err)
			failed = true
			continue
		}
		fmt.Fprintf(c.stdout, "%s: done\n", ch)
	}
	if failed {
		return exitFail
	}
	return exitOK
}
