package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // a command failed, or a scenario step did not hold
	exitUsage = 2
)

// defaultDir is shared by every command, so `up` then `status` need no
// --dir.
func defaultDir() string {
	if d := os.Getenv("MESHHEALTH_TESTNET_DIR"); d != "" {
		return d
	}
	return "/tmp/meshhealth-testnet"
}

type cli struct {
	stdout, stderr io.Writer
	dir            string
	verbose        bool
	progressDone   func()
}

type command struct {
	name, args, help string
	run              func(c *cli, ctx context.Context, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"up", "-n N [--mode local|netns] [-- NODE-FLAGS...]", "start N nodes, wait until they are ready, print the status table", (*cli).up},
		{"status", "[--json] [--watch]", "node, peer ID, address, status, scores, leader, term", (*cli).status},
		{"chaos", "ACTION NODE... | fault NODE COMPONENT FAULT | fault NODE clear", "kill, stop, cont, restart, partition, heal, fault", (*cli).chaos},
		{"scenario", "NAME|FILE [--report FILE] [--duration D]", "run a built-in scenario or a YAML file; exit 1 if a step fails", (*cli).scenario},
		{"sim", "[-n N] [--seed S] [--scenario NAME|FILE] [--report FILE] [--duration D] [--hold D] [-- NODE_FLAGS]", "N real nodes in one process over simulated links, in virtual time", (*cli).sim},
		{"logs", "NODE [-f]", "print a node's log; -f follows it", (*cli).logs},
		{"down", "[--purge]", "stop the nodes, remove namespaces, links and bridge", (*cli).down},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		c.usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, cmd := range commands {
		if cmd.name == args[0] {
			return cmd.run(c, ctx, args[1:])
		}
	}
	fmt.Fprintf(stderr, "testnet: unknown command %q\n", args[0])
	c.usage(stderr)
	return exitUsage
}

func (c *cli) usage(w io.Writer) {
	fmt.Fprintln(w, "usage: testnet COMMAND [--dir DIR] [flags]")
	fmt.Fprintln(w)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-9s %s\n            %s\n", cmd.name, cmd.args, cmd.help)
	}
	fmt.Fprintf(w, "\nbuilt-in scenarios: %s\n", strings.Join(testnet.Builtins(), ", "))
	fmt.Fprintf(w, "DIR defaults to $MESHHEALTH_TESTNET_DIR or /tmp/meshhealth-testnet; see docs/TESTNET.md\n")
}

// flags returns a flag set with the flags every command has.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("testnet "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.StringVar(&c.dir, "dir", defaultDir(), "testnet directory: state, node data and logs, reports")
	fs.BoolVar(&c.verbose, "v", false, "log the testnet's own actions to stderr")
	return fs
}

// parse lets flags and positional arguments mix (`chaos kill 2 --dir X`)
// and returns what follows a "--" separately.
func (c *cli) parse(fs *flag.FlagSet, args []string) (pos, rest []string, code int) {
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, nil, exitOK
			}
			return nil, nil, exitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, rest, -1
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

func (c *cli) opts() testnet.Options {
	o := testnet.Options{}
	if c.verbose {
		o.Log = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "testnet: %v\n", err)
	return exitFail
}

func (c *cli) usageErr(fs *flag.FlagSet, format string, a ...any) int {
	fmt.Fprintf(c.stderr, "testnet: "+format+"\n", a...)
	fs.Usage()
	return exitUsage
}

// isTerminal reports whether w is a character device: progress is redrawn
// in place there and printed as lines elsewhere.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// repeated is a repeatable string flag.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, " ") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
