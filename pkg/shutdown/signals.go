package shutdown

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals stop the node gracefully. SIGHUP is among them: a node has
// no configuration to reload, and a closed terminal or a supervisor that
// sends it means "stop"; without a handler it would kill the process with
// no graceful shutdown and no last log line.
func stopSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} }

// CatchSignals starts catching SIGINT, SIGTERM and SIGHUP at once and
// returns the channel they arrive on, for HandleSignalsFrom. main calls it
// first thing, so that a signal that arrives while the node is still
// parsing its configuration or building its parts is kept and handled
// gracefully instead of killing the process unlogged.
func CatchSignals() chan os.Signal {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals()...)
	return ch
}

// HandleSignals makes SIGINT, SIGTERM and SIGHUP shut the node down with
// ExitOK and reason "signal: SIGTERM" (or SIGINT, SIGHUP). A second signal
// calls Config.Exit with ExitForced at once: an operator pressing Ctrl-C
// twice, or a supervisor out of patience, gets the process gone.
//
// It returns as soon as the handler is installed (so a signal sent right
// after cannot kill the process) and listens until ctx is done.
func (m *Manager) HandleSignals(ctx context.Context) { m.HandleSignalsFrom(ctx, CatchSignals()) }

// HandleSignalsFrom is HandleSignals on a channel CatchSignals returned
// earlier; a signal already waiting in it is handled at once.
func (m *Manager) HandleSignalsFrom(ctx context.Context, ch chan os.Signal) {
	go func() {
		defer signal.Stop(ch)
		received := 0
		for {
			select {
			case <-ctx.Done():
				return
			case s := <-ch:
				received++
				if received == 1 {
					m.Shutdown("signal: "+signalName(s), ExitOK)
					continue
				}
				m.log.Warn("second signal: exiting at once", "signal", signalName(s), "exit_code", ExitForced)
				m.metrics.forced.Inc()
				m.cfg.Exit(ExitForced)
				return
			}
		}
	}()
}

// signalName gives the name operators know (SIGTERM), not Go's
// description ("terminated").
func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	default:
		return s.String()
	}
}
