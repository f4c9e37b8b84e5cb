package p2p

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// fakePeer is the far end of a redialer under test: it accepts dials only
// while up, and its connection lives until drop.
type fakePeer struct {
	mu        sync.Mutex
	up        bool
	conn      bool
	isolated  bool
	dials     []time.Time
	dropAfter bool // close every connection right after it opens
}

func (f *fakePeer) dial(context.Context, peer.AddrInfo) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dials = append(f.dials, time.Now())
	if !f.up {
		return errors.New("connection refused")
	}
	f.conn = !f.dropAfter
	return nil
}

func (f *fakePeer) connected(peer.ID) bool { f.mu.Lock(); defer f.mu.Unlock(); return f.conn }
func (f *fakePeer) isIsolated() bool       { f.mu.Lock(); defer f.mu.Unlock(); return f.isolated }

func (f *fakePeer) set(fn func(f *fakePeer)) { f.mu.Lock(); defer f.mu.Unlock(); fn(f) }

func (f *fakePeer) dialTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.dials...)
}

const testPeerID = peer.ID("bootstrap")

// startRedialer runs a redialer for one fake peer inside the synctest bubble
// and stops it when the test ends.
func startRedialer(t *testing.T, f *fakePeer, permanent bool, base, max time.Duration) *redialer {
	ctx, cancel := context.WithCancel(t.Context())
	r := newRedialer(ctx, slog.New(slog.DiscardHandler), base, max)
	r.dial, r.connected, r.isolated = f.dial, f.connected, f.isIsolated
	r.add(peer.AddrInfo{ID: testPeerID}, permanent)
	t.Cleanup(func() { cancel(); r.wait() })
	return r
}

func TestRedialBacksOffExponentiallyWithJitterWhileBootstrapPeerIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePeer{}
		start := time.Now()
		startRedialer(t, f, true, time.Second, 8*time.Second)
		time.Sleep(2 * time.Minute)

		dials := f.dialTimes()
		if len(dials) < 5 || !dials[0].Equal(start) {
			t.Fatalf("dials at %v, want the first at once and many more", dials)
		}
		want := time.Second
		for i := 1; i < len(dials); i++ {
			gap := dials[i].Sub(dials[i-1])
			if gap < want/2 || gap > want {
				t.Errorf("gap %d = %s, want within [%s, %s]", i, gap, want/2, want)
			}
			want = min(2*want, 8*time.Second)
		}
	})
}

func TestRedialFindsRestartedBootstrapPeerWithinMaxBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePeer{}
		r := startRedialer(t, f, true, time.Second, 30*time.Second)
		time.Sleep(10 * time.Minute) // long outage: backoff at its cap
		f.set(func(f *fakePeer) { f.up = true })
		back := time.Now()
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if !f.connected(testPeerID) {
			t.Fatalf("not reconnected within 30 s of the peer coming back (dials %v)", f.dialTimes()[len(f.dialTimes())-3:])
		}
		// A connection that held for long ends the outage: when it drops,
		// the redial is immediate.
		time.Sleep(time.Minute)
		f.set(func(f *fakePeer) { f.conn = false })
		dropped := time.Now()
		r.kick(testPeerID)
		synctest.Wait()
		dials := f.dialTimes()
		if last := dials[len(dials)-1]; !last.Equal(dropped) {
			t.Fatalf("after a disconnect the last dial was at +%s, want at once (+%s)", last.Sub(back), dropped.Sub(back))
		}
	})
}

func TestRedialBacksOffPeerThatClosesRightAfterAccepting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePeer{up: true, dropAfter: true}
		startRedialer(t, f, true, time.Second, 30*time.Second)
		time.Sleep(time.Minute)
		// Without backoff this would be a tight loop of thousands of dials.
		if n := len(f.dialTimes()); n > 8 {
			t.Fatalf("%d dials in a minute to a peer that closes at once, want backoff", n)
		}
	})
}

func TestRedialWaitsOutIsolationAndDialsAtOnceWhenItEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakePeer{isolated: true, up: true}
		r := startRedialer(t, f, true, time.Second, 30*time.Second)
		time.Sleep(time.Minute)
		if n := len(f.dialTimes()); n != 0 {
			t.Fatalf("%d dials while isolated, want none", n)
		}
		f.set(func(f *fakePeer) { f.isolated = false })
		lifted := time.Now()
		r.kickAll()
		synctest.Wait()
		if d := f.dialTimes(); len(d) != 1 || !d[0].Equal(lifted) {
			t.Fatalf("dials %v, want one the moment isolation ended", d)
		}
	})
}

func TestRedialForgetsDiscoveredPeerButNeverBootstrapPeer(t *testing.T) {
	for _, permanent := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			f := &fakePeer{}
			r := startRedialer(t, f, permanent, time.Second, 30*time.Second)
			time.Sleep(forgetAfter + time.Minute)
			before := len(f.dialTimes())
			time.Sleep(5 * time.Minute)
			after := len(f.dialTimes())
			r.mu.Lock()
			kept := len(r.peers) == 1
			r.mu.Unlock()
			if permanent && (after == before || !kept) {
				t.Errorf("bootstrap peer given up after %s", forgetAfter)
			}
			if !permanent && (after != before || kept) {
				t.Errorf("mDNS peer still dialled %d times after %s down", after-before, forgetAfter)
			}
		})
	}
}

func TestJitterStaysWithinHalfToFullBackoff(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, time.Millisecond, time.Second, 30 * time.Second} {
		for range 100 {
			if j := jitter(d); j < d/2 || j > d {
				t.Fatalf("jitter(%s) = %s, want within [%s, %s]", d, j, d/2, d)
			}
		}
	}
}

// A node with its degree does not redial a link that closed: the connection
// manager trimmed it (here or at the peer), and a redial would only be
// trimmed again. A bootstrap peer waits for the node to lack links; a peer
// mDNS found is forgotten (mDNS finds it again when the node asks).
func TestNoRedialWhileTheNodeHasItsDegree(t *testing.T) {
	for _, permanent := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			f := &fakePeer{up: true, conn: true}
			var mu sync.Mutex
			enough := true
			ctx, cancel := context.WithCancel(t.Context())
			r := newRedialer(ctx, slog.New(slog.DiscardHandler), time.Second, 8*time.Second)
			r.dial, r.connected, r.isolated = f.dial, f.connected, f.isIsolated
			r.wanted = func() bool { mu.Lock(); defer mu.Unlock(); return !enough }
			r.add(peer.AddrInfo{ID: testPeerID}, permanent)
			t.Cleanup(func() { cancel(); r.wait() })
			synctest.Wait()

			f.set(func(f *fakePeer) { f.conn = false }) // trimmed
			r.kick(testPeerID)
			time.Sleep(time.Minute)
			if d := f.dialTimes(); len(d) != 0 {
				t.Fatalf("permanent=%v: %d dials of a trimmed link while the node has its degree", permanent, len(d))
			}
			if got := r.has(testPeerID); got != permanent {
				t.Fatalf("permanent=%v: still kept = %v", permanent, got)
			}

			mu.Lock()
			enough = false // the node lost links
			mu.Unlock()
			r.kickAll()
			synctest.Wait()
			if d := f.dialTimes(); permanent && len(d) != 1 {
				t.Fatalf("bootstrap peer dialled %d times once the node lacked links, want 1", len(d))
			}
		})
	}
}

func TestTopUpCandidatesSkipSelfAndNeighbours(t *testing.T) {
	known := []peer.ID{"self", "a", "b", "c", "d"}
	linked := map[peer.ID]bool{"a": true}
	got := topUpCandidates(known, "self", func(p peer.ID) bool { return linked[p] }, 2)
	if len(got) != 2 {
		t.Fatalf("got %v, want 2 peers", got)
	}
	for _, p := range got {
		if p == "self" || p == "a" {
			t.Fatalf("got %v: self or a neighbour", got)
		}
	}
	if got := topUpCandidates(known, "self", func(peer.ID) bool { return false }, 0); got != nil {
		t.Fatalf("nothing missing: got %v", got)
	}
}
