package awareness

import (
	"slices"
	"time"
)

// StallThreshold is how much later than its period a tick may come before
// this process counts as stalled. An idle machine schedules a timer within
// microseconds and a GC pause is sub-millisecond, while a machine starved
// for CPU (50 nodes starting on two cores) delays ticks by hundreds of
// milliseconds: what this process sees then says more about the machine
// than about the mesh. Overload is not a reason to die.
const StallThreshold = 200 * time.Millisecond

// PauseThreshold is how late a tick may be before the stall counts as a
// pause of the whole process (SIGSTOP, a VM pause): connections, streams
// and timers broke meanwhile, so the health manager re-runs every check
// and grants a resume grace. Longer than StallThreshold, so that mere
// starvation does not re-run every check and add load.
const PauseThreshold = time.Second

// SampleEvery is how often the run-queue wait is sampled. Starvation is
// known one sample after the fact, so it is taken to go on for two samples
// after the last one that found it.
const SampleEvery = time.Second

// DefaultTickPeriod is the ticker's period: four looks a second find a
// stall within a quarter of a second of its end.
const DefaultTickPeriod = 250 * time.Millisecond

// starveRatio is the share of wall time this process's threads may spend
// waiting for a CPU before the process counts as starved: above it, a
// quarter of a thread's time (or more) went waiting in the kernel's run
// queue. A loaded but coping machine stays far below; 50 nodes on two
// cores go far above.
const starveRatio = 0.25

// MaxScale caps Scale, as memberlist's AwarenessMaxMultiplier: a timeout
// stretched eightfold is already long enough for a struggling node to
// answer, and longer would only delay finding a real failure.
const MaxScale = 8

const maxWindows = 16

// Window is a span during which this process was stalled (a tick came
// late: Late is by how much) or starved of CPU (found by the run-queue
// sampler).
type Window struct {
	From, To time.Time
	Late     time.Duration // how late the tick that ended it came; 0 for starvation
	Starved  bool
}

// Pause reports whether the window is a pause of the whole process rather
// than a stall or starvation.
func (w Window) Pause() bool { return w.Late > PauseThreshold }

func (w Window) overlaps(from, to time.Time) bool { return w.From.Before(to) && w.To.After(from) }

// Core decides, from ticks and run-queue samples fed to it with their
// times, when this process was stalled, paused or starved, and how far its
// timeouts stretch. Like the health core and liveness's Table it reads no
// clock and does no I/O; it is not safe for concurrent use (Awareness
// serialises it).
type Core struct {
	period time.Duration

	lastTick time.Time // zero: not ticking (before the first tick, after Stop)

	sampleAt      time.Time
	sampleWait    time.Duration
	sampleOK      bool
	sampleStarved bool // the last sample found starvation

	windows []Window // recent, oldest first
	pause   Window   // the latest pause; zero: none
	score   int      // Lifeguard's local health score, 0 to MaxScale-1

	out []Window
}

// NewCore returns a core for a ticker of the given period (<= 0:
// DefaultTickPeriod).
func NewCore(period time.Duration) *Core {
	if period <= 0 {
		period = DefaultTickPeriod
	}
	return &Core{period: period}
}

// Period is the ticker's period.
func (c *Core) Period() time.Duration { return c.period }

// Tick is the ticker's heartbeat. A tick later than StallThreshold past its
// period ends a stall window from the previous tick to now.
func (c *Core) Tick(now time.Time) {
	prev := c.lastTick
	c.lastTick = now
	if prev.IsZero() {
		return
	}
	if late := now.Sub(prev) - c.period; late > StallThreshold {
		w := Window{From: prev, To: now, Late: late}
		if w.Pause() {
			c.pause = w
		}
		c.add(w)
		c.raise()
	}
}

// Stop ends the ticking: no stall is in progress from now on, however long
// the next tick takes.
func (c *Core) Stop() { c.lastTick = time.Time{} }

// SampleDue reports whether a run-queue sample is due at now.
func (c *Core) SampleDue(now time.Time) bool {
	return c.sampleAt.IsZero() || now.Sub(c.sampleAt) >= SampleEvery
}

// Sample feeds the kernel's account of how long this process's threads
// have waited for a CPU in all (ok false: unknown here). Starvation is
// that wait growing by more than a quarter of the wall time since the
// previous sample. A sample under SampleEvery after the previous one is
// ignored, and it reports whether this one was taken.
func (c *Core) Sample(now time.Time, wait time.Duration, ok bool) bool {
	if !c.SampleDue(now) {
		return false
	}
	prev, prevWait, prevOK := c.sampleAt, c.sampleWait, c.sampleOK
	c.sampleAt, c.sampleWait, c.sampleOK = now, wait, ok
	starved := ok && prevOK && !prev.IsZero() && now.After(prev) &&
		float64(wait-prevWait)/float64(now.Sub(prev)) > starveRatio
	c.sampleStarved = starved
	if !starved {
		// A round that found no starvation (or could not look) is a good
		// one: the score decays, as Lifeguard's does on a successful probe.
		c.score = max(c.score-1, 0)
		return true
	}
	c.add(Window{From: prev, To: now, Starved: true})
	c.raise()
	return true
}

func (c *Core) raise() { c.score = min(c.score+1, MaxScale-1) }

// add keeps w, merged with the latest window when they touch, so a long
// overload is one window and does not push older ones out.
func (c *Core) add(w Window) {
	c.out = append(c.out, w)
	if n := len(c.windows); n > 0 && !c.windows[n-1].To.Before(w.From) {
		last := &c.windows[n-1]
		if w.To.After(last.To) {
			last.To = w.To
		}
		if w.From.Before(last.From) {
			last.From = w.From
		}
		last.Late = max(last.Late, w.Late)
		last.Starved = last.Starved || w.Starved
		return
	}
	c.windows = append(c.windows, w)
	if len(c.windows) > maxWindows {
		c.windows = c.windows[len(c.windows)-maxWindows:]
	}
}

// Ready returns the windows found since the last call, in order, and
// forgets them.
func (c *Core) Ready() []Window {
	out := c.out
	c.out = nil
	return out
}

// stalling is the stall in progress at t: the ticker has not ticked since
// lastTick, later than the threshold allows.
func (c *Core) stalling(t time.Time) bool {
	return !c.lastTick.IsZero() && t.Sub(c.lastTick)-c.period > StallThreshold
}

// starving reports whether starvation is taken to go on at t: the last
// sample found it, under two samples ago.
func (c *Core) starving(t time.Time) bool {
	return c.sampleStarved && t.Sub(c.sampleAt) < 2*SampleEvery
}

// StalledDuring reports whether this process was stalled, paused or
// starved at any time in [from, to], or still is at to. What it saw then
// is evidence about this machine, not about the mesh.
func (c *Core) StalledDuring(from, to time.Time) bool {
	if c.stalling(to) {
		return true
	}
	for _, w := range c.windows {
		if w.overlaps(from, to) {
			return true
		}
	}
	return c.StarvedDuring(from, to)
}

// StarvedDuring reports whether the run-queue sampler found this process
// starved of CPU in [from, to], or takes it to be still starved at to.
func (c *Core) StarvedDuring(from, to time.Time) bool {
	for _, w := range c.windows {
		if w.Starved && w.overlaps(from, to) {
			return true
		}
	}
	return c.starving(to)
}

// Starved reports whether this process is taken to be starved of CPU at
// now.
func (c *Core) Starved(now time.Time) bool { return c.starving(now) }

// Lost is how much of [from, to] this process spent stalled, paused or
// starved: time it must not count as anybody's silence. A stall in
// progress counts from the last tick, starvation still going on from the
// last sample.
func (c *Core) Lost(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	spans := make([]Window, 0, len(c.windows)+2)
	for _, w := range c.windows {
		if w.overlaps(from, to) {
			spans = append(spans, w)
		}
	}
	if c.stalling(to) {
		spans = append(spans, Window{From: c.lastTick, To: to})
	}
	if c.starving(to) {
		spans = append(spans, Window{From: c.sampleAt, To: to})
	}
	slices.SortFunc(spans, func(a, b Window) int { return a.From.Compare(b.From) })
	var lost time.Duration
	cursor := from // the union is summed once: spans may overlap
	for _, s := range spans {
		start, end := later(s.From, cursor), earlier(s.To, to)
		if end.After(start) {
			lost += end.Sub(start)
			cursor = end
		}
	}
	return lost
}

// LastPause is when the latest pause of this process began, whether it is
// over or still going on at now; zero if there was none. Its start names
// it: a reader that has handled the pause that began then knows it has.
func (c *Core) LastPause(now time.Time) time.Time {
	if !c.lastTick.IsZero() && now.Sub(c.lastTick)-c.period > PauseThreshold {
		return c.lastTick
	}
	return c.pause.From
}

// Scale is how many times longer than usual a timeout should be now, from
// 1 to MaxScale: Lifeguard's local health multiplier. Each stall and each
// starved sample raises it by one, each sample without starvation lowers
// it by one, so a struggling process gives its peers longer to answer
// instead of accusing them, and is back to its usual timeouts within
// seconds of recovering.
func (c *Core) Scale() int { return c.score + 1 }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
