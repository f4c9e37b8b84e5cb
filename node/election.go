package node

import (
	"context"
	"log/slog"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/awareness"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// localView is what the election reads of its own node: the published
// health snapshot (never a running check), the connection count (the
// score's connectivity) and the liveness view (the members).
type localView struct {
	hm    *health.Manager
	n     *p2p.Node
	peers *liveness.View
	aware *awareness.Awareness
}

// Gone lets the election drop a member the liveness view holds dead or
// departed at once (election.GoneView).
func (v localView) Gone(id peer.ID) bool { return v.peers.Gone(id) }

// Suspected keeps the members the liveness view suspects out of the
// majority a leader must hold (election.SuspectView).
func (v localView) Suspected(id peer.ID) bool { return v.peers.Suspected(id) }
func (v localView) Suspects() int             { return v.peers.Counts()[liveness.Suspect] }

// Lost keeps the time this process could not run out of its leader's
// silence (election.AwareView).
func (v localView) Lost(from, to time.Time) time.Duration { return v.aware.Lost(from, to) }

func (v localView) HealthStatus() status.Status { return v.hm.Status() }
func (v localView) HealthScore() float64        { return v.hm.Snapshot().Score }
func (v localView) ConnectedPeers() int         { return v.n.ConnectedPeers() }

// Members and MemberIDs make the liveness view the election's membership
// (election.MembersView): on a mesh of bounded degree the connections are
// a node's neighbourhood, not the mesh.
func (v localView) Members() int         { return v.peers.Members() }
func (v localView) MemberIDs() []peer.ID { return v.peers.LiveIDs() }
func (v localView) ResourceHeadroom() float64 {
	return v.hm.Snapshot().Components[health.ComponentResources]
}

func newElection(c Config, n *p2p.Node, hm *health.Manager, m *Mesh, aw *awareness.Awareness, reg prometheus.Registerer, log *slog.Logger, o *opened) (*election.Election, error) {
	self := n.Host.ID()
	// The leader's heartbeat is the most frequent message in the mesh: the
	// silence watch must hear it like every other topic's traffic.
	// The path faults stand outermost, so what they cut is not heard.
	hearIt := election.WrapValidator(func(v pubsub.ValidatorEx) pubsub.ValidatorEx {
		return m.Path.Wrap(self, m.Activity.Wrap(self, m.Peers.Wrap(v)))
	})
	e, err := election.New(c.Election, n.PubSub, self, localView{hm, n, m.Peers, aw}, m.Wire, reg, log, hearIt)
	if err != nil {
		return nil, err
	}
	// It has joined its topic, and its subscribers run until Close.
	o.add(e.Close)
	return e, nil
}

// wireElection shows the election's leader in /health, registers
// election-stability, and hands leadership over first when the node stops
// (lifecycle starts and stops the election itself).
func wireElection(c Config, e *election.Election, hm *health.Manager, sm *shutdown.Manager, m *Mesh, f *Faults) error {
	e.Subscribe(func(s election.State) { hm.SetLeader(s.Leader, s.Term) })
	// Resign right after readiness turns 503 and before the goodbye, so the
	// mesh elects a successor without waiting out the heartbeat timeout.
	sm.AddHook(shutdown.PhasePreShutdown, "resign", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return e.Resign(ctx)
	})
	if f != nil {
		f.Add("election", "freeze-heartbeats", e.FreezeHeartbeats)
	}
	if p := c.Probes.Election; p.Enabled {
		chk := probes.Election(e, c.Election.HeartbeatTimeout, c.Election.MaxLeaderChanges, p.Interval, p.Timeout, m.Activity, hm)
		return hm.Register(chk)
	}
	return nil
}
