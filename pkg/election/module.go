package election

import (
	"context"

	"go.uber.org/fx"
)

// Module provides *Election to the node and ties it to the fx lifecycle:
// started with the app, closed at stop. It needs a Config, the node's
// *pubsub.PubSub, its peer.ID, a LocalView, the shared *wire.Metrics, a
// prometheus.Registerer and a *slog.Logger in the graph. The graceful
// hand-over is not here: the shutdown manager's pre-shutdown hook calls
// Resign, before the stop hooks run.
var Module = fx.Module("election",
	fx.Provide(New),
	fx.Invoke(func(lc fx.Lifecycle, e *Election) {
		lc.Append(fx.Hook{
			OnStart: e.Start,
			OnStop:  func(context.Context) error { return e.Close() },
		})
	}),
)
