package summary

import (
	"log/slog"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// Params are the Book's dependencies as the node's fx graph supplies them.
type Params struct {
	fx.In
	Topic      Topic
	Self       peer.ID
	Source     Source
	Config     Config `optional:"true"`
	Registerer prometheus.Registerer
	Logger     *slog.Logger `optional:"true"`
}

// Module provides the *Book and starts it with the application. The node
// calls Goodbye in its shutdown sequence, then Close; the stop hook here is
// only a safety net (Close is idempotent).
var Module = fx.Module("summary",
	fx.Provide(func(p Params) (*Book, error) {
		return New(p.Topic, p.Self, p.Source, p.Config, p.Registerer, p.Logger)
	}),
	fx.Invoke(func(lc fx.Lifecycle, b *Book) {
		lc.Append(fx.StartStopHook(b.Start, b.Close))
	}),
)
