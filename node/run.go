package node

import (
	"context"
	"log/slog"
	"os"

	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// Run starts a node and blocks until it has stopped, returning the exit
// code and the reason that won. SIGINT/SIGTERM/SIGHUP stop it with code 0,
// a confirmed critical failure with 3, a start-up error with 1.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (code int, reason string) {
	return RunWithSignals(ctx, cfg, log, nil)
}

// RunWithSignals is Run with the signals caught since sigs was made by
// shutdown.CatchSignals (nil: caught from now on).
func RunWithSignals(ctx context.Context, cfg Config, log *slog.Logger, sigs chan os.Signal) (code int, reason string) {
	reg := NewRegistry()
	sm := shutdown.New(cfg.ShutdownConfig(), reg, log)
	if sigs == nil {
		sigs = shutdown.CatchSignals()
	}
	sm.HandleSignalsFrom(ctx, sigs)

	// Nothing has started yet, so a failure here stops nothing: it is the
	// one line main logs.
	release, err := lockDataDir(cfg.P2P.DataDir)
	if err != nil {
		return shutdown.ExitFatal, "start-up: " + err.Error()
	}
	defer release()
	if err := checkWritable(cfg.P2P.DataDir); err != nil {
		return shutdown.ExitFatal, "start-up: " + err.Error()
	}
	if err := sm.CheckGuard(); err != nil {
		return shutdown.ExitFatal, "start-up: " + err.Error()
	}

	if _, err := StartApp(ctx, sm, Options(cfg, Env{Registry: reg}, sm, log)); err != nil {
		return startFailed(sm, err)
	}
	log.Info("node started", "version", Version, "http", cfg.HTTP)
	return sm.Wait()
}

// startFailed runs the shutdown for err (StartApp has already stopped or
// closed whatever the failed build or start had opened) and returns err as
// one line for main's "node stopped" line: the shutdown is told only
// "start-up error", so the cause is logged once, not once per line.
func startFailed(sm *shutdown.Manager, err error) (int, string) {
	sm.Shutdown("start-up error", shutdown.ExitFatal)
	code, reason := sm.Wait()
	if code != shutdown.ExitFatal {
		// A signal came first: that is the reason the node stopped.
		return code, reason
	}
	return code, "start-up: " + StartupError(err)
}

// ShutdownConfig is the shutdown manager's section, with the data
// directory it keeps the restart-loop guard's history in.
func (c Config) ShutdownConfig() shutdown.Config {
	s := c.Shutdown
	s.DataDir = c.P2P.DataDir
	return s
}
