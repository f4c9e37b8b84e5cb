// Command testnet runs many meshhealth nodes on this machine as a LAN,
// breaks them on purpose and reports what the health system saw.
//
//	testnet up -n 5 --mode local --dir DIR     start nodes, wait until ready
//	testnet status [--json] [--watch]          the status table
//	testnet chaos kill|stop|cont|restart|partition|heal NODE...
//	testnet chaos fault NODE COMPONENT FAULT | fault NODE clear
//	testnet scenario NAME|FILE [--report FILE] run a scenario
//	testnet logs NODE [-f]                     a node's log
//	testnet sim -n N [--seed S] [--scenario NAME] simulated nodes, virtual time
//	testnet down                               stop everything, leave nothing
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
