package liveness

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

var t0 = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

const (
	self peer.ID = "self"
	a    peer.ID = "a"
	b    peer.ID = "b"
	c    peer.ID = "c"
)

func at(d time.Duration) time.Time { return t0.Add(d) }

// step is one input to the table: evidence (ev != "") or a tick.
type step struct {
	after   time.Duration
	id      peer.ID
	ev      Evidence
	written time.Duration // message timestamp, relative to t0; 0: none
}

func run(tb *Table, steps []step) {
	for _, s := range steps {
		now := at(s.after)
		if s.ev == "" {
			tb.Tick(now)
			continue
		}
		var w time.Time
		if s.written != 0 {
			w = at(s.written)
		}
		tb.Observe(now, s.id, s.ev, w)
	}
}

// ticks returns a tick every 250ms in [from, to].
func ticks(from, to time.Duration) []step {
	var out []step
	for d := from; d <= to; d += 250 * time.Millisecond {
		out = append(out, step{after: d})
	}
	return out
}

func TestStates(t *testing.T) {
	cases := []struct {
		name  string
		steps []step
		want  State
	}{
		{"a message makes a peer alive", []step{{0, a, Message, 0}}, Alive},
		{"a goodbye is left, not dead", []step{{0, a, Message, 0}, {time.Second, a, Goodbye, time.Second}, {time.Second, a, Disconnected, 0}}, Left},
		// A graceful leave is left whatever order its goodbye and its
		// close are processed in (issue 21).
		{"a goodbye heard after the close and a failed check is left",
			[]step{{0, a, Connected, 0}, {time.Second, a, Disconnected, 0}, {time.Second, a, PingFailed, 0},
				{2 * time.Second, a, Goodbye, time.Second}}, Left},
		{"another connection while the leaver stops leaves it left",
			[]step{{0, a, Connected, 0}, {time.Second, a, Goodbye, time.Second}, {time.Second, a, Connected, 0}}, Left},
		{"a failed check after the goodbye leaves it left",
			[]step{{0, a, Connected, 0}, {time.Second, a, Goodbye, time.Second}, {time.Second, a, Disconnected, 0},
				{2 * time.Second, a, PingFailed, 0}}, Left},
		{"a message written before the goodbye does not bring it back",
			[]step{{0, a, Message, 0}, {2 * time.Second, a, Goodbye, 2 * time.Second}, {3 * time.Second, a, Message, time.Second}}, Left},
		{"a message written after the goodbye does, past the leave grace",
			[]step{{0, a, Message, 0}, {2 * time.Second, a, Goodbye, 2 * time.Second}, {6 * time.Second, a, Message, 6 * time.Second}}, Alive},
		{"a message written while the leaver stops does not",
			[]step{{0, a, Message, 0}, {2 * time.Second, a, Goodbye, 2 * time.Second}, {3 * time.Second, a, Message, 3 * time.Second}}, Left},
		{"a restarted peer's new connection does, past the leave grace",
			[]step{{0, a, Message, 0}, {2 * time.Second, a, Goodbye, 2 * time.Second}, {6 * time.Second, a, Connected, 0}}, Alive},
		{"the same leave told twice keeps the later stamp",
			[]step{{0, a, Message, 0}, {2 * time.Second, a, Goodbye, 2 * time.Second}, {2 * time.Second, a, Goodbye, time.Second},
				{6 * time.Second, a, Message, 1500 * time.Millisecond}}, Left},
		{"a missed ack makes it suspect", []step{{0, a, Message, 0}, {time.Second, a, MissedAck, 0}}, Suspect},
		{"a closed link alone is not held against it (a trim)", []step{{0, a, Connected, 0}, {time.Second, a, Disconnected, 0}}, Alive},
		{"a closed link and a failed check make it suspect",
			[]step{{0, a, Connected, 0}, {time.Second, a, Disconnected, 0}, {time.Second, a, PingFailed, 0}}, Suspect},
		{"a peer never connected, heard over gossip, stays alive while it speaks",
			append(append([]step{{0, a, Message, 0}}, ticks(0, 25*time.Second)...),
				step{25 * time.Second, a, Message, 25 * time.Second}), Alive},
		{"a suspect that answers a ping is alive", []step{{0, a, Message, 0}, {time.Second, a, MissedAck, 0}, {2 * time.Second, a, Pinged, 0}}, Alive},
		{"a failed ping alone does not kill", []step{{0, a, Message, 0}, {time.Second, a, PingFailed, 0}}, Suspect},
		{"a suspect silent for the suspicion timeout is dead",
			append([]step{{0, a, Message, 0}, {time.Second, a, MissedAck, 0}}, ticks(time.Second, 7*time.Second)...), Dead},
		{"a dead peer that speaks is alive",
			append(append([]step{{0, a, Message, 0}, {time.Second, a, MissedAck, 0}}, ticks(time.Second, 7*time.Second)...),
				step{8 * time.Second, a, Message, 8 * time.Second}), Alive},
		{"silence beyond the silence timeout makes it suspect",
			append([]step{{0, a, Message, 0}}, ticks(0, 31*time.Second)...), Suspect},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := NewTable(self, Config{}, nil)
			run(tb, tc.steps)
			got, ok := tb.Get(a)
			if !ok || got.State != tc.want {
				t.Fatalf("state = %q (known %v), want %q", got.State, ok, tc.want)
			}
		})
	}
}

func TestOwnPauseIsNotPeersSilence(t *testing.T) {
	aw := awareness.NewCore(0)
	tb := NewTable(self, Config{}, aw)
	steps := append([]step{{0, a, Message, 0}, {0, b, Message, 0}, {time.Second, b, MissedAck, 0}}, ticks(0, time.Second)...)
	runAware(tb, aw, steps)
	// SIGSTOP for 40 s: no tick, then one on resuming.
	aw.Tick(at(41 * time.Second))
	if lost := tb.Tick(at(41 * time.Second)); lost < 39*time.Second {
		t.Fatalf("lost = %s, want about 40s", lost)
	}
	runAware(tb, aw, ticks(41*time.Second+250*time.Millisecond, 43*time.Second))
	if got, _ := tb.Get(a); got.State != Alive {
		t.Errorf("a heard 1 s before our pause: %s, want alive", got.State)
	}
	if got, _ := tb.Get(b); got.State != Suspect {
		t.Errorf("b suspect 0 s before our pause: %s, want still suspect (its timeout resumes)", got.State)
	}
	runAware(tb, aw, ticks(43*time.Second, 48*time.Second))
	if got, _ := tb.Get(b); got.State != Dead {
		t.Errorf("b after its suspicion timeout of running time: %s, want dead", got.State)
	}
}

// runAware plays steps on the table, ticking the awareness with it.
func runAware(tb *Table, aw *awareness.Core, steps []step) {
	for _, s := range steps {
		if s.ev == "" {
			aw.Tick(at(s.after))
		}
		run(tb, []step{s})
	}
}

func TestRespondersNeverDeadOrDeparted(t *testing.T) {
	tb := NewTable(self, Config{}, nil)
	run(tb, []step{
		{0, a, Message, 0}, {0, b, Message, 0}, {0, c, Message, 0}, {0, "d", Message, 0}, {0, "e", Message, 0},
		{time.Second, b, MissedAck, 0},          // suspect: fallback only
		{time.Second, c, Goodbye, time.Second},  // left
		{time.Second, "d", Disconnected, 0},     // its check
		{time.Second, "d", PingFailed, 0},       // fails: suspect
		{2 * time.Second, "e", MissedAck, 0},    // suspect, then
		{2 * time.Second, "e", Pinged, 0},       // alive, but missed an ack lately
		{2 * time.Second, "f", Message, 0},      //
		{2 * time.Second, "f", Disconnected, 0}, // will die:
		{2*time.Second + time.Millisecond, "f", PingFailed, 0},
	})
	run(tb, ticks(2*time.Second, 8500*time.Millisecond))
	run(tb, []step{{8500 * time.Millisecond, b, Ack, 0}}) // b answers: fresh again
	fresh, fallback := tb.Responders(at(8500 * time.Millisecond))
	if want := []peer.ID{a, b}; !slices.Equal(fresh, want) {
		t.Errorf("fresh = %v, want %v", fresh, want)
	}
	// d's suspicion began at 1 s and ran out at 7 s; e recovered; f died at 8 s.
	if want := []peer.ID{"e"}; !slices.Equal(fallback, want) {
		t.Errorf("fallback = %v, want %v", fallback, want)
	}
	for _, id := range []peer.ID{c, "d", "f"} {
		if tb.Live(id) {
			t.Errorf("%s is live; want dead or left", id)
		}
	}
}

func TestSelfAndUnknownNegativeEvidenceIgnored(t *testing.T) {
	tb := NewTable(self, Config{}, nil)
	tb.Observe(t0, self, Message, time.Time{})
	tb.Observe(t0, a, PingFailed, time.Time{})
	if n := len(tb.All()); n != 0 {
		t.Fatalf("table has %d peers, want 0", n)
	}
}

func TestRetentionForgetsDeadAndLeft(t *testing.T) {
	tb := NewTable(self, Config{Retention: 10 * time.Second}, nil)
	run(tb, append([]step{{0, a, Goodbye, 0}}, ticks(0, 11*time.Second)...))
	if _, ok := tb.Get(a); ok {
		t.Fatal("a left 11 s ago is still remembered with a 10 s retention")
	}
}

func TestSweepPingsTheStalestAlivePeerOncePerInterval(t *testing.T) {
	tb := NewTable(self, Config{}, nil)
	run(tb, []step{{0, a, Connected, 0}, {0, b, Connected, 0}, {500 * time.Millisecond, c, Connected, 0}})
	if _, ok := tb.DueSweep(at(time.Second)); ok {
		t.Fatal("swept a peer heard 1 s ago")
	}
	// b keeps talking; a went quiet (killed, its QUIC connection left open).
	run(tb, []step{{2 * time.Second, b, Message, 0}, {2500 * time.Millisecond, c, Message, 0}})
	id, ok := tb.DueSweep(at(3 * time.Second))
	if !ok || id != a {
		t.Fatalf("swept %q (%v), want the stalest, a", id, ok)
	}
	if _, ok := tb.DueSweep(at(3500 * time.Millisecond)); ok {
		t.Fatal("two sweeps within one interval")
	}
	// A failed ping makes it suspect; the next sweep goes elsewhere.
	tb.Observe(at(3600*time.Millisecond), a, PingFailed, time.Time{})
	if st, _ := tb.Get(a); st.State != Suspect {
		t.Fatalf("a after a failed sweep ping: %s, want suspect", st.State)
	}
	if id, ok := tb.DueSweep(at(5 * time.Second)); ok && id == a {
		t.Fatal("swept a suspect; suspects are verified on their own schedule")
	}
}

func TestSweepPingsOnlyNeighbours(t *testing.T) {
	tb := NewTable(self, Config{}, nil)
	// a is heard over gossip only (another peer forwarded its messages); b
	// is a neighbour.
	run(tb, []step{{0, a, Message, 0}, {time.Second, b, Connected, 0}})
	id, ok := tb.DueSweep(at(5 * time.Second))
	if !ok || id != b {
		t.Fatalf("swept %q (%v), want the neighbour b: a ping of a would dial it", id, ok)
	}
}

// A link closes in two cases a node cannot tell apart from the close alone:
// a connection manager trimmed it (the peer goes on) or the peer's process
// is gone. One direct check tells them apart, once.
func TestClosedLinkIsCheckedOnce(t *testing.T) {
	t.Run("trimmed: the check answers, the peer stays alive, no redial loop", func(t *testing.T) {
		tb := NewTable(self, Config{}, nil)
		run(tb, []step{{0, a, Connected, 0}, {0, a, Message, 0}, {time.Second, a, Disconnected, 0}})
		if got := tb.DueVerify(at(time.Second)); !slices.Equal(got, []peer.ID{a}) {
			t.Fatalf("due = %v, want one check of a", got)
		}
		if got := tb.DueVerify(at(2 * time.Second)); len(got) != 0 {
			t.Fatalf("due again = %v, want one check only", got)
		}
		// The check's ping opens a link, answers, and the pinger closes it.
		run(tb, []step{{1100 * time.Millisecond, a, Connected, 0}, {1100 * time.Millisecond, a, Pinged, 0},
			{1200 * time.Millisecond, a, Disconnected, 0}})
		if got := tb.DueVerify(at(3 * time.Second)); len(got) != 0 {
			t.Fatalf("due after the check's own close = %v, want none within a silence", got)
		}
		// It is heard over gossip through others from then on.
		for d := 10 * time.Second; d <= 60*time.Second; d += 10 * time.Second {
			run(tb, append(ticks(d-10*time.Second+250*time.Millisecond, d), step{d, a, Message, d}))
		}
		if got, _ := tb.Get(a); got.State != Alive || got.Connected {
			t.Fatalf("a = %s (connected %v), want alive and not connected", got.State, got.Connected)
		}
		if got := tb.DueVerify(at(61 * time.Second)); len(got) != 0 {
			t.Fatalf("due = %v, want none", got)
		}
	})
	t.Run("heard since the close: no check", func(t *testing.T) {
		tb := NewTable(self, Config{}, nil)
		run(tb, []step{{0, a, Connected, 0}, {time.Second, a, Disconnected, 0}, {1100 * time.Millisecond, a, Message, time.Second}})
		if got := tb.DueVerify(at(2 * time.Second)); len(got) != 0 {
			t.Fatalf("due = %v, want none: its message came through another peer", got)
		}
	})
	t.Run("swept a moment before it was killed: still checked", func(t *testing.T) {
		tb := NewTable(self, Config{}, nil)
		run(tb, []step{{0, a, Connected, 0}, {0, a, Message, 0}})
		run(tb, ticks(250*time.Millisecond, 3*time.Second))
		if id, ok := tb.DueSweep(at(3 * time.Second)); !ok || id != a {
			t.Fatalf("sweep = %v %v, want a", id, ok)
		}
		run(tb, []step{{3 * time.Second, a, Pinged, 0}, {5 * time.Second, a, Disconnected, 0}})
		if got := tb.DueVerify(at(5 * time.Second)); !slices.Equal(got, []peer.ID{a}) {
			t.Fatalf("due = %v, want a checked: the sweep's answer came before its links closed", got)
		}
	})
	t.Run("killed: the check fails, dead within the suspicion timeout", func(t *testing.T) {
		tb := NewTable(self, Config{}, nil)
		run(tb, []step{{0, a, Connected, 0}, {time.Second, a, Disconnected, 0}})
		now := time.Second
		for _, id := range tb.DueVerify(at(now)) {
			tb.Observe(at(now), id, PingFailed, time.Time{})
		}
		for now = time.Second; now <= 8*time.Second; now += 250 * time.Millisecond {
			tb.Tick(at(now))
			// A suspect is checked again every VerifyInterval; a dial to a
			// process gone fails at once.
			for _, id := range tb.DueVerify(at(now)) {
				tb.Observe(at(now), id, PingFailed, time.Time{})
			}
		}
		if got, _ := tb.Get(a); got.State != Dead {
			t.Fatalf("a = %s 7 s after its link closed and its checks failed, want dead", got.State)
		}
	})
}

// The counts the table keeps as peers move agree with a count of its
// peers, whatever evidence and ticks arrive, retention included: members,
// suspects and the state gauges all read them.
func TestCountsFollowEveryMove(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	evs := []Evidence{Connected, Message, Ack, Pinged, Disconnected, MissedAck, PingFailed, Goodbye}
	ids := []peer.ID{a, b, c, "d", "e", self}
	tb := NewTable(self, Config{Retention: time.Minute}, nil)
	now := t0
	for i := range 5000 {
		now = now.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		if rng.IntN(3) == 0 {
			tb.Tick(now)
		} else {
			tb.Observe(now, ids[rng.IntN(len(ids))], evs[rng.IntN(len(evs))], time.Time{})
		}
		want := map[State]int{Alive: 0, Suspect: 0, Dead: 0, Left: 0}
		for _, in := range tb.All() {
			want[in.State]++
		}
		if got := tb.Counts(); !maps.Equal(got, want) {
			t.Fatalf("step %d: counts %v, a count of the peers gives %v", i, got, want)
		}
		if m := tb.Members(); m != 1+want[Alive]+want[Suspect] {
			t.Fatalf("step %d: members %d, want %d", i, m, 1+want[Alive]+want[Suspect])
		}
	}
}
