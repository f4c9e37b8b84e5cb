package health

import (
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func TestModuleStartsAndStopsTheManager(t *testing.T) {
	var m *Manager
	app := fxtest.New(t,
		fx.NopLogger,
		fx.Supply(testConfig(), fx.Annotate(prometheus.NewRegistry(), fx.As(new(prometheus.Registerer))), slog.New(slog.DiscardHandler)),
		Module,
		fx.Invoke(func(mgr *Manager) error {
			return mgr.Register(Check{Name: "p2p-connectivity", Component: ComponentP2P, Checker: newToggle(true).check})
		}),
		fx.Populate(&m),
	)
	app.RequireStart()
	if m.phase.Load() != phaseRunning {
		t.Fatal("the manager did not start with the app")
	}
	app.RequireStop()
	if m.phase.Load() == phaseRunning {
		t.Fatal("the manager still runs after the app stopped")
	}
	m.Stop() // the shutdown manager may stop it too: idempotent
}
