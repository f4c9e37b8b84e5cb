package sim

import (
	"context"
	"fmt"
	"io"
	"slices"
	"syscall"
	"time"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// exitCritical is a node's code for a confirmed critical failure, its
// process's exit code (API.md, Exit codes).
const exitCritical = 3

// Scenarios are the built-in scenarios Run knows: faults a testnet
// scenario cannot say (10 % of the nodes at once, one-way cuts). The
// testnet's own scenarios (converge, kill-leader, ...) run through its
// engine (RunScenario); a name here wins over a testnet scenario's.
var Scenarios = []string{"partition", "zone-outage", "inbound-only", "outbound-only"}

// Report is what one run of a built-in saw, in simulated time unless a
// name says wall: the figures every simulated run has (Figures), and what
// the built-in's own fault adds. Its figures follow the testnet's report
// where they exist.
type Report struct {
	Scenario string `json:"scenario"`
	Figures
	Leader string `json:"leader,omitempty"`
	// Victims are the nodes the scenario faulted; DetectionSeconds, each
	// one's time from the fault to unhealthy (-1: never).
	Victims          []int     `json:"victims,omitempty"`
	DetectionSeconds []float64 `json:"detection_seconds,omitempty"`
	// KilledLeader is the leader a scenario crashed; FailoverSeconds, the
	// time from the crash until every running node not faulted follows one
	// other leader (-1: never).
	KilledLeader    string  `json:"killed_leader,omitempty"`
	FailoverSeconds float64 `json:"failover_seconds,omitempty"`
	// Problems is what the run fell short of, empty when it met the bar a
	// user holds a mesh to: it converged, the others agreed on a new
	// leader when the scenario killed one, every victim was confirmed
	// unhealthy, and no node the scenario did not fault raised a false
	// alarm or exited.
	Problems []string `json:"problems"`
}

// RunConfig is one run: the mesh, the scenario, how long in all.
type RunConfig struct {
	Config
	Scenario string
	// Duration is the whole run, simulated (default 2 minutes).
	Duration time.Duration
	// Poll is how often the observer reads every node (default 500 ms).
	Poll time.Duration
	// Progress, when set, gets a line every progressEvery simulated
	// seconds: a 1,000-node run takes many wall-clock minutes, and its
	// report comes only at the end.
	Progress io.Writer
}

// Run starts the mesh, plays the scenario and stops everything, inside a
// synctest bubble. Errors are about the run itself (a node that would not
// start); what the nodes did is in the report.
func Run(ctx context.Context, rc RunConfig) (Report, error) {
	if !slices.Contains(Scenarios, rc.Scenario) {
		return Report{}, fmt.Errorf("sim: no scenario %q (have %v)", rc.Scenario, Scenarios)
	}
	if rc.Duration <= 0 {
		rc.Duration = 2 * time.Minute
	}
	if rc.Poll <= 0 {
		rc.Poll = 500 * time.Millisecond
	}
	r := Report{Scenario: rc.Scenario, Figures: Figures{Seed: rc.Seed, Nodes: rc.N, ConvergeSeconds: -1,
		FalseAlarms: []string{}, Exits: []string{}}}
	cpu0 := cpuSeconds()
	start := time.Now()
	m, err := Start(ctx, rc.Config)
	if err != nil {
		return r, err
	}
	end := start.Add(rc.Duration)

	var prev []View
	lastProgress := start
	faulted := map[int]bool{}
	faultAt := time.Time{}
	for now := time.Now(); now.Before(end); now = time.Now() {
		vs := m.Observe()
		if r.ConvergeSeconds < 0 && Converged(vs, nil) {
			r.ConvergeSeconds = now.Sub(start).Seconds()
			r.Leader = vs[0].Leader
			prev = vs
			if err := fault(m, rc.Scenario, vs, &r, faulted); err != nil {
				m.Close()
				return r, err
			}
			faultAt = now
		} else if prev != nil {
			// Until the others follow a new leader, their leader changes
			// are the failover, not alarms.
			failingOver := r.KilledLeader != "" && r.FailoverSeconds < 0
			r.FalseAlarms = append(r.FalseAlarms, alarms(prev, vs, faulted, failingOver, now.Sub(start))...)
			if failingOver && failedOver(vs, faulted, r.KilledLeader) {
				r.FailoverSeconds = now.Sub(faultAt).Seconds()
			}
			for k, v := range r.Victims {
				// A victim that stopped itself was confirmed unhealthy,
				// though it may have gone between two observations.
				confirmed := vs[v].Status == status.Unhealthy || (!vs[v].Running && vs[v].Code == exitCritical)
				if r.DetectionSeconds[k] < 0 && confirmed {
					r.DetectionSeconds[k] = now.Sub(faultAt).Seconds()
				}
			}
			prev = vs
		}
		if rc.Progress != nil && now.Sub(lastProgress) >= progressEvery {
			lastProgress = now
			running := 0
			for _, v := range vs {
				if v.Running {
					running++
				}
			}
			fmt.Fprintf(rc.Progress, "sim: %v simulated, %d of %d running, converged at %.1fs (-1: not yet), %.0f CPU s so far\n",
				now.Sub(start).Round(time.Second), running, rc.N, r.ConvergeSeconds, cpuSeconds()-cpu0)
		}
		time.Sleep(rc.Poll)
	}
	r.Simulated = time.Since(start).Seconds()
	r.intake(m.received())
	final := m.Observe()
	for _, v := range final {
		if !v.Running {
			r.Exits = append(r.Exits, fmt.Sprintf("node %d: code %d, %s", v.Index, v.Code, v.Reason))
		}
	}
	r.Problems = r.judge(final, faulted)
	m.Close()
	r.CPUSecondsPerNodeSecond = (cpuSeconds() - cpu0) / float64(rc.N) / r.Simulated
	return r, nil
}

// judge lists what the run fell short of (Report.Problems), given every
// node's final view and the nodes the scenario faulted.
func (r *Report) judge(final []View, faulted map[int]bool) []string {
	out := []string{}
	if r.ConvergeSeconds < 0 {
		out = append(out, "never converged: not every node healthy under one leader")
	}
	if r.KilledLeader != "" && r.FailoverSeconds < 0 {
		out = append(out, "the leader was killed and the others never agreed on another")
	}
	for k, v := range r.Victims {
		if r.DetectionSeconds[k] < 0 {
			out = append(out, fmt.Sprintf("node %d was cut off and never confirmed unhealthy", v))
		}
	}
	if len(r.FalseAlarms) > 0 {
		out = append(out, fmt.Sprintf("%d false alarms among the nodes not faulted (first: %s)", len(r.FalseAlarms), r.FalseAlarms[0]))
	}
	for _, v := range final {
		if !v.Running && !faulted[v.Index] {
			out = append(out, fmt.Sprintf("node %d exited though not faulted: code %d, %s", v.Index, v.Code, v.Reason))
		}
	}
	return out
}

// progressEvery is how often, in simulated time, Run reports progress.
const progressEvery = 10 * time.Second

// fault applies the scenario's faults once the mesh has converged.
func fault(m *Mesh, scenario string, vs []View, r *Report, faulted map[int]bool) error {
	cut := func(k int, together bool) error {
		r.Victims = pickVictims(vs, m, k)
		var groups [][]int
		for _, v := range r.Victims {
			faulted[v] = true
			r.DetectionSeconds = append(r.DetectionSeconds, -1)
			groups = append(groups, []int{v})
		}
		if together {
			groups = [][]int{r.Victims}
		}
		return m.Net.Partition(groups...)
	}
	kill := func() {
		for i, n := range m.Nodes {
			if n.ID.String() == r.Leader {
				faulted[i] = true
				r.KilledLeader, r.FailoverSeconds = r.Leader, -1
				m.Crash(i)
			}
		}
	}
	switch scenario {
	case "partition": // 10 % of the nodes cut off, each alone
		return cut(max(1, len(vs)/10), false)
	case "inbound-only", "outbound-only": // one follower hears, or says, nothing
		r.Victims = pickVictims(vs, m, 1)
		for _, v := range r.Victims {
			faulted[v] = true
			r.DetectionSeconds = append(r.DetectionSeconds, -1)
			m.Net.Cut(v, scenario == "inbound-only", scenario == "outbound-only")
		}
	case "zone-outage": // 10 % cut off together, and the leader killed
		if err := cut(max(1, len(vs)/10), true); err != nil {
			return err
		}
		kill()
	}
	return nil
}

// failedOver says whether every running node not faulted follows one
// leader other than the killed one.
func failedOver(vs []View, faulted map[int]bool, killed string) bool {
	leader := ""
	for i, v := range vs {
		if faulted[i] || !v.Running {
			continue
		}
		if v.Leader == "" || v.Leader == killed || (leader != "" && v.Leader != leader) {
			return false
		}
		leader = v.Leader
	}
	return leader != ""
}

// pickVictims are k followers, from the end of the list.
func pickVictims(vs []View, m *Mesh, k int) []int {
	var out []int
	for i := len(vs) - 1; i >= 0 && len(out) < k; i-- {
		if m.Nodes[i].ID.String() != vs[i].Leader {
			out = append(out, i)
		}
	}
	return out
}

// alarms are the status and leader changes between two observations of
// the nodes not faulted; leader changes do not count while failingOver.
func alarms(prev, vs []View, faulted map[int]bool, failingOver bool, at time.Duration) []string {
	var out []string
	for i, v := range vs {
		p := prev[i]
		if faulted[i] || !p.Running {
			continue
		}
		switch {
		case !v.Running:
			out = append(out, fmt.Sprintf("%v node %d stopped: code %d, %s", at, i, v.Code, v.Reason))
		case v.Status != p.Status:
			out = append(out, fmt.Sprintf("%v node %d status %s -> %s", at, i, p.Status, v.Status))
		case v.Leader != p.Leader && !failingOver:
			out = append(out, fmt.Sprintf("%v node %d leader changed (term %d -> %d)", at, i, p.Term, v.Term))
		}
	}
	return out
}

// intake sets the figures' whole-run message rates from the mesh's
// counts at the end.
func (f *Figures) intake(end received) {
	f.MessagesPerNodeSecond, f.MessagesByTopic = end.since(received{}, f.Nodes, f.Simulated)
}

// received is the mesh's meshhealth_pubsub_messages_received_total at one
// moment, in all and by topic.
type received struct {
	total   float64
	byTopic map[string]float64
}

// since is the intake per node per second between base and r, over
// seconds, in all and by topic.
func (r received) since(base received, nodes int, seconds float64) (perNode float64, byTopic map[string]float64) {
	per := float64(nodes) * seconds
	byTopic = map[string]float64{}
	for t, v := range r.byTopic {
		byTopic[t] = (v - base.byTopic[t]) / per
	}
	return (r.total - base.total) / per, byTopic
}

// received sums every running node's
// meshhealth_pubsub_messages_received_total, in all and by topic (a
// restarted node's count starts again at 0).
func (m *Mesh) received() received {
	total, byTopic := 0.0, map[string]float64{}
	for _, n := range m.Nodes {
		if n.Attached == nil {
			continue
		}
		mfs, err := n.Parts().Registry.Gather()
		if err != nil {
			continue
		}
		for _, mf := range mfs {
			if mf.GetName() != "meshhealth_pubsub_messages_received_total" {
				continue
			}
			for _, s := range mf.GetMetric() {
				v := s.GetCounter().GetValue()
				total += v
				for _, l := range s.GetLabel() {
					if l.GetName() == "topic" {
						byTopic[l.GetValue()] += v
					}
				}
			}
		}
	}
	return received{total: total, byTopic: byTopic}
}

// cpuSeconds is this process's user and system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// MaxRSSMiB is this process's peak resident memory.
func MaxRSSMiB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}
