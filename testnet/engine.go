package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Cluster is what the engine drives: a *Testnet, or a fake in tests.
type Cluster interface {
	Observe(ctx context.Context, what Scrape) ([]NodeStatus, error)
	Apply(ctx context.Context, c Chaos) error
}

// Clock is the engine's time: real in the CLI, a fake that jumps on Sleep
// in tests, so a 60 s wait is checked without waiting.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time                                   { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

// Engine runs scenarios.
type Engine struct {
	Cluster Cluster
	// Clock defaults to the real one.
	Clock Clock
	// Out receives a line per step; nil discards.
	Out io.Writer
	// HoldFor, when set, replaces every hold step's for: (soak --duration).
	HoldFor time.Duration
	// OptionalHold is how long optional holds run (scenario --hold); zero
	// skips them.
	OptionalHold time.Duration
}

// maxViolations bounds how many failed polls and changes a hold lists.
const maxViolations = 20

type run struct {
	e      *Engine
	clock  Clock
	out    io.Writer
	labels map[string]label
	rep    *Report
}

// Run runs every step in order and stops at the first failure, which it
// returns as a *StepFailure. The report is complete either way.
func (e *Engine) Run(ctx context.Context, sc *Scenario, tn ReportTestnet) (*Report, error) {
	r := &run{e: e, clock: e.Clock, out: e.Out, labels: map[string]label{}}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.out == nil {
		r.out = io.Discard
	}
	r.rep = &Report{
		Scenario: sc.Name, Description: sc.Description, Source: sc.Source, Testnet: tn,
		StartedAt: r.clock.Now().UTC(), Measurements: map[string]float64{}, FromStart: map[string]float64{},
	}
	fmt.Fprintf(r.out, "scenario %s: %d steps on %d %s nodes\n", sc.Name, len(sc.Steps), tn.Nodes, tn.Mode)
	var failure error
	for i := range sc.Steps {
		s := &sc.Steps[i]
		sr := StepReport{Index: i + 1, Line: s.Line, Kind: s.Kind(), Description: s.Describe(), StartedAt: r.clock.Now().UTC()}
		fmt.Fprintf(r.out, "[%d/%d] %s ... ", i+1, len(sc.Steps), sr.Description)
		start := r.clock.Now()
		err := r.step(ctx, s, &sr)
		sr.Seconds = r.clock.Now().Sub(start).Seconds()
		sr.Passed = err == nil
		r.rep.Steps = append(r.rep.Steps, sr)
		if err != nil {
			fmt.Fprintf(r.out, "FAILED after %.1fs\n", sr.Seconds)
			var f *StepFailure
			if errors.As(err, &f) && f.Err == nil {
				fmt.Fprintf(r.out, "    expected: %s\n    seen:     %s\n", f.Expected, f.Seen)
			} else {
				fmt.Fprintf(r.out, "    %v\n", err)
			}
			f = &StepFailure{Index: i + 1, Line: s.Line, Step: sr.Description, Expected: sr.Expected, Seen: sr.Seen}
			if !errors.As(err, new(*StepFailure)) {
				f.Err = err
			}
			failure = f
			break
		}
		fmt.Fprintln(r.out, stepOK(&sr))
	}
	r.rep.Seconds = r.clock.Now().Sub(r.rep.StartedAt).Seconds()
	r.rep.Labels = r.labels
	if final, err := r.e.Cluster.Observe(context.WithoutCancel(ctx), Scrape{Metrics: true, Summary: true}); err == nil {
		r.rep.Final = final
	}
	if failure != nil {
		r.rep.Failure = failure.Error()
		fmt.Fprintf(r.out, "FAIL %s at step %d after %.1fs\n", sc.Name, len(r.rep.Steps), r.rep.Seconds)
		return r.rep, failure
	}
	r.rep.Passed = true
	fmt.Fprintf(r.out, "PASS %s in %.1fs\n", sc.Name, r.rep.Seconds)
	return r.rep, nil
}

func stepOK(sr *StepReport) string {
	if sr.Skipped {
		return "skipped (" + sr.Seen + ")"
	}
	line := "ok"
	switch sr.Kind {
	case "wait", "hold":
		line += fmt.Sprintf(" %.1fs", sr.Seconds)
	}
	switch {
	case sr.Node != "":
		line += ": " + sr.Node
	case sr.Seen != "" && sr.Kind != "hold":
		line += " (" + sr.Seen + ")"
	}
	if sr.TargetMet != nil {
		met := "met"
		if !*sr.TargetMet {
			met = "MISSED"
		}
		line += fmt.Sprintf(", target %gs %s", sr.TargetSeconds, met)
	}
	if h := sr.Hold; h != nil {
		line += fmt.Sprintf(" (%d polls, %d status changes, %d leader changes)", h.Polls, h.StatusChanges, h.LeaderChanges)
	}
	return line
}

func (r *run) step(ctx context.Context, s *Step, sr *StepReport) error {
	switch s.Kind() {
	case "wait":
		return r.wait(ctx, s, sr)
	case "assert":
		env, err := r.env(ctx, s.Assert)
		if err != nil {
			return err
		}
		return r.check(env, s, s.Assert, sr)
	case "hold":
		if s.Optional && r.e.OptionalHold <= 0 {
			sr.Skipped = true
			sr.Seen = "skipped: an optional hold runs only when asked for (--hold D)"
			return nil
		}
		return r.hold(ctx, s, sr)
	case "chaos":
		return r.chaos(ctx, s, sr)
	case "sleep":
		return r.clock.Sleep(ctx, s.Sleep.D())
	}
	return errors.New("empty step")
}

// scrapeFor reads /metrics only when a condition needs is_leader, and
// /health/summary only when one needs the connected peers.
func scrapeFor(conds []string) Scrape {
	var sc Scrape
	for _, c := range conds {
		switch c {
		case CondOneLeader, CondNewLeader, CondConverged:
			sc.Metrics = true
		case CondMaxPeers:
			sc.Summary = true
		case CondOutsidersOut:
			sc.Mesh = true
		}
	}
	return sc
}

// PromSource is a Cluster with a Prometheus on it: the prom-up and
// alert-* conditions ask it.
type PromSource interface {
	Prometheus(ctx context.Context) (*PromView, error)
}

func (r *run) env(ctx context.Context, conds []string) (*evalEnv, error) {
	obs, err := r.e.Cluster.Observe(ctx, scrapeFor(conds))
	if err != nil {
		return nil, err
	}
	env := &evalEnv{nodes: obs, labels: r.labels, now: r.clock.Now()}
	if slices.ContainsFunc(conds, func(c string) bool { return slices.Contains(promConds, c) }) {
		src, ok := r.e.Cluster.(PromSource)
		if !ok {
			return nil, errors.New("prom-up and alert-* need a testnet with Prometheus")
		}
		// An unanswered query is an unmet condition, not the end of the
		// step: a wait polls again, as it does for a node that does not
		// answer; only its timeout fails it.
		env.prom, env.promErr = src.Prometheus(ctx)
		if errors.Is(env.promErr, ErrNoPrometheus) {
			return nil, env.promErr
		}
	}
	return env, nil
}

// check evaluates conds on the step's nodes and fills the report; a
// failure is a *StepFailure.
func (r *run) check(env *evalEnv, s *Step, conds []string, sr *StepReport) error {
	idx, err := env.resolveSet(s.Nodes, s.Except)
	if err != nil {
		return err
	}
	v := env.eval(conds, idx, s)
	sr.Expected, sr.Seen = v.Expected, v.Seen
	if slices.Contains(conds, CondExited) {
		for _, i := range idx {
			if n := env.nodes[i]; n.Exit != nil {
				if sr.Exits == nil {
					sr.Exits = map[string]ExitInfo{}
				}
				sr.Exits[n.Name] = *n.Exit
			}
		}
	}
	if !v.OK {
		return &StepFailure{Expected: v.Expected, Seen: v.Seen}
	}
	return nil
}

func (r *run) wait(ctx context.Context, s *Step, sr *StepReport) error {
	timeout, poll := s.Timeout.D(), s.Poll.D()
	if timeout <= 0 {
		timeout = DefaultWaitTimeout
	}
	if poll <= 0 {
		poll = DefaultWaitPoll
	}
	conds := s.Wait
	if s.While != nil {
		conds = slices.Concat(conds, s.While.Cond)
	}
	start := r.clock.Now()
	for {
		env, err := r.env(ctx, conds)
		if err != nil {
			return err
		}
		if s.While != nil {
			idx, err := env.resolveSet(s.While.Nodes, s.While.Except)
			if err != nil {
				return err
			}
			if g := env.eval(s.While.Cond, idx, nil); !g.OK {
				sr.Expected, sr.Seen = "while waiting, "+g.Expected, g.Seen
				return &StepFailure{Expected: sr.Expected, Seen: sr.Seen}
			}
		}
		err = r.check(env, s, s.Wait, sr)
		elapsed := r.clock.Now().Sub(start)
		if err == nil {
			if s.Measure != "" {
				r.rep.Measurements[s.Measure] = elapsed.Seconds()
				if first, ok := firstStart(env.nodes); ok {
					r.rep.FromStart[s.Measure] = r.clock.Now().Sub(first).Seconds()
				}
			}
			if s.Target > 0 {
				met := elapsed <= s.Target.D()
				sr.TargetSeconds, sr.TargetMet = s.Target.D().Seconds(), &met
			}
			return nil
		}
		if gone := r.hopeless(env, s); gone != "" {
			var f *StepFailure
			if errors.As(err, &f) {
				f.Seen += "; " + gone + " exited, so waiting longer cannot help"
				sr.Seen = f.Seen
			}
			return err
		}
		if elapsed >= timeout {
			var f *StepFailure
			if errors.As(err, &f) {
				f.Expected = fmt.Sprintf("within %v, %s", timeout, f.Expected)
				sr.Expected = f.Expected
			}
			return err
		}
		if err := r.clock.Sleep(ctx, poll); err != nil {
			return err
		}
	}
}

// firstStart is when the earliest of the nodes' current processes
// started: a wait measured from there includes the testnet's own start-up
// (namespaces, processes), which a wait's own clock does not.
func firstStart(nodes []NodeStatus) (time.Time, bool) {
	var first time.Time
	for _, n := range nodes {
		if !n.StartedAt.IsZero() && (first.IsZero() || n.StartedAt.Before(first)) {
			first = n.StartedAt
		}
	}
	return first, !first.IsZero()
}

// hopeless names the selected nodes that have exited when the wait needs
// them alive: nothing in the scenario brings them back, so the wait fails
// now rather than at its timeout.
func (r *run) hopeless(env *evalEnv, s *Step) string {
	for _, c := range s.Wait {
		if c == CondExited || c == CondNotHealthy || c == CondNotReady {
			return ""
		}
	}
	idx, err := env.resolveSet(s.Nodes, s.Except)
	if err != nil {
		return ""
	}
	var gone []string
	for _, i := range idx {
		if env.nodes[i].Status == StatusExited {
			gone = append(gone, env.nodes[i].Name)
		}
	}
	return strings.Join(gone, ",")
}

func (r *run) hold(ctx context.Context, s *Step, sr *StepReport) error {
	dur, poll := s.For.D(), s.Poll.D()
	switch {
	case s.Optional:
		dur = r.e.OptionalHold
	case r.e.HoldFor > 0:
		dur = r.e.HoldFor
	}
	if poll <= 0 {
		poll = DefaultHoldPoll
	}
	h := &HoldReport{}
	sr.Hold = h
	note := func(list *[]string, format string, a ...any) {
		if len(*list) < maxViolations {
			*list = append(*list, fmt.Sprintf(format, a...))
		}
	}
	start := r.clock.Now()
	prevStatus, prevLeader := map[int]string{}, map[int]string{}
	var seen string
	for {
		env, err := r.env(ctx, s.Hold)
		if err != nil {
			return err
		}
		at := r.clock.Now().Sub(start).Truncate(100 * time.Millisecond)
		idx, err := env.resolveSet(s.Nodes, s.Except)
		if err != nil {
			return err
		}
		v := env.eval(s.Hold, idx, s)
		sr.Expected, seen = v.Expected, v.Seen
		h.Polls++
		if !v.OK {
			h.FailedPolls++
			note(&h.Violations, "+%v: %s", at, v.Seen)
		}
		for _, i := range idx {
			n := env.nodes[i]
			if p, ok := prevStatus[i]; ok && p != n.Status {
				h.StatusChanges++
				if n.Status == StatusExited {
					h.Exits++
				}
				note(&h.Changes, "+%v: %s %s→%s", at, n.Name, p, n.Status)
			}
			if p, ok := prevLeader[i]; ok && p != n.Leader && n.reporting() {
				h.LeaderChanges++
				note(&h.Changes, "+%v: %s leader %s→%s", at, n.Name, env.nameOf(p), env.nameOf(n.Leader))
			}
			prevStatus[i] = n.Status
			if n.reporting() {
				prevLeader[i] = n.Leader
			}
		}
		if r.clock.Now().Sub(start) >= dur {
			break
		}
		if err := r.clock.Sleep(ctx, poll); err != nil {
			return err
		}
	}
	changes := h.StatusChanges + h.LeaderChanges
	sr.Seen = fmt.Sprintf("%d status changes (%d exits), %d leader changes, %d of %d polls failing; last: %s", h.StatusChanges, h.Exits, h.LeaderChanges, h.FailedPolls, h.Polls, seen)
	if changes > s.MaxChanges || h.FailedPolls > 0 {
		sr.Expected = fmt.Sprintf("for %v, %s at every poll and at most %d status or leader changes", dur, sr.Expected, s.MaxChanges)
		return &StepFailure{Expected: sr.Expected, Seen: sr.Seen}
	}
	return nil
}

func (r *run) chaos(ctx context.Context, s *Step, sr *StepReport) error {
	env, err := r.env(ctx, []string{CondOneLeader})
	if err != nil {
		return err
	}
	target, err := env.target(s.Node)
	if err != nil {
		return err
	}
	n := env.nodes[target]
	sr.Node = fmt.Sprintf("%s (%s)", n.Name, ShortID(n.PeerID))
	if s.As != "" {
		l := label{Node: target, PeerID: n.PeerID}
		if li, ok := env.agreedLeader(); ok {
			l.Leader = env.nodes[li].PeerID
		}
		for _, o := range env.nodes {
			if o.reporting() && o.Term > l.Term {
				l.Term = o.Term
			}
		}
		r.labels["@"+s.As] = l
	}
	return r.e.Cluster.Apply(ctx, Chaos{Action: s.Chaos, Node: n.Node, Component: s.Component, Fault: s.Fault})
}
