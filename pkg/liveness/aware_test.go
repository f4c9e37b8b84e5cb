package liveness

import (
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

// A process starved of CPU (its threads wait for a CPU half the time, but
// its ticks come on time) has not heard what its peers sent: as the health
// core does not count its failures, the table does not count its peers'
// silence or their suspicion while it is starved, and judges again once it
// has recovered.
func TestStarvedProcessDoesNotAccusePeers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		aware       bool     // the table reads the awareness
		at20s       [2]State // a (alive at 0) and b (suspect from 0) at 20 s
		afterwards  [2]State // and once the process has recovered
		recoveredAt time.Duration
	}{
		{"starvation discounted", true, [2]State{Alive, Suspect}, [2]State{Suspect, Dead}, 26 * time.Second},
		{"without awareness the peers are accused", false, [2]State{Dead, Dead}, [2]State{Dead, Dead}, 26 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aw := awareness.NewCore(0)
			var aware Aware
			if tc.aware {
				aware = aw
			}
			tb := NewTable(self, Config{Silence: 3 * time.Second}, aware)
			tb.Observe(t0, a, Message, time.Time{})
			tb.Observe(t0, b, Message, time.Time{})
			tb.Observe(t0, b, MissedAck, time.Time{})
			var wait time.Duration
			play := func(from, to time.Duration, starved bool) {
				for d := from; d <= to; d += 250 * time.Millisecond {
					now := at(d)
					if d%time.Second == 0 {
						aw.Sample(now, wait, true)
					}
					if starved {
						wait += 125 * time.Millisecond // half of every tick spent waiting for a CPU
					}
					aw.Tick(now)
					tb.Tick(now)
				}
			}
			play(0, time.Second, false)
			play(time.Second+250*time.Millisecond, 20*time.Second, true)
			if got, _ := tb.Get(a); got.State != tc.at20s[0] {
				t.Errorf("a, silent 20 s, 19 of them starved: %s, want %s", got.State, tc.at20s[0])
			}
			if got, _ := tb.Get(b); got.State != tc.at20s[1] {
				t.Errorf("b, suspect 20 s, 19 of them starved: %s, want %s", got.State, tc.at20s[1])
			}
			if !aw.Starved(at(20 * time.Second)) {
				t.Fatal("the awareness does not find the process starved")
			}
			play(20*time.Second+250*time.Millisecond, tc.recoveredAt, false)
			if got, _ := tb.Get(a); got.State != tc.afterwards[0] {
				t.Errorf("a after the process recovered and heard nothing: %s, want %s", got.State, tc.afterwards[0])
			}
			if got, _ := tb.Get(b); got.State != tc.afterwards[1] {
				t.Errorf("b after the process recovered and heard nothing: %s, want %s", got.State, tc.afterwards[1])
			}
		})
	}
}
