package main

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

func (c *cli) logs(ctx context.Context, args []string) int {
	fs := c.flags("logs")
	follow := fs.Bool("f", false, "keep printing what the node writes, until Ctrl-C")
	pos, _, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) != 1 {
		return c.usageErr(fs, "logs takes one NODE")
	}
	t, err := testnet.Open(c.dir, c.opts())
	if err != nil {
		return c.fail(err)
	}
	defer t.Close()
	i, err := t.Resolve(ctx, pos[0])
	if err != nil {
		return c.fail(err)
	}
	st, err := t.State()
	if err != nil {
		return c.fail(err)
	}
	f, err := os.Open(st.Nodes[i].Log)
	if err != nil {
		return c.fail(err)
	}
	defer f.Close()
	for {
		if _, err := io.Copy(c.stdout, f); err != nil {
			return c.fail(err)
		}
		if !*follow {
			return exitOK
		}
		// The log is only ever appended (a restart appends too), so
		// polling from the last position is enough.
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(200 * time.Millisecond):
		}
	}
}
