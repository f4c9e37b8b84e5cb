package p2p

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// forgetAfter is how long a peer found by mDNS is redialled without success
// before it is dropped; mDNS finds it again if it comes back. Bootstrap
// peers are never dropped.
const forgetAfter = 10 * time.Minute

// dialTimeout bounds one dial attempt: on a LAN a handshake takes
// milliseconds, so a peer that has not answered in 10 s is down.
const dialTimeout = 10 * time.Second

// redialer keeps the node connected to the peers it knows it should reach,
// while it lacks links: one goroutine per peer dials it while it is not
// connected and the node has fewer links than it seeks, backing off
// exponentially with jitter on failure, and waits for a kick (a disconnect,
// the end of isolation, a fresh mDNS sighting) while it is connected. A
// peer found by mDNS that is down while the node has its degree is
// forgotten (mDNS finds it again when the node asks); a bootstrap peer
// waits for the next kick.
type redialer struct {
	ctx       context.Context
	log       *slog.Logger
	dial      func(ctx context.Context, ai peer.AddrInfo) error
	connected func(peer.ID) bool
	isolated  func() bool
	// wanted reports whether the node has fewer links than it seeks (nil:
	// always). A peer that is not connected is dialled only then: a link
	// the connection manager trimmed, here or at the peer, is not redialled
	// by a node that has its degree, or trims and redials would take turns.
	wanted    func() bool
	base, max time.Duration

	mu    sync.Mutex
	peers map[peer.ID]*target
	wg    sync.WaitGroup
}

type target struct {
	ai        peer.AddrInfo
	permanent bool
	kick      chan struct{} // capacity 1: a kick is never lost, never blocks
}

func newRedialer(ctx context.Context, log *slog.Logger, base, max time.Duration) *redialer {
	return &redialer{ctx: ctx, log: log, base: base, max: max, peers: map[peer.ID]*target{}}
}

// add makes r keep ai connected. permanent peers (bootstrap) are redialled
// forever; others are dropped after failing for forgetAfter. Adding a known
// peer again kicks it, so it is dialled at once if it is down.
func (r *redialer) add(ai peer.AddrInfo, permanent bool) {
	if r.ctx.Err() != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.peers[ai.ID]; ok {
		t.permanent = t.permanent || permanent
		kick(t.kick)
		return
	}
	t := &target{ai: ai, permanent: permanent, kick: make(chan struct{}, 1)}
	r.peers[ai.ID] = t
	r.wg.Add(1)
	go r.keep(t)
}

// has reports whether r already keeps p connected.
func (r *redialer) has(p peer.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peers[p] != nil
}

// kick wakes p's goroutine to look again (p disconnected).
func (r *redialer) kick(p peer.ID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.peers[p]; ok {
		kick(t.kick)
	}
}

// kickAll wakes every goroutine (isolation ended).
func (r *redialer) kickAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.peers {
		kick(t.kick)
	}
}

// wait returns once every goroutine has ended; cancel r.ctx first.
func (r *redialer) wait() { r.wg.Wait() }

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (r *redialer) keep(t *target) {
	defer r.wg.Done()
	backoff := r.base
	var up time.Time      // when t was first seen connected, zero while down
	var failing time.Time // first failed dial of the current outage
	for {
		if r.ctx.Err() != nil {
			return
		}
		if r.isolated() {
			// Isolation is on purpose, not an outage: when it ends, start
			// afresh and dial at once.
			up, failing, backoff = time.Time{}, time.Time{}, r.base
			if !r.sleep(t, 0) {
				return
			}
			continue
		}
		if r.connected(t.ai.ID) {
			if up.IsZero() {
				up = time.Now() // connected from the other side
			}
			failing = time.Time{}
			if !r.sleep(t, 0) {
				return
			}
			continue
		}
		if r.wanted != nil && !r.wanted() {
			// Enough links: the mesh reaches this peer through them.
			up, failing, backoff = time.Time{}, time.Time{}, r.base
			if !t.permanent && r.forget(t) {
				return
			}
			if !r.sleep(t, 0) {
				return
			}
			continue
		}
		if !up.IsZero() {
			// Disconnected. A connection that held longer than the current
			// backoff ends the outage: redial at once from the base. One
			// that dropped sooner (a peer that accepts then closes) keeps
			// the backoff growing, so it is not hammered: kicks do not cut
			// this wait, since the peer's own disconnect kicks it (a mesh
			// whose allow-list leaves this node out closes every
			// connection after the handshake, and was redialled in a
			// tight loop).
			lasted := time.Since(up)
			up = time.Time{}
			if lasted >= backoff {
				backoff = r.base
			} else {
				if !r.pause(jitter(backoff)) {
					return
				}
				backoff = min(2*backoff, r.max)
				continue
			}
		}
		ctx, cancel := context.WithTimeout(r.ctx, dialTimeout)
		err := r.dial(ctx, t.ai)
		cancel()
		if err == nil {
			// Counted from now even if the connection is gone before the
			// next look, so a peer that accepts then closes backs off.
			up, failing = time.Now(), time.Time{}
			r.log.Debug("peer connected", "peer", t.ai.ID)
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		now := time.Now()
		if failing.IsZero() {
			failing = now
		}
		if !t.permanent && now.Sub(failing) >= forgetAfter && r.forget(t) {
			r.log.Debug("peer forgotten", "peer", t.ai.ID, "down_for", now.Sub(failing))
			return
		}
		r.log.Debug("dial failed", "peer", t.ai.ID, "retry_in", backoff, "err", err)
		if !r.sleep(t, jitter(backoff)) {
			return
		}
		backoff = min(2*backoff, r.max)
	}
}

// sleep waits d (forever if d is 0) or until t is kicked; false once r.ctx
// is done.
func (r *redialer) sleep(t *target, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-r.ctx.Done():
		return false
	case <-t.kick:
	case <-timeout:
	}
	return true
}

// forget drops t unless it turned permanent meanwhile.
// pause waits d or until the redialer stops, whatever the kicks; false
// when it stopped.
func (r *redialer) pause(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-r.ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func (r *redialer) forget(t *target) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t.permanent {
		return false
	}
	delete(r.peers, t.ai.ID)
	return true
}

// jitter spreads a wait over [d/2, d], so peers that lost the same node do
// not all redial it in the same instant.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}
