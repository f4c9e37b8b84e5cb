package p2p

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
)

// Module provides the running *Node from the Config, the identity key
// (crypto.PrivKey, see LoadOrCreateIdentity), the prometheus.Registerer and
// the *slog.Logger in the graph; Options are taken if the graph has them.
// It appends no fx lifecycle hooks on purpose: the shutdown manager alone
// stops the node, through Node.Close.
var Module = fx.Module("p2p", fx.Provide(provide))

type moduleIn struct {
	fx.In
	Config   Config
	Key      crypto.PrivKey
	Registry prometheus.Registerer
	Log      *slog.Logger
	Options  Options `optional:"true"`
}

func provide(in moduleIn) (*Node, error) {
	return New(in.Config, in.Key, in.Registry, in.Options, in.Log)
}

// New validates cfg and starts a node on a new host: NewHost then Start,
// with a fresh Gater. The node runs until Close.
func New(cfg Config, key crypto.PrivKey, reg prometheus.Registerer, opts Options, log *slog.Logger) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("p2p config: %w", err)
	}
	if opts.Registerer == nil {
		opts.Registerer = reg
	}
	gater := NewGater()
	h, err := NewHost(cfg, key, gater, reg)
	if err != nil {
		return nil, err
	}
	// The node's lifetime is Close's, not the start-up context's.
	n, err := Start(context.Background(), h, cfg, gater, opts, log)
	if err != nil {
		h.Close()
		return nil, err
	}
	return n, nil
}
