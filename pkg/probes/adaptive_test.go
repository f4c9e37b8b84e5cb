package probes

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshhealth/meshhealth/pkg/health"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestAdaptiveTimeoutIsFourTimesP99ClampedToFloorAndCeiling(t *testing.T) {
	many := func(n int, d time.Duration) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = d
		}
		return s
	}
	cases := []struct {
		name           string
		samples        []time.Duration
		floor, ceiling time.Duration
		want           time.Duration
	}{
		{"no history waits the configured timeout", nil, ms(500), ms(3000), ms(3000)},
		{"too little history waits the configured timeout", []time.Duration{ms(10), ms(10)}, ms(500), ms(3000), ms(3000)},
		{"fast LAN is held at the floor", many(10, ms(5)), ms(500), ms(3000), ms(500)},
		{"4 x p99 between floor and ceiling", many(10, ms(200)), ms(500), ms(3000), ms(800)},
		{"slow answers reach the ceiling", many(10, ms(900)), ms(500), ms(3000), ms(3000)},
		{"one slow success among fast ones stretches the wait", append(many(20, ms(10)), ms(300)), ms(500), ms(3000), ms(1200)},
		{"a ceiling below the floor wins", many(10, ms(5)), ms(500), ms(300), ms(300)},
		{"DHT ceiling", many(5, ms(1500)), ms(500), ms(10000), ms(6000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := adaptiveTimeout(c.samples, c.floor, c.ceiling); got != c.want {
				t.Fatalf("timeout = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAdaptiveForgetsOldSuccessesBeyondItsWindow(t *testing.T) {
	a := NewAdaptive(AdaptiveFloor, 3*time.Second, nil)
	if got := a.Timeout(); got != 3*time.Second {
		t.Fatalf("first probe waits %v, want the configured 3s", got)
	}
	a.Observe(ms(700)) // a slow start...
	for range adaptiveWindow {
		a.Observe(ms(20)) // ...then a window of fast successes
	}
	if got := a.Timeout(); got != AdaptiveFloor {
		t.Fatalf("timeout = %v after a window of fast successes, want the floor", got)
	}
}

// A failure does not teach a latency, but it does stretch the next wait:
// a mesh gone slow gets time to answer before a failure is confirmed, and a
// success brings the fast path back at once.
func TestAdaptiveTimeoutDoublesPerConsecutiveFailure(t *testing.T) {
	a := NewAdaptive(500*time.Millisecond, 3*time.Second, nil)
	for range 5 {
		a.Observe(10 * time.Millisecond)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	for i, w := range want {
		if got := a.Timeout(); got != w {
			t.Fatalf("after %d failures: timeout %v, want %v", i, got, w)
		}
		a.Fail()
	}
	a.Observe(10 * time.Millisecond)
	if got := a.Timeout(); got != 500*time.Millisecond {
		t.Fatalf("after a success: %v, want the floor again", got)
	}
}

// A failure stretches the next wait only when it looked like a slow mesh: a
// silent one (a partition) keeps the fast confirmation.
func TestBoundStretchesOnlySlowFailures(t *testing.T) {
	gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "t"})
	fail := func(context.Context, time.Duration) health.Result { return health.Result{} }
	for _, slow := range []bool{false, true} {
		a := NewAdaptive(500*time.Millisecond, 3*time.Second, nil)
		for range 5 {
			a.Observe(10 * time.Millisecond)
		}
		for range 3 {
			a.Bound(context.Background(), gauge, func(time.Time) bool { return slow }, fail)
		}
		want := 500 * time.Millisecond
		if slow {
			want = 3 * time.Second
		}
		if got := a.Timeout(); got != want {
			t.Errorf("after 3 failures heard-from=%v: wait %v, want %v", slow, got, want)
		}
	}
}

// scaled is an awareness whose scale the test sets.
type scaled int

func (s scaled) StalledDuring(time.Time, time.Time) bool { return s > 1 }
func (s scaled) Scale() int                              { return int(s) }

// While this process struggles, the wait stretches by the awareness' scale
// (Lifeguard), never beyond the ceiling; otherwise the clamp rules stand.
func TestAdaptiveTimeoutStretchesByTheAwarenessScale(t *testing.T) {
	cases := []struct {
		name  string
		scale scaled
		fails int
		want  time.Duration
	}{
		{"a healthy process keeps the clamp", 1, 0, 500 * time.Millisecond},
		{"a struggling one waits scale times longer", 3, 0, 1500 * time.Millisecond},
		{"on top of a failure's doubling", 2, 1, 2 * time.Second},
		{"never beyond the ceiling", 8, 0, 3 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAdaptive(500*time.Millisecond, 3*time.Second, tc.scale)
			for range 5 {
				a.Observe(10 * time.Millisecond)
			}
			for range tc.fails {
				a.Fail()
			}
			if got := a.Timeout(); got != tc.want {
				t.Fatalf("timeout %v, want %v", got, tc.want)
			}
		})
	}
}
