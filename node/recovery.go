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
	"github.com/meshhealth/meshhealth/pkg/health"
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
)

// newRecovery builds the critical handler that recovers first: a
// confirmed critical failure that is this node's own fault is repaired
// (redial the known peers, ask mDNS, refresh the DHT), and goes to the
// shutdown manager (exit 3) only when the recovery budget is spent and
// the checks still fail. The peers the node knew when it last ran are
// read back here, into the peerstore and the redial step's list.
func newRecovery(c Config, hm *health.Manager, sm *shutdown.Manager, n *p2p.Node, m *Mesh, reg prometheus.Registerer, log *slog.Logger) (*recovery.Driver, error) {
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
	steps = append(steps, recovery.Step{Name: StepDHT, Run: n.RefreshDHT})

	minPeers := max(1, c.MinPeers)
	own := func(string) bool {
		if (livePeers{n, m.Peers}).ConnectedPeers() < minPeers {
			return true
		}
		return !m.Activity.HeardSince(time.Now().Add(-ownSilence))
	}
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
