package recovery

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

var steps = []string{"redial", "mdns", "dht"}

const conn = "p2p-connectivity"

func newCore(budget time.Duration) *Core {
	return NewCore(Config{Budget: budget, StepTimeout: 5 * time.Second, VerifyTimeout: 2 * time.Second,
		RoundPause: time.Second, History: 3}, steps)
}

func TestAFailureThatIsNotTheNodesOwnExitsAtOnce(t *testing.T) {
	c := newCore(30 * time.Second)
	c.Fail(at(0), conn, "critical check p2p-connectivity: 0 peers", false)
	r := c.Ready()
	if r.Exit == "" || len(r.Run) != 0 {
		t.Fatalf("ready = %+v, want an exit and no step", r)
	}
	if len(r.Ended) != 1 || r.Ended[0].Outcome != NotOwn {
		t.Fatalf("ended = %+v, want one not_own", r.Ended)
	}
}

func TestNoBudgetExitsAtOnceAndRecordsNothing(t *testing.T) {
	c := newCore(0)
	c.Fail(at(0), conn, "x", true)
	if r := c.Ready(); r.Exit != "x" || len(r.Run) != 0 || len(c.History()) != 0 {
		t.Fatalf("ready = %+v, history %v", r, c.History())
	}
}

func TestTheFirstStepThatMakesTheCheckPassEndsTheRecovery(t *testing.T) {
	c := newCore(30 * time.Second)
	c.Fail(at(0), conn, "critical check p2p-connectivity: 0 peers", true)
	if r := c.Ready(); len(r.Run) != 1 || r.Run[0].Step != "redial" || r.Run[0].Deadline != at(5*time.Second) || r.Exit != "" {
		t.Fatalf("ready = %+v, want redial until 5s, no exit", r)
	}
	if cur := c.Current(); cur == nil || cur.Step != "redial" || cur.Deadline != at(30*time.Second) {
		t.Fatalf("current = %+v", cur)
	}
	c.StepDone(at(time.Second), "redial", errors.New("no route"))
	if r := c.Ready(); !slices.Equal(r.Rerun, []string{conn}) {
		t.Fatalf("rerun = %v, want the failing check", r.Rerun)
	}
	c.Result(at(1200*time.Millisecond), conn, false, at(1100*time.Millisecond))
	if r := c.Ready(); len(r.Run) != 1 || r.Run[0].Step != "mdns" {
		t.Fatalf("after redial failed to help: %+v, want mdns", r)
	}
	c.StepDone(at(2*time.Second), "mdns", nil)
	c.Ready()
	c.Result(at(2500*time.Millisecond), conn, true, at(2400*time.Millisecond))
	r := c.Ready()
	if r.Exit != "" || len(r.Ended) != 1 {
		t.Fatalf("ready = %+v, want one ended recovery and no exit", r)
	}
	rec := r.Ended[0]
	if rec.Outcome != Recovered || rec.FixedBy != "mdns" || len(rec.Steps) != 2 || rec.Steps[0].Error != "no route" || rec.Seconds != 2.5 {
		t.Fatalf("record = %+v", rec)
	}
	if c.Current() != nil {
		t.Fatal("still recovering")
	}
}

func TestAFailureBeforeTheStepEndedIsNotItsVerdict(t *testing.T) {
	c := newCore(30 * time.Second)
	c.Fail(at(0), conn, "r", true)
	c.Ready()
	c.StepDone(at(time.Second), "redial", nil)
	c.Ready()
	// Taken while redial ran: says nothing about it.
	c.Result(at(1100*time.Millisecond), conn, false, at(900*time.Millisecond))
	if r := c.Ready(); len(r.Run) != 0 {
		t.Fatalf("moved on on a stale result: %+v", r)
	}
	// The re-run never comes: the wait ends and the next step starts.
	c.Tick(at(3 * time.Second))
	if r := c.Ready(); len(r.Run) != 1 || r.Run[0].Step != "mdns" {
		t.Fatalf("ready = %+v, want mdns after the wait", r)
	}
}

func TestABudgetSpentStillFailingExitsWithTheFirstReason(t *testing.T) {
	c := newCore(10 * time.Second)
	c.Fail(at(0), conn, "critical check p2p-connectivity: 0 peers", true)
	c.Ready()
	var ran []string
	now := time.Duration(0)
	for c.Current() != nil {
		now += 100 * time.Millisecond
		if cur := c.Current(); cur.Step != "" {
			ran = append(ran, cur.Step)
			c.StepDone(at(now), cur.Step, errors.New("unreachable"))
			now += 100 * time.Millisecond
			c.Result(at(now), conn, false, at(now))
		}
		c.Tick(at(now))
		if r := c.Ready(); r.Exit != "" {
			if r.Exit != "critical check p2p-connectivity: 0 peers" || now < 10*time.Second {
				t.Fatalf("exit %q at %v", r.Exit, now)
			}
			if len(r.Ended) != 1 || r.Ended[0].Outcome != Exhausted {
				t.Fatalf("ended = %+v", r.Ended)
			}
		}
	}
	// Round after round, each a pause of 1 s apart, in the cheapest-first order.
	if len(ran) < 6 || !slices.Equal(ran[:6], []string{"redial", "mdns", "dht", "redial", "mdns", "dht"}) {
		t.Fatalf("steps ran %v", ran)
	}
}

func TestAStepThatOverrunsIsCutAndTheNextOneRuns(t *testing.T) {
	c := newCore(30 * time.Second)
	c.Fail(at(0), conn, "r", true)
	c.Ready()
	c.Tick(at(5 * time.Second))
	r := c.Ready()
	if !slices.Equal(r.Rerun, []string{conn}) {
		t.Fatalf("rerun = %v after the step's time ran out", r.Rerun)
	}
	c.StepDone(at(6*time.Second), "redial", errors.New("context deadline exceeded")) // late: ignored
	c.Result(at(6*time.Second), conn, false, at(6*time.Second))
	if r := c.Ready(); len(r.Run) != 1 || r.Run[0].Step != "mdns" {
		t.Fatalf("ready = %+v", r)
	}
	c.Result(at(7*time.Second), conn, true, at(7*time.Second))
	rec := c.Ready().Ended[0]
	if !rec.Steps[0].TimedOut || len(rec.Steps) != 1 || rec.FixedBy != "mdns" {
		t.Fatalf("record = %+v", rec)
	}
}

func TestASecondFailingCheckJoinsAndBothMustPass(t *testing.T) {
	c := newCore(30 * time.Second)
	c.Fail(at(0), conn, "r", true)
	c.Fail(at(100*time.Millisecond), "pubsub-roundtrip", "r2", true)
	c.Ready()
	c.StepDone(at(time.Second), "redial", nil)
	if r := c.Ready(); !slices.Equal(r.Rerun, []string{conn, "pubsub-roundtrip"}) {
		t.Fatalf("rerun = %v", r.Rerun)
	}
	c.Result(at(1100*time.Millisecond), conn, true, at(1100*time.Millisecond))
	if r := c.Ready(); len(r.Ended) != 0 {
		t.Fatal("ended with one check still failing")
	}
	c.Result(at(1200*time.Millisecond), "pubsub-roundtrip", true, at(1200*time.Millisecond))
	rec := c.Ready().Ended[0]
	if rec.Outcome != Recovered || !slices.Equal(rec.Checks, []string{conn, "pubsub-roundtrip"}) {
		t.Fatalf("record = %+v", rec)
	}
}

func TestHistoryKeepsTheLastRecoveries(t *testing.T) {
	c := newCore(30 * time.Second)
	for i := range 5 {
		now := at(time.Duration(i) * time.Minute)
		c.Fail(now, conn, "r", true)
		c.Result(now.Add(time.Second), conn, true, now.Add(time.Second))
	}
	h := c.History()
	if len(h) != 3 || h[0].Start != at(2*time.Minute) {
		t.Fatalf("history = %+v, want the last 3", h)
	}
}

func TestCheckOf(t *testing.T) {
	for in, want := range map[string]string{
		"critical check p2p-connectivity: 0 peers connected": "p2p-connectivity",
		"critical check dht-integrity: a: b":                 "dht-integrity",
		"something else":                                     "something else",
	} {
		if got := CheckOf(in); got != want {
			t.Errorf("CheckOf(%q) = %q, want %q", in, got, want)
		}
	}
}
