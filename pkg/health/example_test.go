package health_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/prometheus/client_golang/prometheus"
)

func ExampleManager() {
	cfg := health.DefaultConfig()
	cfg.NodeID, cfg.Version = "12D3KooW...", "v0.1.0"
	m, err := health.NewManager(cfg, nil, prometheus.NewRegistry(), slog.Default())
	if err != nil {
		panic(err)
	}
	_ = m.Register(health.Check{
		Name:      "p2p-connectivity",
		Component: health.ComponentP2P,
		Critical:  true,
		Checker: func(ctx context.Context) health.Result {
			return health.Result{Healthy: true, Message: "3 peers connected"}
		},
	})

	mux := http.NewServeMux()
	mux.Handle("/health", m.Handler())
	mux.Handle("/health/", m.Handler())

	fmt.Println(m.Status()) // until Start and the first results
	// Output: starting
}
