package sim

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// ScenarioConfig is one testnet scenario run on a simulated mesh.
type ScenarioConfig struct {
	// Config is the mesh; N 0 takes the scenario's testnet: nodes, else
	// DefaultNodes. The scenario's node_args come before Config.NodeArgs.
	Config
	Scenario *testnet.Scenario
	// HoldFor and Hold are the engine's (testnet scenario --duration and
	// --hold).
	HoldFor time.Duration
	Hold    time.Duration
	// Out receives the engine's line per step (nil: none).
	Out io.Writer
	// Poll is how often the run's own watcher reads every node for the
	// figures the engine does not keep (default 500 ms).
	Poll time.Duration
}

// DefaultNodes is a scenario run's size when neither the run nor the
// scenario says.
const DefaultNodes = 20

// ScenarioReport is the testnet's scenario report (steps, measurements,
// the nodes at the end) with the simulation's figures beside it.
type ScenarioReport struct {
	*testnet.Report
	Sim Figures `json:"sim"`
}

// Figures are what every simulated run reports: a built-in's (Report)
// and what a scenario run adds to the engine's report, the figures its
// steps do not measure themselves.
type Figures struct {
	Seed      uint64  `json:"seed"`
	Nodes     int     `json:"nodes"`
	Simulated float64 `json:"simulated_seconds"`
	// ConvergeSeconds is the time from the start to the first moment every
	// node was healthy under one agreed leader (-1: never), as the run's
	// watcher saw it every Poll.
	ConvergeSeconds float64 `json:"converge_seconds"`
	// FalseAlarms are status changes, leader changes and stops of the
	// nodes no chaos step touched, from the first convergence on; leaving
	// a leader that a chaos step touched is a failover, not an alarm.
	FalseAlarms []string `json:"false_alarms"`
	// Exits are the nodes that stopped by themselves (not by a chaos
	// step): node, code, reason, when.
	Exits                 []string `json:"exits"`
	MessagesPerNodeSecond float64  `json:"messages_per_node_per_second"`
	// MessagesByTopic splits MessagesPerNodeSecond by topic (the direct
	// probe topics as one).
	MessagesByTopic map[string]float64 `json:"messages_per_node_per_second_by_topic"`
	// SinceConverged is the same intake from the first convergence to the
	// end (a testnet scenario's run only): what a node takes in once the
	// mesh has formed, without the start-up's elections and introductions.
	SinceConverged          *Intake `json:"since_converged,omitempty"`
	CPUSecondsPerNodeSecond float64 `json:"cpu_seconds_per_node_per_second"`
	// Filled in outside the bubble, whose clock is not the wall's.
	WallSeconds float64 `json:"wall_seconds"`
	MaxRSSMiB   float64 `json:"max_rss_mib"`
}

// Intake is messages received per node per simulated second, in all and
// by topic, over a part of a run.
type Intake struct {
	Seconds       float64            `json:"simulated_seconds"`
	PerNodeSecond float64            `json:"messages_per_node_per_second"`
	ByTopic       map[string]float64 `json:"by_topic"`
}

// RunScenario starts the mesh, runs the scenario through the testnet's
// engine with the mesh as its cluster, and stops everything, inside a
// synctest bubble (the engine's clock is then virtual). A failed step is
// returned as the engine returns it (a *testnet.StepFailure) with the
// report complete; other errors are about the run itself.
func RunScenario(ctx context.Context, sc ScenarioConfig) (*ScenarioReport, error) {
	s := sc.Scenario
	if s.Testnet.Prometheus {
		return nil, fmt.Errorf("scenario %s wants Prometheus (testnet: prometheus: true), which sim mode does not run", s.Name)
	}
	if sc.N == 0 {
		sc.N = s.Testnet.Nodes
	}
	if sc.N == 0 {
		sc.N = DefaultNodes
	}
	sc.NodeArgs = slices.Concat(s.Testnet.NodeArgs, sc.NodeArgs)
	if sc.Poll <= 0 {
		sc.Poll = 500 * time.Millisecond
	}
	fig := Figures{Seed: sc.Seed, Nodes: sc.N, ConvergeSeconds: -1}
	cpu0 := cpuSeconds()
	start := time.Now()
	m, err := Start(ctx, sc.Config)
	if err != nil {
		return nil, err
	}
	cl := NewCluster(m)
	w := &watcher{m: m, cl: cl, start: start, converge: -1}
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.run(wctx, sc.Poll)
	}()

	e := &testnet.Engine{Cluster: cl, Out: sc.Out, HoldFor: sc.HoldFor, OptionalHold: sc.Hold}
	rep, runErr := e.Run(ctx, s, testnet.ReportTestnet{Mode: ModeSim, Nodes: sc.N})
	stop()
	wg.Wait()

	fig.Simulated = time.Since(start).Seconds()
	fig.ConvergeSeconds = w.converge
	fig.FalseAlarms = append([]string{}, w.alarms...)
	end := m.received()
	fig.intake(end)
	if w.converge >= 0 && fig.Simulated > w.converge {
		in := &Intake{Seconds: fig.Simulated - w.converge}
		in.PerNodeSecond, in.ByTopic = end.since(w.atConverge, sc.N, in.Seconds)
		fig.SinceConverged = in
	}
	fig.Exits = []string{}
	for _, x := range m.Exits() {
		fig.Exits = append(fig.Exits, fmt.Sprintf("node%d: code %d, %s (at %.1fs)", x.Node, x.Code, x.Reason, x.At.Sub(start).Seconds()))
	}
	m.Close()
	fig.CPUSecondsPerNodeSecond = (cpuSeconds() - cpu0) / float64(sc.N) / fig.Simulated
	return &ScenarioReport{Report: rep, Sim: fig}, runErr
}

// watcher reads every node every poll for the figures of a whole run:
// when the mesh first converged, and the false alarms after.
type watcher struct {
	m     *Mesh
	cl    *Cluster
	start time.Time

	converge float64
	// atConverge is the mesh's intake at the first convergence.
	atConverge received
	alarms     []string
}

// maxAlarms bounds the alarms listed; a run that has more is broken
// enough that the first ones say why.
const maxAlarms = 100

func (w *watcher) run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	index := map[string]int{}
	for i, n := range w.m.Nodes {
		index[n.ID.String()] = i
	}
	var prev []View
	for {
		vs := w.m.Observe()
		now := time.Since(w.start)
		if prev == nil && Converged(vs, nil) {
			w.converge = now.Seconds()
			w.atConverge = w.m.received()
			prev = vs
		} else if prev != nil {
			touched := w.cl.Touched()
			for _, a := range alarmsSince(prev, vs, touched, index, now) {
				if len(w.alarms) < maxAlarms {
					w.alarms = append(w.alarms, a)
				}
			}
			prev = vs
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// alarmsSince are the changes between two observations of the nodes no
// chaos step touched: a stop, a status change, or leaving a leader that
// no chaos step touched (for none or another).
func alarmsSince(prev, vs []View, touched map[int]bool, index map[string]int, at time.Duration) []string {
	var out []string
	at = at.Truncate(100 * time.Millisecond)
	for i, v := range vs {
		p := prev[i]
		if touched[i] || !p.Running {
			continue
		}
		switch {
		case !v.Running:
			out = append(out, fmt.Sprintf("%v node%d stopped: code %d, %s", at, i, v.Code, v.Reason))
		case v.Status != p.Status:
			out = append(out, fmt.Sprintf("%v node%d status %s -> %s", at, i, p.Status, v.Status))
		case v.Leader != p.Leader && p.Leader != "":
			if l, ok := index[p.Leader]; ok && touched[l] {
				continue
			}
			out = append(out, fmt.Sprintf("%v node%d left leader node%d (term %d -> %d)", at, i, index[p.Leader], p.Term, v.Term))
		}
	}
	return out
}

// IsBuiltin says whether name is one of Run's built-in scenarios rather
// than a testnet scenario.
func IsBuiltin(name string) bool { return slices.Contains(Scenarios, name) }
