package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	msmux "github.com/multiformats/go-multistream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/awareness"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

// Mesh is the node's traffic through the mesh: the probe and summary
// topics, the checks that use them, the silence watch over all of them, and
// the peer-liveness view they feed and read.
type Mesh struct {
	Wire     *wire.Metrics
	Peers    *liveness.View
	Activity *probes.Activity
	PubSub   *probes.PubSubProbe // nil when the pubsub probe is disabled
	DHT      *probes.DHTProbe    // nil when the DHT probe is disabled
	Summary  *summary.Book
	// Path is the outbound-only and inbound-only faults, in front of
	// every meshhealth topic's validator.
	Path *probes.PathFault

	probeTopic   *pubsub.Topic
	directTopic  *pubsub.Topic // nil when the pubsub probe is disabled
	summaryTopic *pubsub.Topic
	host         host.Host
	cancel       context.CancelFunc
}

type meshIn struct {
	fx.In
	Config   Config
	Node     *p2p.Node
	Health   *health.Manager
	Aware    *awareness.Awareness
	Shutdown *shutdown.Manager
	Registry prometheus.Registerer
	Log      *slog.Logger
	Opened   *opened
}

// newMesh joins the topics with their validators and builds the network
// checks. Every meshhealth topic's validator is the strict wire validator
// (rejects counted by reason) wrapped by the silence watch, so any accepted
// message from a peer counts as the mesh being heard.
func newMesh(in meshIn) (*Mesh, error) {
	c, n, self := in.Config, in.Node, in.Node.Host.ID()
	m := &Mesh{Wire: wire.NewMetrics(in.Registry), Path: &probes.PathFault{}}
	var err error
	if m.Peers, err = newLiveness(c, n, in.Health, in.Aware, in.Registry, in.Log); err != nil {
		return nil, err
	}
	validator := func(topic string) pubsub.ValidatorEx {
		return m.Peers.Wrap(wire.NewValidator(topic, wire.ValidatorOptions{Self: self, Metrics: m.Wire, Logger: in.Log}))
	}
	m.Activity, err = probes.NewActivity(probes.DefaultSilenceTrigger, func() bool {
		return m.probeTopic != nil && len(m.probeTopic.ListPeers()) > 0
	}, in.Health, in.Aware, in.Registry, in.Log)
	if err != nil {
		return nil, err
	}

	if m.probeTopic, err = n.PubSub.Join(wire.TopicProbe); err != nil {
		return nil, fmt.Errorf("join %s: %w", wire.TopicProbe, err)
	}
	in.Opened.add(closeTopic(m.probeTopic))
	if m.summaryTopic, err = n.PubSub.Join(wire.TopicSummary); err != nil {
		return nil, fmt.Errorf("join %s: %w", wire.TopicSummary, err)
	}
	in.Opened.add(closeTopic(m.summaryTopic))
	source := func() summary.Values {
		s := in.Health.Snapshot()
		// The snapshot holds the leader's text form; peer.ID is its bytes.
		leader, err := peer.Decode(s.Leader)
		if err != nil {
			leader = ""
		}
		return summary.Values{
			Status: s.Status, Score: s.Score, Components: s.Components,
			Peers: n.ConnectedPeers(), Leader: leader, Term: s.Term, Version: Version,
		}
	}
	scfg := c.Summary
	scfg.Members = m.Peers.Members
	if m.Summary, err = summary.New(m.summaryTopic, self, source, scfg, in.Registry, in.Log); err != nil {
		return nil, err
	}
	in.Health.SubscribeStatus(m.Summary.StatusChanged)
	// A neighbour's direct goodbye makes it left before it is acknowledged,
	// so the close of its connection that follows is never a death here.
	m.host = n.Host
	m.Summary.ServeGoodbyes(n.Host, func(id peer.ID, written time.Time) {
		m.Peers.Observe(id, liveness.Goodbye, written)
	})
	in.Opened.add(func() error { n.Host.RemoveStreamHandler(summary.GoodbyeProtocol); return nil })
	m.Peers.SilenceFor(m.Summary.Silence)
	if err := n.PubSub.RegisterTopicValidator(wire.TopicSummary, m.Path.Wrap(self, m.Activity.Wrap(self, validator(wire.TopicSummary)))); err != nil {
		return nil, fmt.Errorf("validator %s: %w", wire.TopicSummary, err)
	}

	probeValidator := m.Activity.Wrap(self, validator(wire.TopicProbe))
	if p := c.Probes.PubSub; p.Enabled {
		direct, err := m.joinDirect(n, self, in.Opened)
		if err != nil {
			return nil, err
		}
		m.PubSub, err = probes.NewPubSubRoundTrip(m.probeTopic, self, n.Host.Network(), m.Peers,
			probes.PubSubConfig{Interval: p.Interval, Timeout: p.Timeout, MinPeers: c.MinPeers,
				Heard: m.Activity.HeardSince, Members: m.Peers.Members, Aware: in.Aware, Direct: direct}, in.Registry, in.Log)
		if err != nil {
			return nil, err
		}
		m.Peers.OnChange(m.PubSub.PeerChanged)
		probeValidator = m.PubSub.Validator(probeValidator)
		// The same validators as the shared topic's (heard, evidence of
		// life, drop-inbound, the path faults): a direct round-trip is the
		// same probe by a shorter way.
		own := wire.DirectTopic(self)
		if err := n.PubSub.RegisterTopicValidator(own, m.Path.Wrap(self, m.PubSub.Validator(m.Activity.Wrap(self, validator(own))))); err != nil {
			return nil, fmt.Errorf("validator %s: %w", wire.TopicProbeDirect, err)
		}
		if err := in.Health.Register(m.PubSub.Check()); err != nil {
			return nil, err
		}
	}
	if err := n.PubSub.RegisterTopicValidator(wire.TopicProbe, m.Path.Wrap(self, probeValidator)); err != nil {
		return nil, fmt.Errorf("validator %s: %w", wire.TopicProbe, err)
	}

	if p := c.Probes.DHT; p.Enabled {
		store, err := probes.NewKadStore(n.DHT)
		if err != nil {
			return nil, err
		}
		store.OnlyLive(m.Peers.Live)
		key := n.Host.Peerstore().PrivKey(self)
		m.DHT, err = probes.NewDHTIntegrity(store, key, probes.DHTConfig{Interval: p.Interval, Timeout: p.Timeout,
			Members: m.Peers.Members, LivePeers: m.Peers.LivePeers, Aware: in.Aware}, in.Registry, in.Log)
		if err != nil {
			return nil, err
		}
		if err := in.Health.Register(m.DHT.Check()); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// joinDirect joins this node's direct probe topic (its validator is
// registered with the probe's, before anything subscribes) and gives the
// probe what it needs to publish on its neighbours': there only this
// node's own publishes are validated, so the strict shape check and the
// outbound fault are all they need.
func (m *Mesh) joinDirect(n *p2p.Node, self peer.ID, o *opened) (*probes.Direct, error) {
	own := wire.DirectTopic(self)
	var err error
	if m.directTopic, err = n.PubSub.Join(own); err != nil {
		return nil, fmt.Errorf("join %s: %w", wire.TopicProbeDirect, err)
	}
	o.add(closeTopic(m.directTopic))
	peerValidator := func(topic string) pubsub.ValidatorEx {
		return m.Path.Wrap(self, wire.NewValidator(topic, wire.ValidatorOptions{Self: self, Metrics: m.Wire}))
	}
	return probes.NewDirect(n.PubSub, m.directTopic, peerValidator), nil
}

// closeTopic leaves t, unless libp2p has closed already (a failed start
// stops it first): then nothing is left to leave.
func closeTopic(t *pubsub.Topic) func() error {
	return func() error {
		if err := t.Close(); err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("leave %s: %w", t.String(), err)
		}
		return nil
	}
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
		// fx stops only parts that started: the probe is this start's to end.
		if m.PubSub != nil {
			m.PubSub.Close()
		}
		return err
	}
	actx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go m.Activity.Run(actx)
	go m.Peers.Run(actx)
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
	if m.directTopic != nil {
		m.directTopic.Close()
	}
	m.summaryTopic.Close()
	m.host.RemoveStreamHandler(summary.GoodbyeProtocol)
	return nil
}

// goodbyeAckWait bounds the wait for the neighbours' acks of the direct
// goodbye: each is one stream over a live connection, answered as soon as
// it is read, so seconds are for a loaded machine; the hook's own timeout
// (and the shutdown's) bounds it too.
const goodbyeAckWait = 3 * time.Second

// wireMesh says goodbye to the peers before the node stops, and makes the
// mesh's checks breakable by /debug/fault (lifecycle starts and stops it).
// The goodbye goes twice: on the summary topic for the members that are
// not neighbours (best effort: a publish only queues it), then on a direct
// stream to each neighbour, which acknowledges it, so that no neighbour
// sees this node's connection close before it knows the node left.
func wireMesh(m *Mesh, sm *shutdown.Manager, f *Faults, log *slog.Logger) {
	sm.AddHook(shutdown.PhasePreShutdown, "goodbye", func(ctx context.Context) error {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		perr := m.Summary.Goodbye(pctx, "shutdown")
		cancel()
		dctx, cancel := context.WithTimeout(ctx, goodbyeAckWait)
		defer cancel()
		fw, derr := m.Summary.SayGoodbye(dctx, m.host, "shutdown")
		log.Debug("goodbye acknowledged", "peers", fw.Told, "acked", fw.Acked)
		return errors.Join(perr, derr)
	})
	if f == nil {
		return
	}
	f.Add("pubsub", "outbound-only", m.Path.SetOutbound)
	f.Add("pubsub", "inbound-only", m.Path.SetInbound)
	if m.PubSub != nil {
		f.Add("pubsub", "drop-inbound", m.PubSub.SetDropInbound)
	}
	if m.DHT != nil {
		f.Add("dht", "fail-put", m.DHT.SetFailPut)
	}
}

// newLiveness builds the peer-liveness view and feeds it the host's
// connections; messages reach it through the topic validators (Wrap), acks
// and missed acks through the pubsub probe. Its changes re-run checks as
// probes.Reruns says.
func newLiveness(c Config, n *p2p.Node, hm *health.Manager, aw *awareness.Awareness, reg prometheus.Registerer, log *slog.Logger) (*liveness.View, error) {
	v, err := liveness.NewView(n.Host.ID(), liveness.Config{}, aw, hostPinger{n.Host}, reg, log)
	if err != nil {
		return nil, err
	}
	n.Host.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, conn network.Conn) {
			v.Observe(conn.RemotePeer(), liveness.Connected, time.Time{})
		},
	})
	// OnDisconnect fires once the peer's last connection has closed.
	n.OnDisconnect(func(id peer.ID) { v.Observe(id, liveness.Disconnected, time.Time{}) })
	v.OnChange(probes.NewReruns(hm).PeerChanged)
	return v, nil
}

// hostPinger verifies a suspect with libp2p's ping protocol, which only the
// peer's running process can answer (a frozen process keeps its TCP
// connections open, but answers nothing).
type hostPinger struct{ h host.Host }

// Ping pings id over a connection it has or dials one. A link opened only
// for the ping is closed after it: a check is not a reason to keep a link,
// and the degree stays the connection manager's.
func (p hostPinger) Ping(ctx context.Context, id peer.ID) error {
	if p.h.Network().Connectedness(id) != network.Connected {
		defer p.h.Network().ClosePeer(id)
	}
	select {
	case r := <-ping.Ping(ctx, p.h, id):
		if errors.Is(r.Error, msmux.ErrNotSupported[protocol.ID]{}) {
			return nil // its process answered the negotiation: alive, without ping
		}
		return r.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}
