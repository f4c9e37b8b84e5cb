package node

import (
	"context"
	"log/slog"

	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// Run starts a node and blocks until it has stopped, returning the exit
// code and the reason that won. SIGINT/SIGTERM stop it with code 0, a
// confirmed critical failure with 3, a start-up error with 1.
func Run(ctx context.Context, cfg Config, log *slog.Logger) (code int, reason string) {
	reg := NewRegistry()
	sm := shutdown.New(shutdownConfig(cfg), reg, log)
	sm.HandleSignals(ctx)
	app := fx.New(Options(cfg, Env{Registry: reg}, sm, log))
	if err := app.Err(); err != nil {
		sm.Shutdown("fatal start-up error: "+err.Error(), shutdown.ExitFatal)
		return sm.Wait()
	}
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		sm.Shutdown("fatal start-up error: "+err.Error(), shutdown.ExitFatal)
		return sm.Wait()
	}
	log.Info("node started", "version", Version, "http", cfg.HTTP)
	return sm.Wait()
}

func shutdownConfig(c Config) shutdown.Config {
	s := shutdown.DefaultConfig()
	s.Timeout = c.ShutdownTimeout
	s.DataDir = c.DataDir
	return s
}
