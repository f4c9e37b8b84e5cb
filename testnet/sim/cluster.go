package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/testnet"
)

// ModeSim is the testnet mode a simulated run reports.
const ModeSim testnet.Mode = "sim"

// Cluster is the simulated mesh as the testnet's scenario engine sees it
// (testnet.Cluster): Observe reads every node's published health snapshot
// where the testnet reads /health, Apply does each chaos action to the
// simulated network and nodes.
type Cluster struct {
	m *Mesh

	mu sync.Mutex
	// touched are the nodes a chaos step has acted on: their changes are
	// the scenario's doing, not false alarms.
	touched map[int]bool
}

// NewCluster drives m for the engine.
func NewCluster(m *Mesh) *Cluster { return &Cluster{m: m, touched: map[int]bool{}} }

// Touched says which nodes a chaos step has acted on so far.
func (c *Cluster) Touched() map[int]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[int]bool, len(c.touched))
	for i := range c.touched {
		out[i] = true
	}
	return out
}

// Observe fills what the testnet's HTTP observer fills, from the same
// sources (the snapshot /health serves, the election state /metrics
// exports as is_leader, the key metrics /health/summary serves). Address is the node's simulated
// libp2p address (no node has an HTTP address here); Error is never set,
// as nothing can fail to answer. A frozen node is unreachable, as a
// SIGSTOPped process is to an HTTP client.
func (c *Cluster) Observe(_ context.Context, what testnet.Scrape) ([]testnet.NodeStatus, error) {
	m := c.m
	out := make([]testnet.NodeStatus, len(m.Nodes))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range m.Nodes {
		s := testnet.NodeStatus{
			Node: i, Name: fmt.Sprintf("node%d", i), PeerID: n.ID.String(), Address: listenAddr(i),
			Partitioned: m.Net.Isolated(i), StartedAt: n.StartedAt, StartupGrace: n.cfg.Health.StartupGrace,
			Process: testnet.ProcRunning,
		}
		switch {
		case n.Attached == nil:
			s.Process, s.Status, s.Message = testnet.ProcExited, testnet.StatusExited, "never started"
		case m.crashed[n.Attached]:
			s.Process, s.Status = testnet.ProcExited, testnet.StatusExited
			s.Exit = &testnet.ExitInfo{Found: true, Code: ExitKilled, Reason: "crashed"}
			s.Message = fmt.Sprintf("exit code %d: crashed", ExitKilled)
		case stopped(n.Attached):
			code, reason := n.Wait()
			s.Process, s.Status = testnet.ProcExited, testnet.StatusExited
			s.Exit = &testnet.ExitInfo{Found: true, Code: code, Reason: reason}
			s.Message = fmt.Sprintf("exit code %d: %s", code, reason)
		case n.frozen:
			s.Process, s.Status, s.Message = testnet.ProcStopped, testnet.StatusUnreachable, "frozen (sim: its links are silent)"
		default:
			fill(&s, n.Parts(), what)
		}
		out[i] = s
	}
	return out, nil
}

func stopped(a *node.Attached) bool {
	select {
	case <-a.Done():
		return true
	default:
		return false
	}
}

func fill(s *testnet.NodeStatus, p node.Node, what testnet.Scrape) {
	snap := p.Health.Snapshot()
	s.Status, s.Message, s.Score = string(snap.Status), snap.Message, snap.Score
	s.Components, s.Leader, s.Term = snap.Components, snap.Leader, snap.Term
	for name, cv := range snap.Checks {
		// The state's name, as /health writes it and the testnet reads it.
		if string(cv.State) == "failing" {
			s.Failing = append(s.Failing, name)
		}
	}
	slices.Sort(s.Failing)
	if what.Metrics && p.Election != nil {
		// The state meshhealth_election_is_leader exports, read without
		// gathering the node's whole registry at every poll.
		_, _, self := p.Election.Leader()
		s.IsLeader = &self
	}
	if what.Summary {
		var peers int
		if err := json.Unmarshal(snap.KeyMetrics["connected_peers"], &peers); err == nil {
			s.Peers = &peers
		}
	}
}

// Apply maps the testnet's chaos actions onto the simulation:
//
//   - kill: Crash (off the network at once, then stopped, code 137);
//   - restart: a crash, then the node started again on its identity,
//     address and data directory; graceful-restart: a graceful stop
//     (resign, goodbye) first;
//   - stop, cont: Freeze and Thaw (silent links that stay open);
//   - partition, heal: the node alone in its own group (its link down, as
//     in netns mode), and back;
//   - fault, clear: the node's own POST /debug/fault, through its handler.
func (c *Cluster) Apply(ctx context.Context, ch testnet.Chaos) error {
	m := c.m
	if ch.Node < 0 || ch.Node >= len(m.Nodes) {
		return fmt.Errorf("chaos %s: no node %d", ch, ch.Node)
	}
	c.mu.Lock()
	c.touched[ch.Node] = true
	c.mu.Unlock()
	i := ch.Node
	var err error
	switch ch.Action {
	case testnet.ChaosKill:
		m.Crash(i)
	case testnet.ChaosRestart:
		err = m.Restart(ctx, i, false)
	case testnet.ChaosRollRestart:
		err = m.Restart(ctx, i, true)
	case testnet.ChaosStop:
		m.Freeze(i)
	case testnet.ChaosCont:
		m.Thaw(i)
	case testnet.ChaosPartition:
		m.Net.Isolate(i, true)
	case testnet.ChaosHeal:
		m.Net.Isolate(i, false)
	case testnet.ChaosFault:
		if ch.Component == "" || ch.Fault == "" {
			return fmt.Errorf("chaos %s: fault needs a component and a fault, such as pubsub drop-inbound", ch)
		}
		err = c.postFault(i, map[string]any{"component": ch.Component, "fault": ch.Fault})
	case testnet.ChaosClear:
		err = c.postFault(i, map[string]any{"clear": true})
	default:
		return fmt.Errorf("chaos %s: %q has no meaning in sim mode (it knows %s)", ch, ch.Action, strings.Join(SimChaos, ", "))
	}
	if err != nil {
		return fmt.Errorf("chaos %s: %w", ch, err)
	}
	return nil
}

// SimChaos are the chaos actions Apply knows.
var SimChaos = []string{testnet.ChaosKill, testnet.ChaosRestart, testnet.ChaosRollRestart, testnet.ChaosStop, testnet.ChaosCont,
	testnet.ChaosPartition, testnet.ChaosHeal, testnet.ChaosFault, testnet.ChaosClear}

// postFault is the testnet's POST /debug/fault, served by the node's own
// handler in this process: the same gate (token, Host, Content-Type) and
// the same faults, without a socket.
func (c *Cluster) postFault(i int, body map[string]any) error {
	c.m.mu.Lock()
	n := c.m.Nodes[i]
	a, dir := n.Attached, n.cfg.P2P.DataDir
	c.m.mu.Unlock()
	if stopped(a) {
		return fmt.Errorf("node%d has stopped", i)
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	token, err := os.ReadFile(filepath.Join(dir, node.FaultTokenFile))
	if err != nil {
		return fmt.Errorf("fault token: %w", err)
	}
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/debug/fault", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("POST /debug/fault %s: %d: %s", b, rec.Code, strings.TrimSpace(rec.Body.String()))
	}
	return nil
}
