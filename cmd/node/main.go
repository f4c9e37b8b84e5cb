// Command meshhealth runs one meshhealth node: a libp2p host with GossipSub
// and a Kademlia DHT, active health probes through the mesh, a leader
// election, and /health, /metrics endpoints.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"

	"github.com/meshhealth/meshhealth/node"
)

func main() { os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr)) }

// Exit codes beyond the shutdown manager's 0/1/3/130.
const exitConfig = 2

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, action, err := node.Parse(args, getenv, stderr)
	if err != nil {
		printLines(stderr, "meshhealth: ", err)
		return exitConfig
	}
	switch action {
	case node.ActionHelp:
		return 0
	case node.ActionVersion:
		fmt.Fprintf(stdout, "meshhealth %s %s\n", node.Version, runtime.Version())
		return 0
	}
	// Validate before --print-config too, so the printed file is one the
	// node would accept.
	if err := cfg.Validate(); err != nil {
		printLines(stderr, "meshhealth: config: ", err)
		return exitConfig
	}
	if action == node.ActionPrintConfig {
		fmt.Fprint(stdout, cfg.YAML())
		return 0
	}
	log := node.NewLogger(cfg, stderr)
	code, reason := node.Run(context.Background(), cfg, log)
	level := slog.LevelInfo
	if code != 0 {
		level = slog.LevelError
	}
	// The testnet reads the exit code and reason from this line.
	log.Log(context.Background(), level, "node stopped", "exit_code", code, "reason", reason)
	return code
}

func printLines(w io.Writer, prefix string, err error) {
	for _, l := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(w, prefix+l)
	}
}
