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
	via := fs.String("via", "", "also draw the mesh as this node sees it (its /health/mesh), above the per-node table: a number, nodeN, leader or any-follower")
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
	viaIdx := -1
	if *via != "" {
		if viaIdx, err = t.Resolve(ctx, *via); err != nil {
			return c.fail(err)
		}
	}
	for {
		nodes, err := t.Observe(ctx, testnet.Scrape{Metrics: true, Summary: true})
		if err != nil {
			if ctx.Err() != nil {
				return exitOK
			}
			return c.fail(err)
		}
		var buf bytes.Buffer
		// The one node's view is drawn beside everyone's own answers, so
		// the two cross-check each other.
		var mesh any
		if viaIdx >= 0 {
			m, st, err := t.MeshVia(ctx, viaIdx)
			if *asJSON {
				mesh = m
				if err != nil {
					mesh = map[string]string{"error": err.Error()}
				}
			} else {
				if *watch {
					// Home and clear, then the whole frame in one write, so
					// the table does not flicker.
					buf.WriteString("\033[H\033[2J")
				}
				if err != nil {
					fmt.Fprintf(&buf, "via node%d: %v\n\n", viaIdx, err)
				} else {
					testnet.RenderMeshTable(&buf, st, fmt.Sprintf("node%d", viaIdx), m)
					buf.WriteString("\n")
				}
			}
		}
		if *asJSON {
			enc := json.NewEncoder(&buf)
			if !*watch {
				enc.SetIndent("", "  ")
			}
			if viaIdx >= 0 {
				enc.Encode(map[string]any{"via": mesh, "nodes": nodes})
			} else {
				enc.Encode(nodes)
			}
		} else {
			if *watch && viaIdx < 0 {
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
