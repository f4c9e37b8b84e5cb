package p2p

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/prometheus/client_golang/prometheus"
)

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
