package shutdown

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// HandleSignals makes SIGINT and SIGTERM shut the node down with ExitOK and
// reason "signal: SIGTERM" (or SIGINT). A second signal calls Config.Exit
// with ExitForced at once: an operator pressing Ctrl-C twice, or a
// supervisor out of patience, gets the process gone.
//
// It returns as soon as the handler is installed (so a signal sent right
// after cannot kill the process) and listens until ctx is done.
func (m *Manager) HandleSignals(ctx context.Context) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
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
	default:
		return s.String()
	}
}
