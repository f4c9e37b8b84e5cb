// Package budget is the mesh's message budget as one formula: each
// periodic duty may cost the whole mesh a number of messages a second,
// whatever its size, so each node's interval grows with the members
// (docs/ARCHITECTURE.md, "Flat cost: the message budget"). Every package
// that publishes on a budget (the probes, the summaries, the election)
// owns its rate and asks Interval for its interval, so that they all
// stretch alike and a node's intake stays flat as the mesh grows.
//
// A shared leaf: it imports nothing of ours.
package budget

import "time"

// Interval is how often each of members nodes may act so that the mesh
// acts at most rate times a second: members/rate, never below base (the
// configured interval, which a small mesh keeps). rate <= 0 disables the
// budget: base whatever the members.
func Interval(base time.Duration, members int, rate float64) time.Duration {
	if rate <= 0 {
		return base
	}
	return max(base, time.Duration(float64(members)/rate*float64(time.Second)))
}

// Every is Interval with the members counted afresh at each call (they
// come and go); members nil keeps base, as for a node without a liveness
// view.
func Every(base time.Duration, members func() int, rate float64) func() time.Duration {
	if members == nil {
		return nil
	}
	return func() time.Duration { return Interval(base, members(), rate) }
}
