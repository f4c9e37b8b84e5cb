package awareness

import (
	"os"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const ms = time.Millisecond

// ticked returns a core that ticked on time every period from 0 to to.
func ticked(to time.Duration) *Core {
	c := NewCore(0)
	for d := time.Duration(0); d <= to; d += DefaultTickPeriod {
		c.Tick(at(d))
	}
	return c
}

func TestStarvationIsRunQueueWaitAboveAQuarterOfWallTime(t *testing.T) {
	c := NewCore(0)
	var wait time.Duration
	steps := []struct {
		after   time.Duration
		waited  time.Duration // run-queue wait added since the previous step
		sampled bool
		starved bool
	}{
		{0, 0, true, false},                  // first sample: nothing to compare
		{time.Second, 100 * ms, true, false}, // a busy machine coping
		{2 * time.Second, 900 * ms, true, true},
		{2500 * ms, 900 * ms, false, true}, // under a second since the last sample: not sampled
		{3 * time.Second, 0, true, true},   // 900 ms over the last second
		{4 * time.Second, 200 * ms, true, false},
	}
	for i, st := range steps {
		wait += st.waited
		now := at(st.after)
		if got := c.Sample(now, wait, true); got != st.sampled {
			t.Fatalf("step %d: sampled=%v, want %v", i, got, st.sampled)
		}
		if got := c.Starved(now); got != st.starved {
			t.Fatalf("step %d: starved=%v, want %v", i, got, st.starved)
		}
	}
	if ws := c.Ready(); len(ws) != 2 || !ws[0].Starved || !ws[0].From.Equal(at(time.Second)) || !ws[1].To.Equal(at(3*time.Second)) {
		t.Fatalf("windows %+v, want [1s,2s] and [2s,3s], starved", ws)
	}
}

func TestRunQueueWaitIsReadWhereTheKernelKeepsIt(t *testing.T) {
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("no schedstat here")
	}
	if _, ok := runQueueWait(); !ok {
		t.Fatal("schedstat exists but the run-queue wait was not read")
	}
}

// starvedCore found starvation over [1s, 2s] (its last sample, at 2 s).
func starvedCore() *Core {
	c := ticked(2 * time.Second)
	c.Sample(at(time.Second), 0, true)
	c.Sample(at(2*time.Second), time.Second, true)
	return c
}

// stalledCore ticked on time to 1 s, then 750 ms late at 2 s.
func stalledCore() *Core {
	c := ticked(time.Second)
	c.Tick(at(2 * time.Second))
	return c
}

func TestStalledDuring(t *testing.T) {
	cases := []struct {
		name     string
		core     *Core
		from, to time.Duration
		ticking  bool // the ticker's last tick was at 1 s and it still runs
		want     bool
	}{
		{"on time is not stalled", ticked(3 * time.Second), time.Second, 3 * time.Second, false, false},
		{"a late tick is a stall from the tick before", stalledCore(), 1500 * ms, 1600 * ms, false, true},
		{"before the stall", stalledCore(), 500 * ms, time.Second, false, false},
		{"after the stall", stalledCore(), 2 * time.Second, 2100 * ms, false, false},
		{"a stall still going on", ticked(time.Second), 1100 * ms, 1500 * ms, true, true},
		{"not yet late enough to say", ticked(time.Second), 1100 * ms, 1450 * ms, true, false},
		{"starved", starvedCore(), 1500 * ms, 1600 * ms, false, true},
		{"starvation probably still going on", starvedCore(), 3900 * ms, 3900 * ms, false, true},
		{"starvation long over", starvedCore(), 4100 * ms, 4100 * ms, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.ticking {
				tc.core.Stop() // only the windows and starvation speak, not the ticks missed since
			}
			if got := tc.core.StalledDuring(at(tc.from), at(tc.to)); got != tc.want {
				t.Fatalf("StalledDuring = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStarvedDuringIsTheSamplersOnly(t *testing.T) {
	c := stalledCore()
	if c.StarvedDuring(at(1500*ms), at(1600*ms)) {
		t.Fatal("a late tick counted as starvation")
	}
	c = starvedCore()
	if !c.StarvedDuring(at(1500*ms), at(1600*ms)) {
		t.Fatal("starvation not seen")
	}
}

func TestLostCountsTheUnionOfStallsAndStarvation(t *testing.T) {
	c := ticked(time.Second)
	c.Tick(at(2 * time.Second)) // stall [1s, 2s]
	c.Sample(at(1500*ms), 0, true)
	c.Sample(at(2500*ms), time.Second, true) // starved [1.5s, 2.5s], and taken to go on
	cases := []struct {
		from, to time.Duration
		want     time.Duration
	}{
		{0, time.Second, 0},
		{0, 1500 * ms, 500 * ms},
		{500 * ms, 2500 * ms, 1500 * ms},        // [1s, 2.5s], overlaps counted once
		{2500 * ms, 4 * time.Second, 1500 * ms}, // starvation going on from the last sample
		{2500 * ms, 4400 * ms, 1900 * ms},       // until two samples after it
		{4500 * ms, 5 * time.Second, 0},         // then nothing is presumed
	}
	for _, tc := range cases {
		c.lastTick = at(tc.to) // ticking on time
		if got := c.Lost(at(tc.from), at(tc.to)); got != tc.want {
			t.Errorf("Lost(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestAPauseIsNamedByItsStart(t *testing.T) {
	c := ticked(time.Second)
	if p := c.LastPause(at(time.Second)); !p.IsZero() {
		t.Fatalf("pause %v with none", p)
	}
	// SIGSTOP from 1 s: still going on at 3 s, before the ticker knows.
	if p := c.LastPause(at(3 * time.Second)); !p.Equal(at(time.Second)) {
		t.Fatalf("pause in progress began %v, want 1s", p)
	}
	c.Tick(at(41 * time.Second))
	if p := c.LastPause(at(41 * time.Second)); !p.Equal(at(time.Second)) {
		t.Fatalf("pause over began %v, want 1s", p)
	}
	ws := c.Ready()
	if len(ws) != 1 || !ws[0].Pause() || ws[0].Late != 39750*ms {
		t.Fatalf("windows %+v, want one pause 39.75 s late", ws)
	}
	// Starvation alone is not a pause: it does not re-run every check.
	c = ticked(time.Second)
	c.Tick(at(1700 * ms))
	if p := c.LastPause(at(1700 * ms)); !p.IsZero() || c.Ready()[0].Pause() {
		t.Fatal("a 450 ms stall taken for a pause")
	}
}

func TestScaleRisesWhileStruggling(t *testing.T) {
	c := ticked(0)
	if s := c.Scale(); s != 1 {
		t.Fatalf("scale %d on a healthy process, want 1", s)
	}
	var wait time.Duration
	for i := range 12 {
		wait += 900 * ms
		c.Sample(at(time.Duration(i)*time.Second), wait, true)
	}
	if s := c.Scale(); s != MaxScale {
		t.Fatalf("scale %d after 11 starved samples, want the cap %d", s, MaxScale)
	}
	for i := 12; i < 15; i++ {
		c.Sample(at(time.Duration(i)*time.Second), wait, true)
	}
	if s := c.Scale(); s != MaxScale-3 {
		t.Fatalf("scale %d after 3 good samples, want %d", s, MaxScale-3)
	}
	for i := 15; i < 30; i++ {
		c.Sample(at(time.Duration(i)*time.Second), wait, false) // no schedstat: decays all the same
	}
	if s := c.Scale(); s != 1 {
		t.Fatalf("scale %d once recovered, want 1", s)
	}
}
