package probes

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestWideDueOnlyOnTheBudgetsPaceOrWithoutNeighbours(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := []struct {
		name       string
		since      time.Duration
		every      time.Duration
		neighbours int
		want       bool
	}{
		{"neighbours, budget not yet", 10 * time.Second, 50 * time.Second, 3, false},
		{"neighbours, budget's interval passed", 50 * time.Second, 50 * time.Second, 3, true},
		{"no neighbour: the shared topic is the only path", time.Second, 50 * time.Second, 0, true},
		{"large mesh: the shared topic is rare", 100 * time.Second, 5000 * time.Second, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := wideDue(now, now.Add(-c.since), c.every, c.neighbours); got != c.want {
				t.Errorf("wideDue = %v, want %v", got, c.want)
			}
		})
	}
}

// directMesh starts a ring of n probes with direct topics, and a members
// count so large that no run is due on the shared topic.
func directMesh(t *testing.T, n int) ([]*PubSubProbe, []*PathFault) {
	t.Helper()
	_, nodes := newMesh(t, n, meshOptions{pubsub: true, ring: true})
	probes := make([]*PubSubProbe, n)
	faults := make([]*PathFault, n)
	for i, nd := range nodes {
		self := nd.h.ID()
		f := &PathFault{}
		own := wire.DirectTopic(self)
		if err := nd.ps.RegisterTopicValidator(own, f.Wrap(self, wire.NewValidator(own, wire.ValidatorOptions{Self: self}))); err != nil {
			t.Fatal(err)
		}
		topic, err := nd.ps.Join(own)
		if err != nil {
			t.Fatal(err)
		}
		direct := NewDirect(nd.ps, topic, func(string) pubsub.ValidatorEx { return f.Wrap(self, nil) })
		view := newView(t, nd)
		p, err := NewPubSubRoundTrip(nd.topic, self, nd.h.Network(), view,
			PubSubConfig{Interval: 5 * time.Second, Timeout: 3 * time.Second, MinPeers: 1,
				Members: func() int { return 1000 }, Direct: direct}, nd.reg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		probes[i], faults[i] = p, f
	}
	testkit.WaitFor(t, 10*time.Second, "direct topics seen by the neighbours", func() bool {
		for _, p := range probes {
			if f, fb := p.neighbours(); len(f)+len(fb) < 2 {
				return false
			}
		}
		return true
	})
	return probes, faults
}

// A direct round-trip is one probe out and one ack back, whatever N; each
// of the node's own path faults fails the next run, and its heal passes
// the one after.
func TestDirectRoundTripCostsOneMessageEachWay(t *testing.T) {
	probes, faults := directMesh(t, 6)
	p := probes[0]
	r := runCheck(t, p.Check())
	if !r.Healthy || r.Details["path"] != "direct" {
		t.Fatalf("direct round-trip: healthy %v, path %v: %s", r.Healthy, r.Details["path"], r.Message)
	}
	if got := testutil.ToFloat64(p.published.WithLabelValues("probe")); got != 1 {
		t.Errorf("%v probes published, want 1", got)
	}
	acks := func() (n float64) {
		for _, q := range probes[1:] {
			n += testutil.ToFloat64(q.published.WithLabelValues("ack"))
		}
		return n
	}
	// The responder counts its ack once its publish returns, which may be
	// after the ack has arrived.
	testkit.WaitFor(t, 5*time.Second, "the ack counted", func() bool { return acks() >= 1 })
	if n := acks(); n != 1 {
		t.Errorf("%v acks published, want 1", n)
	}

	for _, c := range []struct {
		name string
		set  func(bool)
	}{{"outbound-only", faults[0].SetOutbound}, {"inbound-only", faults[0].SetInbound}} {
		c.set(true)
		if r := runCheck(t, p.Check()); r.Healthy {
			t.Errorf("%s: the run passed: %s", c.name, r.Message)
		}
		c.set(false)
		if r := runCheck(t, p.Check()); !r.Healthy {
			t.Errorf("%s healed: the run failed: %s", c.name, r.Message)
		}
	}
}
