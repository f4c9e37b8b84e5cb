package health

import (
	"time"
)

// starveRatio is the share of wall time this process's threads may spend
// waiting for a CPU before the process counts as starved: above it, a
// quarter of a thread's time (or more) went waiting in the kernel's run
// queue. A loaded but coping machine stays far below; 50 nodes on two
// cores go far above.
const starveRatio = 0.25

// starveEvery is how often the run-queue wait is sampled.
const starveEvery = time.Second

// starvation samples the kernel's account of how long this process's
// threads waited for a CPU (Linux schedstat; nothing elsewhere). It sees a
// process that is partly starved, whose goroutines run, but slowly: its
// scheduler may still tick almost on time while every probe times out.
type starvation struct {
	read func() (time.Duration, bool) // runQueueWait, or a test's
	at   time.Time
	wait time.Duration
	ok   bool
}

// sample reports whether the process was starved since the previous sample,
// and that span.
func (s *starvation) sample(now time.Time) (from time.Time, starved bool) {
	if !s.at.IsZero() && now.Sub(s.at) < starveEvery {
		return time.Time{}, false
	}
	read := s.read
	if read == nil {
		read = runQueueWait
	}
	wait, ok := read()
	prev, prevWait, prevOK := s.at, s.wait, s.ok
	s.at, s.wait, s.ok = now, wait, ok
	if !ok || !prevOK || prev.IsZero() {
		return time.Time{}, false
	}
	elapsed := now.Sub(prev)
	if elapsed <= 0 {
		return time.Time{}, false
	}
	return prev, float64(wait-prevWait)/float64(elapsed) > starveRatio
}
