package sim

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/synctest"
)

// Which packets a fault lets through, between nodes 0..3.
func TestFaultsDecideWhichPacketsArrive(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault func(nw *Network)
		from  int
		to    int
		want  bool
	}{
		{"no fault", func(*Network) {}, 0, 1, true},
		{"partition: across groups", func(nw *Network) { _ = nw.Partition([]int{2, 3}) }, 0, 2, false},
		{"partition: the other way", func(nw *Network) { _ = nw.Partition([]int{2, 3}) }, 2, 0, false},
		{"partition: within a group", func(nw *Network) { _ = nw.Partition([]int{2, 3}) }, 2, 3, true},
		{"partition: among those in no group", func(nw *Network) { _ = nw.Partition([]int{2, 3}) }, 0, 1, true},
		{"each alone", func(nw *Network) { _ = nw.Partition([]int{2}, []int{3}) }, 2, 3, false},
		{"inbound-only cut: it still speaks", func(nw *Network) { nw.Cut(1, true, false) }, 1, 0, true},
		{"inbound-only cut: it hears nothing", func(nw *Network) { nw.Cut(1, true, false) }, 0, 1, false},
		{"outbound-only cut: it says nothing", func(nw *Network) { nw.Cut(1, false, true) }, 1, 0, false},
		{"outbound-only cut: it still hears", func(nw *Network) { nw.Cut(1, false, true) }, 0, 1, true},
		{"total loss", func(nw *Network) { nw.Loss(1) }, 0, 1, false},
		{"healed", func(nw *Network) { _ = nw.Partition([]int{1}); nw.Cut(0, true, true); nw.Loss(1); nw.Heal() }, 0, 1, true},
		{"isolated: it says nothing", func(nw *Network) { nw.Isolate(1, true) }, 1, 0, false},
		{"isolated: it hears nothing", func(nw *Network) { nw.Isolate(1, true) }, 0, 1, false},
		{"isolated: the others still talk", func(nw *Network) { nw.Isolate(1, true) }, 0, 2, true},
		{"two isolated: not with each other", func(nw *Network) { nw.Isolate(1, true); nw.Isolate(2, true) }, 1, 2, false},
		{"isolated, then back", func(nw *Network) { nw.Isolate(1, true); nw.Isolate(1, false) }, 0, 1, true},
		{"down (crashed, frozen): silent", func(nw *Network) { nw.setDown(1, true) }, 1, 0, false},
		{"down: deaf", func(nw *Network) { nw.setDown(1, true) }, 0, 1, false},
		{"down outlives Heal", func(nw *Network) { nw.setDown(1, true); nw.Heal() }, 0, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nw := newNetwork(4, NetConfig{}, rand.New(rand.NewPCG(1, 2)))
			tc.fault(nw)
			if got := nw.passes(tc.from, tc.to); got != tc.want {
				t.Errorf("%d -> %d passes: %v, want %v", tc.from, tc.to, got, tc.want)
			}
		})
	}
}

// The seed fixes each node's latency; another seed gives another draw.
func TestSeedFixesLatency(t *testing.T) {
	draw := func(seed uint64) []int64 {
		nw := newNetwork(8, NetConfig{Jitter: 10_000_000}, rand.New(rand.NewPCG(seed, seed)))
		var out []int64
		for _, d := range nw.extra {
			out = append(out, int64(d))
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 1 twice: node %d latency %d then %d", i, a[i], b[i])
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("seeds 1 and 2 drew the same latencies")
	}
}

// The seed fixes the nodes' identities: a report's peer IDs name the same
// nodes in a rerun.
func TestSeedFixesIdentities(t *testing.T) {
	ids := func(seed uint64) []string {
		var out []string
		synctest.Test(t, func(t *testing.T) {
			m, err := Start(context.Background(), Config{N: 3, Seed: seed, DataDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			for _, n := range m.Nodes {
				out = append(out, n.ID.String())
			}
		})
		return out
	}
	a, b, c := ids(5), ids(5), ids(6)
	if !slices.Equal(a, b) {
		t.Errorf("seed 5 twice: %v then %v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 5 and 6 gave the same identities %v", a)
	}
}
