package election

import (
	"log/slog"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

func TestModuleStartsAndStopsWithTheApp(t *testing.T) {
	c := newCluster(t, 0, 1, fastConfig())
	raw := c.raw()[0]
	// The raw peer joined the topic; leave it so the module can.
	if err := raw.topic.Close(); err != nil {
		t.Fatal(err)
	}
	var e *Election
	app := fxtest.New(t,
		fx.Supply(fastConfig(), raw.ps, raw.host.ID()),
		fx.Provide(
			func() LocalView { return newFakeView() },
			func() *wire.Metrics { return wire.NewMetrics(nil) },
			func() prometheus.Registerer { return prometheus.NewRegistry() },
			func() *slog.Logger { return slog.New(slog.DiscardHandler) },
		),
		Module,
		fx.Populate(&e),
	)
	app.RequireStart()
	c.eventually("a one-node mesh leads itself", 10*time.Second, func() bool { return e.State().IsLeader })
	app.RequireStop()
	// Stopped means the topic is free again.
	e2, err := New(fastConfig(), raw.ps, raw.host.ID(), newFakeView(), nil, nil, nil)
	if err != nil {
		t.Fatalf("topic still held after stop: %v", err)
	}
	_ = e2.Close()
}
