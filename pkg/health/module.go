package health

import (
	"go.uber.org/fx"
)

// Module provides the *Manager (from a Config, a prometheus.Registerer and a
// *slog.Logger supplied by the node) and starts it with the application.
// Probes register their checks from their own modules, which fx runs before
// any start hook. The shutdown manager stops the manager in its own phase;
// the stop hook here is only a safety net (Stop is idempotent).
var Module = fx.Module("health",
	fx.Provide(NewManager),
	fx.Invoke(func(lc fx.Lifecycle, m *Manager) {
		lc.Append(fx.StartStopHook(m.Start, m.Stop))
	}),
)
