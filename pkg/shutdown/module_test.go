package shutdown

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func TestModuleProvidesAManager(t *testing.T) {
	var m *Manager
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(DefaultConfig(), slog.New(slog.DiscardHandler)),
		fx.Provide(func() prometheus.Registerer { return prometheus.NewRegistry() }),
		Module,
		fx.Populate(&m),
	)
	app.RequireStart().RequireStop()
	if m == nil {
		t.Fatal("no manager provided")
	}
}

// The Manager must satisfy health.CriticalHandler without importing it.
var _ interface {
	HandleCritical(reason string) (stopping bool)
} = (*Manager)(nil)
