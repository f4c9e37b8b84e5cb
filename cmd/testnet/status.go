package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

func (c *cli) status(ctx context.Context, args []string) int {
	fs := c.flags("status")
	asJSON := fs.Bool("json", false, "print JSON instead of the table (with --watch, one document per line)")
	watch := fs.Bool("watch", false, "redraw every interval until Ctrl-C")
	every := fs.Duration("interval", time.Second, "--watch redraw interval")
	pos, _, code := c.parse(fs, args)
	if code >= 0 {
		return code
	}
	if len(pos) > 0 {
		return c.usageErr(fs, "status takes no arguments, got %q", pos)
	}
	t, err := testnet.Open(c.dir, c.opts())
	if err != nil {
		return c.fail(err)
	}
	defer t.Close()
	for {
		nodes, err := t.Observe(ctx, testnet.Scrape{Metrics: true, Summary: true})
		if err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return c.fail(err)
		}
		var buf bytes.Buffer
		if *asJSON {
			enc := json.NewEncoder(&buf)
			if !*watch {
				enc.SetIndent("", "  ")
			}
			enc.Encode(nodes)
		} else {
			if *watch {
				// Home and clear, then the whole frame in one write, so the
				// table does not flicker.
				buf.WriteString("\033[H\033[2J")
			}
			testnet.RenderTable(&buf, nodes)
			if *watch {
				fmt.Fprintf(&buf, "%s  %s  every %v, Ctrl-C to quit\n", time.Now().Format("15:04:05"), c.dir, *every)
			}
		}
		c.stdout.Write(buf.Bytes())
		if !*watch {
			return exitOK
		}
		select {
		case <-ctx.Done():
			return exitOK
		case <-time.After(*every):
		}
	}
}
