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

	"github.com/libp2p/go-libp2p/gologshim"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

func main() {
	// First, before anything that takes time: a SIGTERM while the node is
	// still starting must stop it gracefully and be logged, not kill it.
	sigs := shutdown.CatchSignals()
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, sigs))
}

// exitConfig is the exit code of an invalid configuration: EX_CONFIG from
// sysexits.h. Not 2, which is also what the Go runtime exits with on a
// panic or SIGQUIT: a supervisor must tell a bad configuration (fix the
// config, do not restart) from a crash. The shutdown manager owns 0/1/3/130.
const exitConfig = 78

func run(args []string, getenv func(string) string, stdout, stderr io.Writer, sigs chan os.Signal) int {
	if len(args) > 0 && args[0] == "keys" {
		return node.Keys(args[1:], stdout, stderr)
	}
	cfg, action, err := node.Parse(args, getenv, stderr)
	if err != nil {
		printLines(stderr, "meshhealth: config: ", err)
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
	// go-libp2p's own logs in the node's format; before the host is built,
	// since each of its loggers picks its handler at its first line.
	gologshim.SetDefaultHandler(node.Libp2pLogHandler(cfg, stderr))
	code, reason := node.RunWithSignals(context.Background(), cfg, log, sigs)
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
