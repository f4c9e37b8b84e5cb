package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

// Mesh is the node's traffic through the mesh: the probe and summary
// topics, the checks that use them, and the silence watch over all of
// them.
type Mesh struct {
	Wire     *wire.Metrics
	Activity *probes.Activity
	PubSub   *probes.PubSubProbe // nil when the pubsub probe is disabled
	DHT      *probes.DHTProbe    // nil when the DHT probe is disabled
	Summary  *summary.Book

	probeTopic   *pubsub.Topic
	summaryTopic *pubsub.Topic
	cancel       context.CancelFunc
}

type meshIn struct {
	fx.In
	Config   Config
	Node     *p2p.Node
	Health   *health.Manager
	Shutdown *shutdown.Manager
	Registry prometheus.Registerer
	Log      *slog.Logger
}

// newMesh joins the topics with their validators and builds the network
// checks. Every meshhealth topic's validator is the strict wire validator
// (rejects counted by reason) wrapped by the silence watch, so any accepted
// message from a peer counts as the mesh being heard.
func newMesh(in meshIn) (*Mesh, error) {
	c, n, self := in.Config, in.Node, in.Node.Host.ID()
	m := &Mesh{Wire: wire.NewMetrics(in.Registry)}
	validator := func(topic string) pubsub.ValidatorEx {
		return wire.NewValidator(topic, wire.ValidatorOptions{Self: self, Metrics: m.Wire, Logger: in.Log})
	}
	var err error
	m.Activity, err = probes.NewActivity(probes.DefaultSilenceTrigger, func() bool {
		return m.probeTopic != nil && len(m.probeTopic.ListPeers()) > 0
	}, in.Health, in.Registry, in.Log)
	if err != nil {
		return nil, err
	}

	if m.probeTopic, err = n.PubSub.Join(wire.TopicProbe); err != nil {
		return nil, fmt.Errorf("join %s: %w", wire.TopicProbe, err)
	}
	if m.summaryTopic, err = n.PubSub.Join(wire.TopicSummary); err != nil {
		return nil, fmt.Errorf("join %s: %w", wire.TopicSummary, err)
	}
	source := func() summary.Values {
		s := in.Health.Snapshot()
		// The snapshot holds the leader's text form; peer.ID is its bytes.
		leader, err := peer.Decode(s.Leader)
		if err != nil {
			leader = ""
		}
		return summary.Values{
			Status: string(s.Status), Score: s.Score, Components: s.Components,
			Peers: n.ConnectedPeers(), Leader: leader, Term: s.Term, Version: Version,
		}
	}
	if m.Summary, err = summary.New(m.summaryTopic, self, source, summary.Config{Interval: c.SummaryInterval}, in.Registry, in.Log); err != nil {
		return nil, err
	}
	if err := n.PubSub.RegisterTopicValidator(wire.TopicSummary, m.Activity.Wrap(self, validator(wire.TopicSummary))); err != nil {
		return nil, fmt.Errorf("validator %s: %w", wire.TopicSummary, err)
	}

	probeValidator := m.Activity.Wrap(self, validator(wire.TopicProbe))
	if p := c.Probes.PubSub; p.Enabled {
		m.PubSub, err = probes.NewPubSubRoundTrip(m.probeTopic, self, n.Host.Network(), m.Summary,
			probes.PubSubConfig{Interval: p.Interval, Timeout: p.Timeout, MinPeers: c.MinPeers, Heard: m.Activity.HeardSince}, in.Registry, in.Log)
		if err != nil {
			return nil, err
		}
		// A peer that said goodbye is not a responder any more, and a probe
		// waiting on it is not failed for its leaving.
		m.Summary.OnGoodbye(m.PubSub.Forget)
		probeValidator = m.PubSub.Validator(probeValidator)
		if err := in.Health.Register(withThresholds(m.PubSub.Check(), c)); err != nil {
			return nil, err
		}
	}
	if err := n.PubSub.RegisterTopicValidator(wire.TopicProbe, probeValidator); err != nil {
		return nil, fmt.Errorf("validator %s: %w", wire.TopicProbe, err)
	}

	if p := c.Probes.DHT; p.Enabled {
		store, err := probes.NewKadStore(n.DHT)
		if err != nil {
			return nil, err
		}
		key := n.Host.Peerstore().PrivKey(self)
		m.DHT, err = probes.NewDHTIntegrity(store, key, probes.DHTConfig{Interval: p.Interval, Timeout: p.Timeout}, in.Registry, in.Log)
		if err != nil {
			return nil, err
		}
		if err := in.Health.Register(withThresholds(m.DHT.Check(), c)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Start subscribes and starts the periodic work; Stop undoes it. The leave
// itself (goodbye) is a pre-shutdown hook so that peers hear it while the
// node can still publish.
func (m *Mesh) Start(ctx context.Context) error {
	if m.PubSub != nil {
		if err := m.PubSub.Start(ctx); err != nil {
			return err
		}
	}
	if err := m.Summary.Start(ctx); err != nil {
		return err
	}
	actx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.Activity.Run(actx)
	return nil
}

// Stop ends probing and the summaries, and leaves the topics.
func (m *Mesh) Stop(context.Context) error {
	if m.cancel != nil {
		m.cancel()
	}
	if m.PubSub != nil {
		m.PubSub.Close()
	}
	m.Summary.Close()
	m.probeTopic.Close()
	m.summaryTopic.Close()
	return nil
}

func startMesh(lc fx.Lifecycle, m *Mesh, sm *shutdown.Manager, f *Faults) {
	lc.Append(fx.StartHook(m.Start))
	sm.AddHook(shutdown.PhasePreShutdown, "goodbye", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return m.Summary.Goodbye(ctx, "shutdown")
	})
	sm.Register(shutdown.Component{Name: "probes", Priority: 5, Timeout: 2 * time.Second, Stop: m.Stop})
	if f == nil {
		return
	}
	if m.PubSub != nil {
		f.Add("pubsub", "drop-inbound", m.PubSub.SetDropInbound)
	}
	if m.DHT != nil {
		f.Add("dht", "fail-put", m.DHT.SetFailPut)
	}
}
