package health

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// The core's rules, tested as tables: each case is a script of events at
// explicit times since t0, fed to a core directly. No goroutine, no clock,
// no synctest; the Manager's own tests cover the edge (scheduler,
// watchdog, HTTP) end to end.

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// step is one event of a script. kind is one of: pass, fail, panic (a run
// of check that took 10 ms and ended at at), slow (a pass with latency
// lat), degraded (a pass with Result.Degraded), tick (the scheduler,
// and the awareness' ticker, late by nothing unless a gap in the script
// makes it so), starved (the scheduler's tick, and the awareness' ticks on
// time but its run-queue sampler finding starvation since lat before), watch (the watchdog, on time),
// wake (the awareness' first tick after a pause of the process, then the
// watchdog's),
// stopping, decline (the hand-off said no), register (check, at at),
// trigger, abandon (the run that started at at-lat ignored its timeout),
// return (the abandoned run that started at at-lat returned).
type step struct {
	at    time.Duration
	kind  string
	check string // default "c"
	lat   time.Duration
}

func at(d time.Duration, kind string) step { return step{at: d, kind: kind} }

// ticks are the scheduler's ticks, on time, from from to to.
func ticks(from, to time.Duration) []step {
	var out []step
	for d := from; d <= to; d += 250 * time.Millisecond {
		out = append(out, at(d, "tick"))
	}
	return out
}

func script(parts ...[]step) []step { return slices.Concat(parts...) }

func on(d time.Duration, kind, check string) step { return step{at: d, kind: kind, check: check} }

// coreLog is everything a script made the core say.
type coreLog struct {
	k           *core
	snap        *Snapshot
	outcomes    map[string][]string // per check, in order
	handOffs    []string
	transitions []Transition
	launches    []string
	resumed     int
	suppression []bool
}

func (l *coreLog) take() ready {
	rd := l.k.ready()
	if rd.snap != nil {
		l.snap = rd.snap
	}
	for _, r := range rd.results {
		l.outcomes[r.check] = append(l.outcomes[r.check], r.s.outcome)
	}
	l.handOffs = append(l.handOffs, rd.handOff...)
	l.transitions = append(l.transitions, rd.transitions...)
	for _, x := range rd.launch {
		l.launches = append(l.launches, x.def.Name)
	}
	if rd.resumed {
		l.resumed++
	}
	l.suppression = append(l.suppression, rd.suppression...)
	return rd
}

// view is the check's view in the last snapshot.
func (l *coreLog) view(t *testing.T, name string) CheckView {
	t.Helper()
	v, ok := l.snap.Checks[name]
	if !ok {
		t.Fatalf("check %s not in the snapshot", name)
	}
	return v
}

// coreCheck is a check as Register would keep it: defaults applied.
func coreCheck(name string, critical bool) Check {
	return withDefaults(Check{Name: name, Component: ComponentP2P, Critical: critical,
		Interval: 5 * time.Second, Timeout: time.Second,
		Checker: func(context.Context) Result { return Result{Healthy: true} }}, DefaultConfig().Debounce)
}

func compCheck(name, component string) Check {
	c := coreCheck(name, false)
	c.Component = component
	return c
}

// unaware is an awareness that never ticked: it never finds this process
// stalled.
func unaware() *awareness.Core { return awareness.NewCore(0) }

// runScript registers checks at t0 (default: one non-critical check "c"),
// starts at t0 and plays the steps. The scheduler's and the awareness'
// ticks, on time, are implied before every step, so that no stall appears
// unless a step says so.
func runScript(t *testing.T, cfg Config, checks []Check, steps []step) *coreLog {
	t.Helper()
	if checks == nil {
		checks = []Check{coreCheck("c", false)}
	}
	aw := awareness.NewCore(cfg.TickPeriod)
	awLast := t0
	aw.Tick(t0)
	// awTick is the awareness' tick at now, late if the script left a gap.
	awTick := func(now time.Time) {
		if now.After(awLast) {
			aw.Tick(now)
			awLast = now
		}
	}
	// onTime brings the awareness' ticker to now without a late tick.
	onTime := func(now time.Time) {
		for d := awLast.Add(aw.Period()); d.Before(now); d = d.Add(aw.Period()) {
			awTick(d)
		}
		awTick(now)
	}
	var starvedWait time.Duration
	k := newCore(cfg, rand.New(rand.NewPCG(1, 2)), aw)
	l := &coreLog{k: k, outcomes: map[string][]string{}}
	for _, c := range checks {
		if err := k.register(c, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.start(t0); err != nil {
		t.Fatal(err)
	}
	l.take()
	for _, s := range steps {
		now := t0.Add(s.at)
		name := s.check
		if name == "" {
			name = "c"
		}
		// The scheduler and the awareness are on time unless the script
		// says otherwise: ticks and abandoned runs are about lateness,
		// wake about a pause.
		switch s.kind {
		case "tick", "trigger":
			awTick(now)
		case "starved":
			onTime(now) // starved, yet ticking: not paused
		case "abandon", "wake":
		default:
			k.lastTick = now
			onTime(now)
		}
		result := func(r Result, outcome string) {
			if c := k.byName[name]; c != nil {
				c.running = true
			}
			k.finished(name, now.Add(-10*time.Millisecond), now, r, outcome)
		}
		switch s.kind {
		case "pass":
			result(Result{Healthy: true, Latency: 10 * time.Millisecond}, outcomeSuccess)
		case "slow":
			result(Result{Healthy: true, Latency: s.lat}, outcomeSuccess)
		case "degraded":
			result(Result{Healthy: true, Degraded: true, Message: "last peer left", Latency: time.Millisecond}, outcomeSuccess)
		case "fail":
			result(Result{Message: "broken", Latency: 10 * time.Millisecond}, outcomeFailure)
		case "panic":
			result(Result{Message: "panic: boom"}, outcomePanic)
		case "tick":
			k.tick(now, nil)
		case "starved":
			aw.Sample(now.Add(-s.lat), starvedWait, true)
			starvedWait += s.lat
			aw.Sample(now, starvedWait, true)
			k.tick(now, nil)
		case "trigger":
			k.tick(now, []string{name})
		case "watch":
			k.watch(now)
		case "wake":
			awTick(now) // the awareness' first tick after a pause
			k.watch(now)

		case "stopping":
			k.setStopping("SIGTERM", now)
		case "decline":
			k.declined(now)
		case "register":
			c := coreCheck(name, false)
			if err := k.register(c, now); err != nil {
				t.Fatal(err)
			}
		case "abandon":
			k.abandoned(name, now.Add(-s.lat), now)
		case "return":
			k.returned(name, now.Add(-s.lat))
		default:
			t.Fatalf("unknown step %q", s.kind)
		}
		l.take()
	}
	return l
}

func noGrace() Config {
	cfg := testConfig()
	cfg.StartupGrace = 0
	return cfg
}

func TestCoreDebounce(t *testing.T) {
	// Results one second apart; states after each, u(nknown) p(assing)
	// f(ailing).
	tests := []struct {
		name         string
		failT, succT int
		results      string
		want         string
	}{
		{"one pass from unknown", 3, 1, "P", "p"},
		{"failures below the threshold leave unknown", 3, 1, "FF", "uu"},
		{"the third failure confirms", 3, 1, "PFFF", "pppf"},
		{"a pass resets the failure streak", 3, 1, "PFFPFF", "pppppp"},
		{"one pass recovers at threshold 1", 3, 1, "FFFP", "uufp"},
		{"recovery needs two passes in a row", 3, 2, "FFFPFP", "uuffff"},
		{"recovery after two passes", 3, 2, "FFFPP", "uuffp"},
		{"threshold 1 fails at once", 1, 1, "PF", "pf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := coreCheck("c", false)
			c.FailureThreshold, c.SuccessThreshold = tc.failT, tc.succT
			k := newCore(noGrace(), rand.New(rand.NewPCG(1, 2)), unaware())
			l := &coreLog{k: k, outcomes: map[string][]string{}}
			if err := k.register(c, t0); err != nil {
				t.Fatal(err)
			}
			if err := k.start(t0); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for i, r := range tc.results {
				now := t0.Add(time.Duration(i+1) * time.Second)
				k.lastTick = now
				res, outcome := Result{Healthy: true}, outcomeSuccess
				if r == 'F' {
					res, outcome = Result{Message: "broken"}, outcomeFailure
				}
				k.finished("c", now.Add(-time.Millisecond), now, res, outcome)
				l.take()
				got.WriteByte(l.view(t, "c").State[0])
			}
			if got.String() != tc.want {
				t.Fatalf("states %q, want %q", got.String(), tc.want)
			}
		})
	}
}

func TestCoreConfirmsFailuresByRetryAndBacksOffWhenStalled(t *testing.T) {
	cfg := noGrace()
	tests := []struct {
		name  string
		steps []step
		// wantNext is when check c is next due, since t0.
		wantNext time.Duration
	}{
		{"a pass waits its interval", []step{at(time.Second, "pass")}, 6 * time.Second},
		{"an unconfirmed failure retries fast", []step{at(time.Second, "fail")}, time.Second + cfg.RetryInterval},
		{"a confirmed failure waits its interval", []step{at(time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail")},
			8 * time.Second},
		// A stall from 0.5 s to 1 s (the tick came 500 ms late): the
		// failures in it are not counted and back off, 500 ms, 1 s, 2 s, ...
		// up to the interval.
		{"a local-stall failure backs off", []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"), at(time.Second, "fail")},
			time.Second + cfg.RetryInterval},
		{"a second one waits twice as long", []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"),
			at(time.Second, "fail"), at(1100*time.Millisecond, "tick"), {at: 1100 * time.Millisecond, kind: "abandon", lat: 500 * time.Millisecond}},
			1100*time.Millisecond + 2*cfg.RetryInterval},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, nil, tc.steps)
			if got := l.k.byName["c"].next.Sub(t0); got != tc.wantNext {
				t.Fatalf("next run at %v, want %v (outcomes %v)", got, tc.wantNext, l.outcomes["c"])
			}
		})
	}
}

func TestCoreStartupGrace(t *testing.T) {
	cfg := testConfig()
	cfg.StartupGrace = 30 * time.Second
	tests := []struct {
		name         string
		steps        []step
		wantOutcomes []string
		wantState    State
		wantStatus   Status
		wantMsg      string // in the check's message
	}{
		{"failures before the first pass are warm-up", []step{at(1*time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail"), at(4*time.Second, "fail")},
			[]string{outcomeWarmup, outcomeWarmup, outcomeWarmup, outcomeWarmup}, StateUnknown, StatusStarting, "starting up: not counted"},
		{"the first pass ends the warm-up", []step{at(time.Second, "fail"), at(2*time.Second, "pass"), at(3*time.Second, "fail"), at(4*time.Second, "fail"), at(5*time.Second, "fail")},
			[]string{outcomeWarmup, outcomeSuccess, outcomeFailure, outcomeFailure, outcomeFailure}, StateFailing, StatusDegraded, "broken"},
		{"after the grace every failure counts", []step{at(31*time.Second, "fail"), at(32*time.Second, "fail"), at(33*time.Second, "fail")},
			[]string{outcomeFailure, outcomeFailure, outcomeFailure}, StateFailing, StatusDegraded, "broken"},
		{"no result within the grace is a failure", []step{at(31*time.Second, "watch")},
			nil, StateFailing, StatusDegraded, "no result within the startup grace"},
		{"no result yet within the grace holds starting", []step{at(10*time.Second, "watch")},
			nil, StateUnknown, StatusStarting, "no result yet"},
		{"a pass within the grace is healthy", []step{at(time.Second, "pass")},
			[]string{outcomeSuccess}, StatePassing, StatusHealthy, "ok"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, nil, tc.steps)
			v := l.view(t, "c")
			if !slices.Equal(l.outcomes["c"], tc.wantOutcomes) || v.State != tc.wantState || l.snap.Status != tc.wantStatus ||
				!strings.Contains(v.Message, tc.wantMsg) {
				t.Fatalf("outcomes %v state %s status %s message %q; want %v %s %s %q",
					l.outcomes["c"], v.State, l.snap.Status, v.Message, tc.wantOutcomes, tc.wantState, tc.wantStatus, tc.wantMsg)
			}
		})
	}

	t.Run("a check registered late has its own grace", func(t *testing.T) {
		l := runScript(t, cfg, nil, []step{at(time.Second, "pass"),
			on(100*time.Second, "register", "late"), on(101*time.Second, "fail", "late")})
		if got := l.outcomes["late"]; !slices.Equal(got, []string{outcomeWarmup}) {
			t.Fatalf("late check's first failure: %v, want warm-up", got)
		}
	})
	t.Run("the grace's end is a deadline the watchdog acts on", func(t *testing.T) {
		l := runScript(t, cfg, nil, nil)
		if got := l.k.deadline.Sub(t0); got != 30*time.Second {
			t.Fatalf("deadline %v, want the grace's end", got)
		}
	})
}

func TestCoreStaleness(t *testing.T) {
	// Interval 5 s, timeout 1 s: a result is stale after 2 x 5 + 1 = 11 s.
	tests := []struct {
		name      string
		steps     []step
		wantStale bool
		wantState State
	}{
		{"fresh at the limit", []step{at(time.Second, "pass"), at(12*time.Second, "watch")}, false, StatePassing},
		{"stale just past the limit", []step{at(time.Second, "pass"), at(12*time.Second+time.Millisecond, "watch")}, true, StateFailing},
		{"a new result is fresh again", []step{at(time.Second, "pass"), at(13*time.Second, "watch"), at(14*time.Second, "pass")}, false, StatePassing},
		// No result because the process is starved of CPU (its ticks say
		// so): stale, but degraded rather than failing.
		{"stale while starved is not failing", []step{at(time.Second, "pass"), {at: 12 * time.Second, kind: "starved", lat: 5 * time.Second},
			at(12*time.Second+time.Millisecond, "watch")}, true, StatePassing},
		{"stale once the starvation is long over fails", []step{at(time.Second, "pass"), {at: 6 * time.Second, kind: "starved", lat: time.Second},
			at(12*time.Second+time.Millisecond, "watch")}, true, StateFailing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, noGrace(), nil, tc.steps)
			if v := l.view(t, "c"); v.Stale != tc.wantStale || v.State != tc.wantState {
				t.Fatalf("stale %v state %s (%s), want %v %s", v.Stale, v.State, v.Message, tc.wantStale, tc.wantState)
			}
		})
	}
	t.Run("the deadline is the staleness limit", func(t *testing.T) {
		l := runScript(t, noGrace(), nil, []step{at(time.Second, "pass")})
		if got := l.k.deadline.Sub(t0); got != 12*time.Second+time.Nanosecond {
			t.Fatalf("deadline %v", got)
		}
	})
}

func TestCorePauseAndResume(t *testing.T) {
	cfg := noGrace() // resume grace 10 s, pause threshold 1 s
	crit := []Check{coreCheck("c", true)}
	tests := []struct {
		name         string
		steps        []step
		wantOutcomes []string
		wantState    State
		wantHandOffs int
	}{
		// The watchdog ticked at 1 s, then nothing ran for 40 s.
		{"results that aged during a pause are not judged", []step{at(time.Second, "pass"), at(41*time.Second, "wake")},
			[]string{outcomeSuccess}, StatePassing, 0},
		{"failures within the resume grace are not counted", []step{at(time.Second, "pass"), at(41*time.Second, "wake"),
			at(41500*time.Millisecond, "fail"), at(42*time.Second, "fail"), at(43*time.Second, "fail")},
			[]string{outcomeSuccess, outcomeWarmup, outcomeWarmup, outcomeWarmup}, StatePassing, 0},
		{"failures after the resume grace count", []step{at(time.Second, "pass"), at(41*time.Second, "wake"),
			at(52*time.Second, "fail"), at(53*time.Second, "fail"), at(54*time.Second, "fail")},
			[]string{outcomeSuccess, outcomeFailure, outcomeFailure, outcomeFailure}, StateFailing, 1},
		{"a silent check still goes stale, from the resume", []step{at(time.Second, "pass"), at(41*time.Second, "wake"),
			at(52*time.Second+time.Millisecond, "watch")}, []string{outcomeSuccess}, StateFailing, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, crit, tc.steps)
			v := l.view(t, "c")
			if !slices.Equal(l.outcomes["c"], tc.wantOutcomes) || v.State != tc.wantState || len(l.handOffs) != tc.wantHandOffs {
				t.Fatalf("outcomes %v state %s (%s) hand-offs %v", l.outcomes["c"], v.State, v.Message, l.handOffs)
			}
			if l.resumed != 1 {
				t.Fatalf("resumed %d times, want once", l.resumed)
			}
		})
	}
	// A pass at 1 s makes the next run due at 6 s; a pause ending at 3 s
	// makes it due at once.
	for _, tc := range []struct {
		name string
		wake string
		want int
	}{{"a resume re-runs every check", "wake", 1}, {"without a pause the check waits", "watch", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, crit, []step{at(time.Second, "pass"), at(3*time.Second, tc.wake), at(3*time.Second, "tick")})
			if len(l.launches) != tc.want {
				t.Fatalf("launches %v, want %d", l.launches, tc.want)
			}
		})
	}
}

func TestCoreLocalStallDiscount(t *testing.T) {
	cfg := noGrace() // tick 250 ms, stall threshold 200 ms
	tests := []struct {
		name         string
		steps        []step
		wantOutcomes []string
		wantState    State
	}{
		{"a failure during a late tick is not counted", []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"),
			at(time.Second, "fail"), at(1100*time.Millisecond, "fail"), at(1200*time.Millisecond, "fail")},
			[]string{outcomeLocalStall, outcomeFailure, outcomeFailure}, StateUnknown},
		{"a failure while the scheduler is still stalled is not counted", []step{at(250*time.Millisecond, "tick"),
			{at: 2 * time.Second, kind: "abandon", lat: time.Second}},
			[]string{outcomeLocalStall}, StateUnknown},
		{"a failure during starvation is not counted", []step{{at: 2 * time.Second, kind: "starved", lat: time.Second},
			at(2100*time.Millisecond, "fail"), at(2200*time.Millisecond, "fail"), at(2300*time.Millisecond, "fail")},
			[]string{outcomeLocalStall, outcomeLocalStall, outcomeLocalStall}, StateUnknown},
		{"nor while it is probably still going on", []step{{at: 2 * time.Second, kind: "starved", lat: time.Second},
			at(3900*time.Millisecond, "fail")},
			[]string{outcomeLocalStall}, StateUnknown},
		{"starvation long over is not an excuse", []step{{at: 2 * time.Second, kind: "starved", lat: time.Second},
			at(4100*time.Millisecond, "fail"), at(4200*time.Millisecond, "fail"), at(4300*time.Millisecond, "fail")},
			[]string{outcomeFailure, outcomeFailure, outcomeFailure}, StateFailing},
		{"a panic is a bug, not a stall", []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"), at(time.Second, "panic")},
			[]string{outcomePanic}, StateUnknown},
		{"passes are recorded as passes", []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"), at(time.Second, "pass")},
			[]string{outcomeSuccess}, StatePassing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, nil, tc.steps)
			v := l.view(t, "c")
			if !slices.Equal(l.outcomes["c"], tc.wantOutcomes) || v.State != tc.wantState {
				t.Fatalf("outcomes %v state %s, want %v %s", l.outcomes["c"], v.State, tc.wantOutcomes, tc.wantState)
			}
		})
	}
}

func TestCoreStatusRule(t *testing.T) {
	slo := DefaultLatencySLO
	tests := []struct {
		name       string
		checks     []Check
		steps      []step
		wantStatus Status
		wantMsg    string
	}{
		{"all passing", nil, []step{at(time.Second, "pass")}, StatusHealthy, "all checks passing"},
		{"a non-critical failure is degraded", nil, []step{at(time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail")},
			StatusDegraded, "check c failing: broken"},
		{"a critical failure is unhealthy", []Check{coreCheck("c", true)}, []step{at(time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail")},
			StatusUnhealthy, "critical check c failing: broken"},
		{"unconfirmed failures leave the status", []Check{coreCheck("c", true)}, []step{at(time.Second, "pass"), at(2*time.Second, "fail"), at(3*time.Second, "fail")},
			StatusHealthy, "all checks passing"},
		{"a degraded pass is degraded", []Check{coreCheck("c", true)}, []step{at(time.Second, "degraded")},
			StatusDegraded, "last peer left"},
		// Pace 1 - (2 x SLO)/(6 x SLO) = 0.667 on p2p's weight 0.25: the
		// latency score is 0.917, under 0.95.
		{"slow passes are degraded", nil, []step{{at: time.Second, kind: "slow", lat: 3 * slo}},
			StatusDegraded, "below healthy threshold"},
		// Pace 0.5 on p2p, dht and pubsub (weights 0.8 of 1): 0.6.
		{"very slow is still only degraded", []Check{coreCheck("c", true), compCheck("d", ComponentDHT), compCheck("e", ComponentPubSub)},
			[]step{{at: time.Second, kind: "slow", lat: 10 * slo}, {at: time.Second, kind: "slow", check: "d", lat: 10 * slo},
				{at: time.Second, kind: "slow", check: "e", lat: 10 * slo}},
			StatusDegraded, "below degraded threshold"},
		{"recent failures stay in the score, not the status", nil,
			[]step{at(time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail"), at(4*time.Second, "pass")},
			StatusHealthy, "all checks passing"},
		{"stopping beats everything", []Check{coreCheck("c", true)},
			[]step{at(time.Second, "fail"), at(2*time.Second, "fail"), at(3*time.Second, "fail"), at(4*time.Second, "stopping")},
			StatusStopping, "stopping: SIGTERM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, noGrace(), tc.checks, tc.steps)
			if l.snap.Status != tc.wantStatus || !strings.Contains(l.snap.Message, tc.wantMsg) {
				t.Fatalf("status %s %q, want %s %q", l.snap.Status, l.snap.Message, tc.wantStatus, tc.wantMsg)
			}
		})
	}
	// Three runs at 3 x SLO (latency score 0.917) enter degraded. Then the
	// median falls to 2 x SLO (pace 0.833, latency score 0.958): above the
	// healthy threshold, not above it plus the hysteresis. At the SLO it
	// is healthy again.
	slowThenFaster := func(lat time.Duration, n int) []step {
		var steps []step
		for i := range 3 {
			steps = append(steps, step{at: time.Duration(i+1) * time.Second, kind: "slow", lat: 3 * slo})
		}
		for i := range n {
			steps = append(steps, step{at: time.Duration(i+4) * time.Second, kind: "slow", lat: lat})
		}
		return steps
	}
	for _, tc := range []struct {
		name    string
		steps   []step
		want    Status
		wantMsg string
	}{
		{"hysteresis: entering degraded", slowThenFaster(0, 0), StatusDegraded, "0.917 below healthy threshold 0.95"},
		{"hysteresis: just above the threshold is not enough", slowThenFaster(2*slo, 4), StatusDegraded, "0.958 not yet back above 0.97"},
		{"hysteresis: well above it is", slowThenFaster(slo, 4), StatusHealthy, "all checks passing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, noGrace(), nil, tc.steps)
			if l.snap.Status != tc.want || !strings.Contains(l.snap.Message, tc.wantMsg) {
				t.Fatalf("status %s %q, want %s %q", l.snap.Status, l.snap.Message, tc.want, tc.wantMsg)
			}
		})
	}
}

func TestCoreCriticalHandOff(t *testing.T) {
	crit := []Check{coreCheck("c", true)}
	fails := func(from time.Duration) []step {
		return []step{at(from, "fail"), at(from+time.Second, "fail"), at(from+2*time.Second, "fail")}
	}
	grace := testConfig()
	grace.StartupGrace = 30 * time.Second
	off := noGrace()
	off.ShutdownOnCritical = false
	tests := []struct {
		name  string
		cfg   Config
		steps []step
		want  int
	}{
		{"after confirmation", noGrace(), fails(time.Second), 1},
		{"not before", noGrace(), fails(time.Second)[:2], 0},
		{"once per episode", noGrace(), append(fails(time.Second), at(4*time.Second, "fail"), at(5*time.Second, "fail")), 1},
		{"again after a recovery", noGrace(), append(append(fails(time.Second), at(4*time.Second, "pass")), fails(5*time.Second)...), 2},
		{"not within the startup grace", grace, append([]step{at(time.Second, "pass")}, fails(2*time.Second)...), 0},
		{"at the grace's end if still failing", grace, append(append([]step{at(time.Second, "pass")}, fails(2*time.Second)...),
			at(30*time.Second, "fail")), 1},
		{"not while stopping", noGrace(), append([]step{at(time.Second, "stopping")}, fails(2*time.Second)...), 0},
		{"not when turned off", off, fails(time.Second), 0},
		{"not for a degraded pass", noGrace(), []step{at(time.Second, "degraded")}, 0},
		{"not for failures not counted", noGrace(), []step{at(250*time.Millisecond, "tick"), at(time.Second, "tick"),
			at(time.Second, "fail"), at(1100*time.Millisecond, "fail"), at(1150*time.Millisecond, "fail")}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, tc.cfg, crit, tc.steps)
			if len(l.handOffs) != tc.want {
				t.Fatalf("hand-offs %q, want %d (outcomes %v)", l.handOffs, tc.want, l.outcomes["c"])
			}
			for _, r := range l.handOffs {
				if r != "critical check c: broken" {
					t.Fatalf("reason %q", r)
				}
			}
		})
	}

	t.Run("a declined hand-off is suppressed until the failure ends", func(t *testing.T) {
		l := runScript(t, noGrace(), crit, append(fails(time.Second), at(3500*time.Millisecond, "decline")))
		if !l.snap.ShutdownSuppressed || l.snap.Message != "shutdown suppressed: restart loop" || !slices.Equal(l.suppression, []bool{true}) {
			t.Fatalf("after the decline: suppressed %v %q %v", l.snap.ShutdownSuppressed, l.snap.Message, l.suppression)
		}
		l2 := runScript(t, noGrace(), crit, append(fails(time.Second), at(3500*time.Millisecond, "decline"), at(4*time.Second, "pass")))
		if l2.snap.ShutdownSuppressed || l2.snap.Status != StatusHealthy || !slices.Equal(l2.suppression, []bool{true, false}) {
			t.Fatalf("after the recovery: suppressed %v %s %v", l2.snap.ShutdownSuppressed, l2.snap.Status, l2.suppression)
		}
	})
	t.Run("a decline after the recovery changes nothing", func(t *testing.T) {
		l := runScript(t, noGrace(), crit, append(fails(time.Second), at(4*time.Second, "pass"), at(5*time.Second, "decline")))
		if l.snap.ShutdownSuppressed || len(l.suppression) != 0 {
			t.Fatalf("suppressed %v %v", l.snap.ShutdownSuppressed, l.suppression)
		}
	})
}

func TestCoreTransitions(t *testing.T) {
	l := runScript(t, noGrace(), []Check{coreCheck("c", true)},
		[]step{at(time.Second, "pass"), at(2*time.Second, "fail"), at(3*time.Second, "fail"), at(4*time.Second, "fail"), at(5*time.Second, "pass")})
	var got []string
	for i, tr := range l.transitions {
		if tr.Seq != uint64(i+1) {
			t.Fatalf("transition %d has seq %d", i, tr.Seq)
		}
		got = append(got, tr.Kind+":"+tr.From+">"+tr.To)
	}
	want := []string{
		"status:starting>healthy", // started with no result yet, no grace: scored as healthy at once
		"check:unknown>passing",
		"check:passing>failing", "status:healthy>unhealthy",
		"check:failing>passing", "status:unhealthy>healthy",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("transitions\n got %v\nwant %v", got, want)
	}
}

func TestCoreSchedule(t *testing.T) {
	cfg := noGrace()
	tests := []struct {
		name         string
		steps        []step
		wantLaunches int
		wantOutcomes []string
	}{
		{"every check is due at start", []step{at(0, "tick")}, 1, nil},
		{"a running check is not launched again", []step{at(0, "tick"), at(250*time.Millisecond, "tick"), at(500*time.Millisecond, "tick")}, 1, nil},
		{"the next run follows the result", []step{at(0, "tick"), at(time.Second, "pass"), at(1250*time.Millisecond, "tick"),
			at(5750*time.Millisecond, "tick"), at(6*time.Second, "tick")}, 2, []string{outcomeSuccess}},
		{"a trigger runs at once", []step{at(0, "tick"), at(time.Second, "pass"), at(1250*time.Millisecond, "trigger")}, 2, []string{outcomeSuccess}},
		{"a trigger during a run runs again after it", []step{at(0, "tick"), at(250*time.Millisecond, "trigger"), at(time.Second, "pass"),
			at(1250*time.Millisecond, "tick")}, 2, []string{outcomeSuccess}},
		// An abandoned run that is still stuck is not relaunched: each due
		// run is a synthetic timeout instead, until it returns.
		// The run launched at 0 is abandoned at 1.05 s (timeout 1 s plus
		// the abandon grace); its failure retries at 1.55 s, 2.05 s.
		{"a stuck run is not piled on", script(ticks(0, time.Second), []step{{at: 1050 * time.Millisecond, kind: "abandon", lat: 1050 * time.Millisecond}},
			ticks(1250*time.Millisecond, 2250*time.Millisecond)),
			1, []string{outcomeTimeout, outcomeTimeout, outcomeTimeout}},
		{"a returned stuck run frees the check", script(ticks(0, time.Second), []step{{at: 1050 * time.Millisecond, kind: "abandon", lat: 1050 * time.Millisecond},
			{at: 1300 * time.Millisecond, kind: "return", lat: 1300 * time.Millisecond}}, ticks(1500*time.Millisecond, 1750*time.Millisecond)),
			2, []string{outcomeTimeout}},
		// On a loaded machine the run's return can reach the core before
		// its abandonment (two goroutines racing for the lock).
		{"a run that returned before its abandonment was recorded is not stuck", script(ticks(0, time.Second),
			[]step{{at: 1060 * time.Millisecond, kind: "return", lat: 1060 * time.Millisecond}, {at: 1070 * time.Millisecond, kind: "abandon", lat: 1070 * time.Millisecond}},
			ticks(1250*time.Millisecond, 1750*time.Millisecond)),
			2, []string{outcomeTimeout}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := runScript(t, cfg, nil, tc.steps)
			if len(l.launches) != tc.wantLaunches || !slices.Equal(l.outcomes["c"], tc.wantOutcomes) {
				t.Fatalf("launches %v outcomes %v, want %d %v", l.launches, l.outcomes["c"], tc.wantLaunches, tc.wantOutcomes)
			}
		})
	}
}
