package budget

import (
	"testing"
	"time"
)

func TestIntervalStretchesWithMembersNeverBelowBase(t *testing.T) {
	for _, c := range []struct {
		name    string
		base    time.Duration
		members int
		rate    float64
		want    time.Duration
	}{
		{"a small mesh keeps its base", 10 * time.Second, 5, 1, 10 * time.Second},
		{"members over rate", 10 * time.Second, 50, 1, 50 * time.Second},
		{"a higher rate stretches less", 10 * time.Second, 50, 2, 25 * time.Second},
		{"a fractional rate", time.Second, 3, 0.5, 6 * time.Second},
		{"no budget", 10 * time.Second, 1000, 0, 10 * time.Second},
		{"a negative rate is no budget", 10 * time.Second, 1000, -1, 10 * time.Second},
	} {
		if got := Interval(c.base, c.members, c.rate); got != c.want {
			t.Errorf("%s: Interval(%v, %d, %v) = %v, want %v", c.name, c.base, c.members, c.rate, got, c.want)
		}
	}
}

func TestEveryCountsMembersAtEachCall(t *testing.T) {
	if Every(time.Second, nil, 1) != nil {
		t.Fatal("Every without members should be nil: the configured interval")
	}
	n := 5
	every := Every(time.Second, func() int { return n }, 1)
	if got := every(); got != 5*time.Second {
		t.Fatalf("at 5 members: %v, want 5s", got)
	}
	n = 20
	if got := every(); got != 20*time.Second {
		t.Fatalf("at 20 members: %v, want 20s", got)
	}
}
