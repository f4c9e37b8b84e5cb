package wire

import (
	"sync"
	"time"
)

// replayCache remembers the identities of accepted messages until they
// would be rejected as stale anyway, so a replay is caught for exactly as
// long as it could otherwise pass. It is bounded: past capacity the oldest
// entries go first, and a replay of one of those within the skew window
// would pass; capacity is sized far above any honest mesh's rate.
type replayCache struct {
	mu       sync.Mutex
	capacity int
	expiry   map[string]time.Time
	// ring holds the entries in insertion order from head. It grows by
	// doubling up to capacity as entries arrive: allocated whole, the
	// 32768-entry rings of a node's ~20 topic validators (the shared
	// topics and its neighbours' direct ones) were 26 MiB per node, 88 %
	// of a 50-node simulated mesh's heap, all of it for the garbage
	// collector to scan, while an honest mesh fills a few hundred.
	ring []replayEntry
	head int
	n    int
}

// initialRing is the ring's first size.
const initialRing = 64

type replayEntry struct {
	key     string
	expires time.Time
}

func newReplayCache(capacity int) *replayCache {
	if capacity < 1 {
		capacity = 1
	}
	return &replayCache{capacity: capacity, expiry: make(map[string]time.Time), ring: make([]replayEntry, min(capacity, initialRing))}
}

// seenOrAdd reports whether key is live in the cache; if not, it adds it
// until expires.
func (c *replayCache) seenOrAdd(key string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.expiry[key]; ok && now.Before(exp) {
		return true
	}
	c.evict(now)
	if c.n == len(c.ring) {
		if len(c.ring) < c.capacity {
			c.grow()
		} else {
			c.pop()
		}
	}
	c.ring[(c.head+c.n)%len(c.ring)] = replayEntry{key: key, expires: expires}
	c.n++
	c.expiry[key] = expires
	return false
}

// evict drops expired entries from the front of the ring. An entry that
// expires later than those behind it holds them back until capacity does:
// harmless, they are only unreachable memory for a while.
func (c *replayCache) evict(now time.Time) {
	for c.n > 0 && !now.Before(c.ring[c.head].expires) {
		c.pop()
	}
}

func (c *replayCache) pop() {
	e := c.ring[c.head]
	// The key may have been added again since; only its latest entry owns
	// the map slot.
	if exp, ok := c.expiry[e.key]; ok && exp.Equal(e.expires) {
		delete(c.expiry, e.key)
	}
	c.ring[c.head] = replayEntry{}
	c.head = (c.head + 1) % len(c.ring)
	c.n--
}

// grow doubles the full ring, up to capacity, keeping the order.
func (c *replayCache) grow() {
	ring := make([]replayEntry, min(2*len(c.ring), c.capacity))
	for i := range c.n {
		ring[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = ring, 0
}

func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.expiry)
}
