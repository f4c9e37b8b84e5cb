package health

import (
	"os"
	"testing"
	"time"
)

func TestStarvationIsRunQueueWaitAboveAQuarterOfWallTime(t *testing.T) {
	var wait time.Duration
	s := starvation{read: func() (time.Duration, bool) { return wait, true }}
	t0 := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	steps := []struct {
		after   time.Duration
		waited  time.Duration // run-queue wait added since the previous step
		starved bool
	}{
		{0, 0, false}, // first sample: nothing to compare
		{time.Second, 100 * time.Millisecond, false}, // a busy machine coping
		{2 * time.Second, 900 * time.Millisecond, true},
		{2500 * time.Millisecond, 900 * time.Millisecond, false}, // under a second since the last sample: not sampled
		{3 * time.Second, 0, true},                               // 900 ms over the last second
		{4 * time.Second, 200 * time.Millisecond, false},
	}
	for i, st := range steps {
		wait += st.waited
		from, got := s.sample(t0.Add(st.after))
		if got != st.starved {
			t.Fatalf("step %d: starved=%v, want %v", i, got, st.starved)
		}
		if got && !from.Before(t0.Add(st.after)) {
			t.Fatalf("step %d: window starts at %v, not before now", i, from)
		}
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
