package shutdown

import "go.uber.org/fx"

// Module provides the *Manager from a Config, a prometheus.Registerer and a
// *slog.Logger in the graph. It appends no fx lifecycle hooks on purpose:
// fx starts the node's parts, the Manager alone stops them (one stop path).
// The node wires it as health.CriticalHandler and calls HandleSignals.
var Module = fx.Module("shutdown", fx.Provide(New))
