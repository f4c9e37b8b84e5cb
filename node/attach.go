package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	record "github.com/libp2p/go-libp2p-record"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// RecordNamespace is the DHT key namespace of the DHT probe's records. An
// application that attaches meshhealth to its own DHT registers
// RecordValidator under it when it builds the DHT:
//
//	dht.NamespacedValidator(node.RecordNamespace, node.RecordValidator())
const RecordNamespace = probes.RecordNamespace

// RecordValidator accepts only probe records signed by their origin.
func RecordValidator() record.Validator { return probes.RecordValidator{} }

// Attached is meshhealth running inside a go-libp2p application, on the
// application's own host (and, when given, its GossipSub and DHT): the same
// composition as the meshhealth process (probes, liveness view, election,
// summaries, health manager and shutdown manager, on one fx lifecycle),
// without a second node and without an HTTP listener of its own.
//
// It stops when the application closes it, or by itself on a confirmed
// critical failure (when Health.ShutdownOnCritical is set), as a node
// process exits with code 3: it stops this node only, never the process,
// and Wait reports the code and the reason.
type Attached struct {
	parts Node
	sm    *shutdown.Manager
}

// Attach builds meshhealth around env.Host and starts it. With env.PubSub
// and env.DHT it uses the application's own GossipSub (which must sign
// strictly, pubsub.StrictSign) and DHT (which must hold RecordValidator
// under RecordNamespace); without them it builds its own on the host, as
// the process does. cfg is validated as the process's would be; its HTTP
// address is not bound: serve Handler. The node's lifetime is Close's, not
// ctx's, which bounds only the start.
//
// The host's identity is the node's (cfg.P2P.DataDir keeps no key here,
// only the restart-loop guard's history); discovery is the application's,
// plus cfg.P2P.Bootstrap and mDNS if cfg says so.
func Attach(ctx context.Context, cfg Config, env Env, log *slog.Logger) (*Attached, error) {
	if env.Host == nil {
		return nil, errors.New("attach: no host")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if env.Registry == nil {
		env.Registry = NewRegistry()
	}
	env.HandlerOnly = true
	sc := cfg.ShutdownConfig()
	// A second stop request never ends the application's process.
	sc.Exit = func(int) {}
	sm := shutdown.New(sc, env.Registry, log)
	if err := sm.CheckGuard(); err != nil {
		return nil, fmt.Errorf("attach: %w", err)
	}
	a := &Attached{sm: sm}
	_, err := StartApp(ctx, sm, Options(cfg, env, sm, log), fx.Invoke(func(n Node) { a.parts = n }))
	if err != nil {
		sm.Shutdown("start-up error", shutdown.ExitFatal)
		sm.Wait()
		return nil, fmt.Errorf("attach: %s", StartupError(err))
	}
	return a, nil
}

// Handler serves /health (and /health/ready, /health/live, /health/events,
// /health/mesh), /metrics and, when enabled, /debug/fault, as the process
// does on its HTTP address. Mount it at the root of a mux: its paths are
// absolute.
func (a *Attached) Handler() http.Handler { return a.parts.HTTP.Handler() }

// Parts are the running node's parts: its health manager (Snapshot,
// Subscribe), election, liveness view and summaries (Mesh), registry.
func (a *Attached) Parts() Node { return a.parts }

// Stop asks the node to stop for reason with code, as a signal or a
// critical failure would; the first request wins. It does not wait.
func (a *Attached) Stop(reason string, code int) { a.sm.Shutdown(reason, code) }

// Done is closed once the node has stopped, for whatever reason.
func (a *Attached) Done() <-chan struct{} { return a.sm.Done() }

// Wait blocks until the node has stopped and returns the code its process
// would have exited with (0 closed, 3 a confirmed critical failure) and
// the reason that won.
func (a *Attached) Wait() (code int, reason string) { return a.sm.Wait() }

// Close stops the node gracefully (it resigns leadership and says goodbye
// first) and waits. The application's GossipSub, DHT and host stay open
// when it gave all three; a node given only a host built GossipSub and the
// DHT on it and owns them with the host, so it closes the host too.
func (a *Attached) Close() error {
	a.sm.Shutdown("closed by the application", shutdown.ExitOK)
	if code, reason := a.sm.Wait(); code != shutdown.ExitOK {
		return fmt.Errorf("node had stopped already: %s (code %d)", reason, code)
	}
	return nil
}
