package wire

import (
	"fmt"
	"testing"
	"time"
)

func TestReplayCacheRemembersUntilExpiry(t *testing.T) {
	c := newReplayCache(8)
	now := exampleTime
	if c.seenOrAdd("a", now, now.Add(time.Minute)) {
		t.Fatal("a fresh key was reported seen")
	}
	if !c.seenOrAdd("a", now.Add(59*time.Second), now.Add(2*time.Minute)) {
		t.Fatal("a key was forgotten before its expiry")
	}
	if c.seenOrAdd("a", now.Add(time.Minute), now.Add(2*time.Minute)) {
		t.Fatal("a key was remembered past its expiry")
	}
}

func TestReplayCacheStaysBounded(t *testing.T) {
	c := newReplayCache(4)
	now := exampleTime
	for i := range 100 {
		c.seenOrAdd(fmt.Sprint(i), now, now.Add(time.Hour))
	}
	if n := c.len(); n != 4 {
		t.Fatalf("%d entries, capacity 4", n)
	}
	if !c.seenOrAdd("99", now, now.Add(time.Hour)) {
		t.Fatal("the newest entry was evicted")
	}
	if c.seenOrAdd("0", now, now.Add(time.Hour)) {
		t.Fatal("the oldest entry survived past capacity")
	}
}

func TestReplayCacheDropsExpiredEntries(t *testing.T) {
	c := newReplayCache(1000)
	now := exampleTime
	for i := range 500 {
		c.seenOrAdd(fmt.Sprint(i), now, now.Add(time.Second))
	}
	c.seenOrAdd("late", now.Add(2*time.Second), now.Add(time.Minute))
	if n := c.len(); n != 1 {
		t.Fatalf("%d entries after everything but one expired", n)
	}
}

// A key re-added after expiry keeps its new lifetime even when its old ring
// slot is evicted.
func TestReplayCacheReAddedKeyOutlivesItsOldSlot(t *testing.T) {
	c := newReplayCache(2)
	now := exampleTime
	c.seenOrAdd("k", now, now.Add(time.Second))
	later := now.Add(2 * time.Second)
	c.seenOrAdd("k", later, later.Add(time.Hour)) // the old slot is evicted here or below
	c.seenOrAdd("x", later, later.Add(time.Hour))
	if !c.seenOrAdd("k", later, later.Add(time.Hour)) {
		t.Fatal("re-added key was dropped with its expired slot")
	}
}

// The ring grows with what it holds, keeps its insertion order across the
// growth (the oldest entry still goes first at capacity), and a cache
// that holds little allocates little.
func TestReplayCacheGrowsInOrder(t *testing.T) {
	c := newReplayCache(256)
	now := exampleTime
	for i := range 100 {
		c.seenOrAdd(fmt.Sprint(i), now, now.Add(time.Second))
	}
	later := now.Add(2 * time.Second)
	for i := 100; i < 400; i++ {
		c.seenOrAdd(fmt.Sprint(i), later, later.Add(time.Hour))
	}
	if n := c.len(); n != 256 {
		t.Fatalf("%d entries, capacity 256", n)
	}
	for _, k := range []string{"144", "300", "399"} {
		if !c.seenOrAdd(k, later, later.Add(time.Hour)) {
			t.Fatalf("entry %s, within capacity, was lost in the growth", k)
		}
	}
	if c.seenOrAdd("143", later, later.Add(time.Hour)) {
		t.Fatal("an entry older than the capacity's worth survived")
	}
	small := newReplayCache(DefaultReplayCapacity)
	for i := range 10 {
		small.seenOrAdd(fmt.Sprint(i), now, now.Add(time.Hour))
	}
	if len(small.ring) > initialRing {
		t.Fatalf("10 entries hold a ring of %d", len(small.ring))
	}
}
