package recovery

import (
	"maps"
	"slices"
	"time"
)

// Outcome is how a recovery ended; the label of
// meshhealth_recoveries_total.
type Outcome string

const (
	// Recovered: the failing checks passed again within the budget.
	Recovered Outcome = "recovered"
	// Exhausted: the budget was spent and a check still failed; the node
	// exits 3.
	Exhausted Outcome = "exhausted"
	// NotOwn: the evidence did not say the fault was this node's (it
	// still had its links and heard the mesh), so no step was tried and
	// the node exits 3 at once, as before recovery.
	NotOwn Outcome = "not_own"
	// Stopped: the node began stopping for another reason meanwhile.
	Stopped Outcome = "stopped"
)

// StepRun is one step tried.
type StepRun struct {
	Step     string    `json:"step"`
	Start    time.Time `json:"start"`
	Seconds  float64   `json:"seconds"`
	Error    string    `json:"error,omitempty"`
	TimedOut bool      `json:"timed_out,omitempty"`
}

// Record is one recovery, as /health shows it.
type Record struct {
	Checks  []string  `json:"checks"` // the critical checks that failed, first first
	Reason  string    `json:"reason"` // the first failure's, which an exit reports
	Start   time.Time `json:"start"`
	End     time.Time `json:"end,omitzero"`
	Seconds float64   `json:"seconds"`
	Steps   []StepRun `json:"steps"`
	Outcome Outcome   `json:"outcome,omitempty"`
	// FixedBy is the step after which the checks passed again (the one
	// under way, or the last one done).
	FixedBy string `json:"fixed_by,omitempty"`
}

// Current is the recovery under way.
type Current struct {
	Checks   []string  `json:"checks"`
	Step     string    `json:"step"` // "" between rounds
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"` // when the budget runs out
}

// Order asks the edge to run a step until its deadline.
type Order struct {
	Step     string
	Deadline time.Time
}

// Ready is what the core decided since it was last asked: what the edge
// must do now.
type Ready struct {
	Run   []Order  // steps to start
	Rerun []string // checks to run again now
	// Exit is the reason to hand to the shutdown manager ("" none).
	Exit string
	// Ended are the recoveries that ended, for the history and metrics.
	Ended []Record
	// Changed: what Current returns changed (publish it).
	Changed bool
}

type phase int

const (
	inStep phase = iota
	verifying
	pausing
)

type episode struct {
	rec      Record
	failing  map[string]bool
	deadline time.Time
	phase    phase
	phaseEnd time.Time
	next     int // index of the step to run next
	cur      string
	curStart time.Time
	last     string          // the last step started
	pending  map[string]bool // checks whose re-run is awaited
	since    time.Time       // results at or after it are re-runs
}

// Core is the decision core: no clock, no I/O, not safe for concurrent
// use (the Driver serialises it).
type Core struct {
	cfg     Config
	steps   []string
	ep      *episode
	history []Record
	out     Ready
}

// NewCore returns an idle core that tries steps in the given order,
// cheapest first.
func NewCore(cfg Config, steps []string) *Core {
	return &Core{cfg: cfg.withDefaults(), steps: slices.Clone(steps)}
}

// Fail is a critical check confirmed failing at now; own says whether the
// evidence says the fault is this node's own.
func (c *Core) Fail(now time.Time, check, reason string, own bool) {
	if c.ep != nil {
		if !c.ep.failing[check] {
			c.ep.failing[check] = true
			if !slices.Contains(c.ep.rec.Checks, check) {
				c.ep.rec.Checks = append(c.ep.rec.Checks, check)
			}
			c.out.Changed = true
		}
		return
	}
	if c.cfg.Budget <= 0 || len(c.steps) == 0 {
		c.out.Exit = reason
		return
	}
	if !own {
		c.out.Exit = reason
		c.end(Record{Checks: []string{check}, Reason: reason, Start: now, End: now, Outcome: NotOwn})
		return
	}
	c.ep = &episode{
		rec:      Record{Checks: []string{check}, Reason: reason, Start: now, Steps: []StepRun{}},
		failing:  map[string]bool{check: true},
		deadline: now.Add(c.cfg.Budget),
	}
	c.start(now)
}

// StepDone is the end of the step under way, with its error.
func (c *Core) StepDone(now time.Time, step string, err error) {
	ep := c.ep
	if ep == nil || ep.phase != inStep || ep.cur != step {
		return // ended meanwhile (the step's time ran out, or the recovery)
	}
	run := StepRun{Step: step, Start: ep.curStart, Seconds: now.Sub(ep.curStart).Seconds()}
	if err != nil {
		run.Error = err.Error()
	}
	c.verify(now, run)
}

// Result is one result of a check, written at at. Only the checks of the
// recovery under way matter: a pass takes the check off, and once none is
// left the recovery succeeded; a failure written after the last step's
// end is that step's verdict.
func (c *Core) Result(now time.Time, check string, passing bool, at time.Time) {
	ep := c.ep
	if ep == nil || !ep.failing[check] {
		return
	}
	if passing {
		delete(ep.failing, check)
		delete(ep.pending, check)
		if len(ep.failing) == 0 {
			ep.rec.FixedBy = ep.last
			c.finish(now, Recovered)
			return
		}
	} else if ep.phase == verifying && !at.Before(ep.since) {
		delete(ep.pending, check)
	}
	if ep.phase == verifying && len(ep.pending) == 0 {
		c.advance(now)
	}
}

// Tick advances time: a step or a wait that ran out of time ends, and a
// spent budget ends the recovery with an exit.
func (c *Core) Tick(now time.Time) {
	ep := c.ep
	if ep == nil {
		return
	}
	if !now.Before(ep.deadline) {
		if ep.phase == inStep {
			ep.rec.Steps = append(ep.rec.Steps, StepRun{Step: ep.cur, Start: ep.curStart,
				Seconds: now.Sub(ep.curStart).Seconds(), TimedOut: true})
		}
		c.out.Exit = ep.rec.Reason
		c.finish(now, Exhausted)
		return
	}
	if now.Before(ep.phaseEnd) {
		return
	}
	switch ep.phase {
	case inStep:
		c.verify(now, StepRun{Step: ep.cur, Start: ep.curStart, Seconds: now.Sub(ep.curStart).Seconds(), TimedOut: true})
	case verifying:
		c.advance(now)
	case pausing:
		c.start(now)
	}
}

// Stopping ends a recovery under way without an exit of its own: the node
// stops for another reason.
func (c *Core) Stopping(now time.Time) {
	if c.ep != nil {
		c.finish(now, Stopped)
	}
}

// Current is the recovery under way, or nil.
func (c *Core) Current() *Current {
	ep := c.ep
	if ep == nil {
		return nil
	}
	cur := &Current{Checks: slices.Clone(ep.rec.Checks), Since: ep.rec.Start, Deadline: ep.deadline}
	if ep.phase == inStep {
		cur.Step = ep.cur
	}
	return cur
}

// History is the last recoveries that ended, oldest first.
func (c *Core) History() []Record { return slices.Clone(c.history) }

// Ready returns and clears what was decided since the last call.
func (c *Core) Ready() Ready {
	r := c.out
	c.out = Ready{}
	return r
}

func (c *Core) start(now time.Time) {
	ep := c.ep
	ep.cur = c.steps[ep.next]
	ep.last = ep.cur
	ep.curStart = now
	ep.phase = inStep
	ep.phaseEnd = minTime(now.Add(c.cfg.StepTimeout), ep.deadline)
	c.out.Run = append(c.out.Run, Order{Step: ep.cur, Deadline: ep.phaseEnd})
	c.out.Changed = true
}

// verify records the step that ended and asks for the failing checks'
// re-run.
func (c *Core) verify(now time.Time, run StepRun) {
	ep := c.ep
	ep.rec.Steps = append(ep.rec.Steps, run)
	ep.phase = verifying
	ep.since = now
	ep.phaseEnd = minTime(now.Add(c.cfg.VerifyTimeout), ep.deadline)
	ep.pending = maps.Clone(ep.failing)
	c.out.Rerun = append(c.out.Rerun, slices.Sorted(maps.Keys(ep.failing))...)
	c.out.Changed = true
}

// advance moves to the next step, or to the pause that ends a round.
func (c *Core) advance(now time.Time) {
	ep := c.ep
	ep.next++
	if ep.next < len(c.steps) {
		c.start(now)
		return
	}
	ep.next = 0
	ep.phase = pausing
	ep.phaseEnd = minTime(now.Add(c.cfg.RoundPause), ep.deadline)
	c.out.Changed = true
}

func (c *Core) finish(now time.Time, o Outcome) {
	rec := c.ep.rec
	rec.End, rec.Outcome = now, o
	rec.Seconds = now.Sub(rec.Start).Seconds()
	c.ep = nil
	c.end(rec)
}

func (c *Core) end(rec Record) {
	c.history = append(c.history, rec)
	if over := len(c.history) - c.cfg.History; over > 0 {
		c.history = slices.Clone(c.history[over:])
	}
	c.out.Ended = append(c.out.Ended, rec)
	c.out.Changed = true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
