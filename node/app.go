package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	record "github.com/libp2p/go-libp2p-record"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/awareness"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Env is what differs between a node process and a node inside a test: a
// test mesh supplies mocknet hosts and faster GossipSub timings.
type Env struct {
	// Host, when set, is used instead of a host built from the configuration
	// (its identity wins over the data directory's key).
	Host host.Host
	// PubSub and DHT, when set (both, with Host), are an application's own:
	// the node joins its topics on that GossipSub and probes that DHT
	// instead of building its own, and leaves all three open when it stops
	// (Attach, p2p.Attach).
	PubSub *pubsub.PubSub
	DHT    *dht.IpfsDHT
	// Awareness configures the node's account of its own stalls; a
	// simulation in virtual time reads no kernel run-queue wait.
	Awareness awareness.Config
	// HandlerOnly binds no HTTP address: the application serves the
	// node's handler itself (Attached.Handler).
	HandlerOnly bool
	// Registry, when set, receives the metrics; otherwise a fresh one.
	Registry *prometheus.Registry
	// P2P extends the libp2p node (extra pubsub options, DHT validators).
	P2P p2p.Options
}

// Node holds a composed node's parts, for main and for tests.
type Node struct {
	fx.In
	Config   Config
	Health   *health.Manager
	Shutdown *shutdown.Manager
	P2P      *p2p.Node
	Mesh     *Mesh
	Election *election.Election
	HTTP     *HTTPServer
	Registry *prometheus.Registry
}

// Options composes every package's parts into one node; StartApp builds
// and starts it. sm is built outside fx so that a signal that arrives while
// the graph is being built or started is not lost, and so that the app's
// stop can be handed to it.
func Options(cfg Config, env Env, sm *shutdown.Manager, log *slog.Logger) fx.Option {
	reg := env.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	return fx.Options(
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.SlogLogger{Logger: log.With("component", "fx")}
			l.UseLogLevel(slog.LevelDebug)
			// fx logs a failure at every step it passes through; the node
			// logs it once, as one line (StartupError), so fx's own lines
			// are for debugging only.
			l.UseErrorLevel(slog.LevelDebug)
			return l
		}),
		fx.Supply(cfg, env, log, reg, sm),
		fx.Provide(
			func(r *prometheus.Registry) prometheus.Registerer { return r },
			func(r *prometheus.Registry) prometheus.Gatherer { return r },
			healthConfig,
			newAwareness,
			newHealth,
			newMembers,
			newP2PNode,
			newHTTPServer,
			newFaults,
			newMesh,
			newElection,
			newRecovery,
		),
		// Checks, faults and pre-shutdown hooks first; lifecycle last, so
		// that every check is registered before the health manager starts.
		fx.Invoke(wireMembers, wireShutdown, registerBasicChecks, registerOperatorChecks, registerFaults, wireElection, wireMesh, wireRecovery, registerMeshView, lifecycle),
	)
}

// NewRegistry is a node's metrics registry, with the Go runtime and process
// collectors; libp2p's own metrics join it when the host is built.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// newAwareness is the node's one account of its own stalls and starvation,
// read by the health manager, the liveness view, the silence watch and the
// adaptive timeouts alike.
func newAwareness(env Env, reg prometheus.Registerer, log *slog.Logger) (*awareness.Awareness, error) {
	return awareness.New(env.Awareness, reg, log)
}

func healthConfig(c Config, n *p2p.Node) health.Config {
	h := c.healthSection()
	h.Version = Version
	// The node ID is the peer ID, so /health names the node as peers do.
	h.NodeID = n.Host.ID().String()
	return h
}

// newHealth builds the health manager; it runs nothing until Start, but its
// transition listeners run from the first Subscribe until Stop.
func newHealth(cfg health.Config, self *awareness.Awareness, reg prometheus.Registerer, log *slog.Logger, o *opened) (*health.Manager, error) {
	hm, err := health.NewManager(cfg, self, reg, log)
	if err != nil {
		return nil, err
	}
	o.add(func() error { hm.Stop(); return nil })
	return hm, nil
}

func newP2PNode(c Config, env Env, m *members, reg prometheus.Registerer, log *slog.Logger, o *opened) (*p2p.Node, error) {
	// The DHT accepts only probe records their origin signed.
	if env.P2P.Validators == nil {
		env.P2P.Validators = map[string]record.Validator{}
	}
	if _, ok := env.P2P.Validators[p2p.Namespace]; !ok {
		env.P2P.Validators[p2p.Namespace] = probes.RecordValidator{}
	}
	if m.rule != nil && env.P2P.Members == nil {
		env.P2P.Members = m.rule
	}
	var n *p2p.Node
	var err error
	switch {
	case env.Host != nil && env.PubSub != nil && env.DHT != nil:
		n, err = p2p.Attach(context.Background(), env.Host, env.PubSub, env.DHT, c.P2P, env.P2P, log)
	case env.PubSub != nil || env.DHT != nil:
		return nil, errors.New("an application's GossipSub and DHT come together, with its host")
	case env.Host != nil:
		if env.P2P.Registerer == nil {
			env.P2P.Registerer = reg
		}
		n, err = p2p.Start(context.Background(), env.Host, c.P2P, nil, env.P2P, log)
	default:
		var key crypto.PrivKey
		if key, err = p2p.LoadOrCreateIdentity(c.P2P.DataDir); err != nil {
			return nil, err
		}
		n, err = p2p.New(c.P2P, key, reg, env.P2P, log)
	}
	if err != nil {
		return nil, err
	}
	o.add(n.Close)
	log.Info("libp2p node started", "peer_id", n.Host.ID().String(), "addrs", fmt.Sprint(n.Host.Addrs()))
	return n, nil
}

func newFaults(c Config, log *slog.Logger) *Faults {
	if !c.EnableFaultInjection {
		return nil
	}
	return NewFaults(log)
}

func newHTTPServer(c Config, env Env, hm *health.Manager, reg prometheus.Registerer, g prometheus.Gatherer, f *Faults, log *slog.Logger) (*HTTPServer, error) {
	var faults http.Handler // a nil *Faults must stay a nil interface
	if f != nil {
		token, err := writeFaultToken(c)
		if err != nil {
			return nil, err
		}
		faults = newFaultGate(f, token, c.HTTP)
	}
	s := NewHTTPServer(c.HTTP, hm.Handler(), hm.CloseStreams, g, faults, log)
	s.MaxConns = c.MaxHTTPConnections
	s.NoListen = env.HandlerOnly
	if err := s.RegisterMetrics(reg); err != nil {
		return nil, fmt.Errorf("http metrics: %w", err)
	}
	return s, nil
}

// wireShutdown connects the health manager and the shutdown manager both
// ways: a confirmed critical failure asks for a stop, and the first phase of
// any stop turns readiness and liveness to 503 at once.
func wireShutdown(hm *health.Manager, sm *shutdown.Manager) {
	hm.SetCriticalHandler(sm)
	sm.AddHook(shutdown.PhasePreShutdown, "health-stopping", func(context.Context) error {
		hm.SetStopping("node is shutting down")
		return nil
	})
}
