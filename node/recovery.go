package node

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/recovery"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// ownSilence is how long the node must have heard nothing from the mesh
// for a critical failure to be its own fault although it still counts
// live peers: its links may still look open (a cut cable leaves TCP
// connections up for minutes) while nothing comes through them. The
// silence trigger's: the leader's heartbeat alone arrives every second,
// and a cut node's pubsub-roundtrip is confirmed failing about 3 s after
// its silence began (a 5 s rule found every node of a cut zone still
// within it, and let them all exit).
const ownSilence = probes.DefaultSilenceTrigger

// ownPoll is how often a failure that does not look like the node's own
// yet is looked at again, within ownJudgement.
const ownPoll = 250 * time.Millisecond

// ownJudgement is how long that goes on: the longest a follower waits for
// its leader's heartbeat before it stands (the timeout, randomised up to
// +50 %), and a second for the election it then cannot win. A node cut off
// with a minority then follows no leader; a node of the majority has one
// (a new one if the leader was in the cut part) and exits that much later
// for a failure that is not its own.
func ownJudgement(heartbeatTimeout time.Duration) time.Duration {
	return heartbeatTimeout*3/2 + time.Second
}

// ownEvidence is what says whether a confirmed critical failure is this
// node's own fault, one look at it.
type ownEvidence struct {
	connected, minPeers int                    // live connected peers, and the least wanted (>= 1)
	counts              map[liveness.State]int // the liveness view
	leader              string                 // the leader followed ("" none)
	heard               bool                   // a message from the mesh within ownSilence
}

// own: fewer live links than wanted; or at most half of the members the
// liveness view has known heard (itself and the peers alive, suspect or
// dead; not those that said goodbye), the side of a partition holding at
// most half; or no leader followed, which a node cut off with a minority
// soon is (it cannot win an election) and the majority seldom is for
// long; or nothing heard from the mesh lately. A zone that lost its
// uplink still has links and hears its own members, so by links and
// silence alone its fault was not its own and its nodes exited at once
// (the simulator's 100-node zone outage: all 10 of the cut zone); a
// restart cannot reach the majority either, so they recover first, as a
// node cut off alone does. A tie counts as cut off: in a mesh split in two
// halves neither can tell which is the mesh.
func (ev ownEvidence) own() bool {
	heard := 1 + ev.counts[liveness.Alive]
	return ev.connected < ev.minPeers ||
		heard <= ev.counts[liveness.Suspect]+ev.counts[liveness.Dead] ||
		ev.leader == "" ||
		!ev.heard
}

// judgeOwn looks at ownNow until it says the failure is the node's own,
// or for judgement at most. A failure confirmed within seconds of a cut
// can come before the evidence that the cut is this node's: the election
// has not yet timed its leader out and the liveness view suspects nobody.
// So a failure that does not look like the node's own yet is looked at
// again, every poll, for a follower's heartbeat timeout before it exits
// at once.
func judgeOwn(ownNow func() bool, judgement, poll time.Duration) bool {
	deadline := time.Now().Add(judgement)
	for !ownNow() {
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(poll)
	}
	return true
}

// lastPeersEvery is how often the node writes the peers it is connected
// to into its data directory (and once more when it stops), so that a node
// killed or cut off still has a recent list.
const lastPeersEvery = 30 * time.Second

// Recovery step names, cheapest first: the label of
// meshhealth_recovery_step_seconds and /health's "step".
const (
	StepRedial = "redial"
	StepMDNS   = "mdns"
	StepDHT    = "dht"
	StepRejoin = "rejoin"
)

// newRecovery builds the critical handler that recovers first: a
// confirmed critical failure that is this node's own fault is repaired
// (redial the known peers, ask mDNS, refresh the DHT, rejoin its peers'
// GossipSub afresh), and goes to the
// shutdown manager (exit 3) only when the recovery budget is spent and
// the checks still fail. The peers the node knew when it last ran are
// read back here, into the peerstore and the redial step's list.
func newRecovery(c Config, hm *health.Manager, sm *shutdown.Manager, n *p2p.Node, m *Mesh, e *election.Election, reg prometheus.Registerer, log *slog.Logger) (*recovery.Driver, error) {
	last, err := loadLastPeers(c.P2P.DataDir)
	if err != nil {
		log.Warn("last-known peers unreadable; starting without them", "err", err)
	}
	for _, ai := range last {
		if ai.ID != n.Host.ID() {
			n.Host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.AddressTTL)
		}
	}
	steps := []recovery.Step{
		{Name: StepRedial, Run: func(ctx context.Context) error {
			_, err := n.RedialKnown(ctx, last)
			return err
		}},
	}
	if c.P2P.MDNS {
		steps = append(steps, recovery.Step{Name: StepMDNS, Run: n.AskMDNS})
	}
	// Last, as the most disruptive: it drops the links the node still has.
	steps = append(steps, recovery.Step{Name: StepDHT, Run: n.RefreshDHT}, recovery.Step{Name: StepRejoin, Run: n.Rejoin})

	minPeers := max(1, c.MinPeers)
	ownNow := func() bool {
		leader, _, _ := e.Leader()
		return ownEvidence{
			connected: (livePeers{n, m.Peers}).ConnectedPeers(), minPeers: minPeers,
			counts: m.Peers.Counts(), leader: leader,
			heard: m.Activity.HeardSince(time.Now().Add(-ownSilence)),
		}.own()
	}
	judgement := ownJudgement(c.Election.HeartbeatTimeout)
	own := func(string) bool { return judgeOwn(ownNow, judgement, ownPoll) }
	return recovery.NewDriver(c.Recovery, recovery.Options{
		Steps: steps, Checks: hm, Exit: sm, Own: own,
		Publish: func(cur *recovery.Current, hist []recovery.Record) { publishRecovery(hm, cur, hist) },
	}, reg, log)
}

// wireRecovery hands the health manager's confirmed critical failures to
// the recovery driver (in place of wireShutdown's direct hand-off to the
// shutdown manager), ends a recovery under way when the node stops for
// any reason, and keeps the last-known peers in the data directory.
func wireRecovery(lc fx.Lifecycle, c Config, d *recovery.Driver, hm *health.Manager, sm *shutdown.Manager, n *p2p.Node, log *slog.Logger) {
	dir := c.P2P.DataDir
	hm.SetCriticalHandler(d)
	sm.AddHook(shutdown.PhasePreShutdown, "recovery", func(context.Context) error {
		d.Close()
		return saveLastPeers(dir, n.KnownAddrs(lastPeersMax))
	})
	var (
		cancel context.CancelFunc = func() {}
		wg     sync.WaitGroup
	)
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			ctx, stop := context.WithCancel(context.Background())
			cancel = stop
			wg.Go(func() { keepLastPeers(ctx, dir, n, log) })
			return nil
		},
		OnStop: sm.Step("last-peers", time.Second, func(context.Context) error {
			cancel()
			wg.Wait()
			return nil
		}),
	})
}

// keepLastPeers writes the connected peers' addresses every
// lastPeersEvery until ctx ends.
func keepLastPeers(ctx context.Context, dir string, n *p2p.Node, log *slog.Logger) {
	t := time.NewTicker(lastPeersEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := saveLastPeers(dir, n.KnownAddrs(lastPeersMax)); err != nil {
			log.Debug("writing last-known peers", "err", err)
		}
	}
}

// recoveryDoc is /health's "recovery": the recovery under way (absent
// when none is) and the last ones.
type recoveryDoc struct {
	Recovering *recovery.Current `json:"recovering,omitempty"`
	History    []recovery.Record `json:"history"`
}

// publishRecovery gives the health manager what /health and
// /health/checks/NAME show of recovery.
func publishRecovery(hm *health.Manager, cur *recovery.Current, hist []recovery.Record) {
	byCheck := map[string]any{}
	for _, rec := range hist {
		for _, c := range rec.Checks {
			l, _ := byCheck[c].([]recovery.Record)
			byCheck[c] = append(l, rec)
		}
	}
	if cur != nil {
		for _, c := range cur.Checks {
			if _, ok := byCheck[c]; !ok {
				byCheck[c] = []recovery.Record{}
			}
		}
	}
	if hist == nil {
		hist = []recovery.Record{}
	}
	hm.SetRecovery(recoveryDoc{Recovering: cur, History: hist}, byCheck)
}

// recoveringStep is the step of the recovery under way ("" when none), for
// the dashboard.
func recoveringStep(d *recovery.Driver) string {
	cur := d.Current()
	switch {
	case cur == nil:
		return ""
	case cur.Step == "":
		return "between steps"
	}
	return cur.Step
}
