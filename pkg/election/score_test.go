package election

import (
	"math"
	"testing"
	"time"
)

func TestCandidateScoreWeighsEachFactor(t *testing.T) {
	id := simPeer(t, 1)
	full := inputs{Status: "healthy", HealthScore: 1, ConnectedPeers: 4, Headroom: 1}
	base := candidateScore(id, full, uptimeSaturation, 5)
	tie := weightTieBreak * tieBreak(id)
	if want := 0.9 + tie; math.Abs(base-want) > 1e-9 {
		t.Fatalf("a perfect node scores %v, want %v", base, want)
	}
	cases := []struct {
		name   string
		in     inputs
		uptime time.Duration
		loss   float64
	}{
		{"half the uptime", full, uptimeSaturation / 2, weightUptime / 2},
		{"uptime past saturation counts once", full, 10 * uptimeSaturation, 0},
		{"health 0.5", inputs{HealthScore: 0.5, ConnectedPeers: 4, Headroom: 1}, uptimeSaturation, weightHealth / 2},
		{"connected to half the members", inputs{HealthScore: 1, ConnectedPeers: 2, Headroom: 1}, uptimeSaturation, weightConnectivity / 2},
		{"no headroom", inputs{HealthScore: 1, ConnectedPeers: 4}, uptimeSaturation, weightHeadroom},
		{"out-of-range inputs clamp", inputs{HealthScore: 7, ConnectedPeers: 40, Headroom: -3}, uptimeSaturation, weightHeadroom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := candidateScore(id, c.in, c.uptime, 5)
			if math.Abs(base-got-c.loss) > 1e-9 {
				t.Fatalf("score %v, want %v", got, base-c.loss)
			}
		})
	}
}

func TestTieBreakIsStableAndSpread(t *testing.T) {
	seen := map[float64]bool{}
	for i := uint64(1); i <= 50; i++ {
		id := simPeer(t, i)
		v := tieBreak(id)
		if v < 0 || v >= 1 || v != tieBreak(id) {
			t.Fatalf("tie-break %v for %s", v, id)
		}
		seen[v] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct tie-breaks for 50 peers", len(seen))
	}
}

// On a mesh of bounded degree a node is connected to a few of the members:
// connectivity is measured against connectivityDegree, not the mesh.
func TestConnectivityDoesNotPunishABoundedDegree(t *testing.T) {
	cases := []struct {
		name             string
		connected, peers int // peers: members this node counts, itself included
		want             float64
	}{
		{"small mesh, connected to all", 4, 5, 1},
		{"small mesh, connected to half", 2, 5, 0.5},
		{"1,000 members, 16 links", 16, 1000, 1},
		{"1,000 members, D_hi links", connectivityDegree, 1000, 1},
		{"1,000 members, 3 links", 3, 1000, 3.0 / connectivityDegree},
		{"alone", 0, 1, 0},
	}
	id := simPeer(t, 1)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			none := candidateScore(id, inputs{HealthScore: 1, Headroom: 1}, uptimeSaturation, c.peers)
			got := candidateScore(id, inputs{HealthScore: 1, Headroom: 1, ConnectedPeers: c.connected}, uptimeSaturation, c.peers)
			if math.Abs((got-none)/weightConnectivity-c.want) > 1e-9 {
				t.Fatalf("connectivity term %v, want %v", (got-none)/weightConnectivity, c.want)
			}
		})
	}
}
