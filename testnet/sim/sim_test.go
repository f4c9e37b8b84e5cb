package sim

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// testLog is quiet unless MESHHEALTH_TEST_LOG is set.
func testLog() *slog.Logger {
	if os.Getenv("MESHHEALTH_TEST_LOG") == "" {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel()}))
}

// waitFor advances virtual time a second at a time until cond holds, and
// fails the test past limit (simulated).
func waitFor(t *testing.T, m *Mesh, limit time.Duration, what string, cond func([]View) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		vs := m.Observe()
		if cond(vs) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v (simulated): %s", what, limit, summarize(vs))
		}
		time.Sleep(time.Second)
	}
}

func summarize(vs []View) string {
	s := ""
	for _, v := range vs {
		if !v.Running {
			s += fmt.Sprintf("\n  node %d stopped: code %d, %s", v.Index, v.Code, v.Reason)
			continue
		}
		l := v.Leader
		if len(l) > 8 {
			l = l[len(l)-8:]
		}
		s += fmt.Sprintf("\n  node %d %s leader …%s term %d", v.Index, v.Status, l, v.Term)
	}
	return s
}

// A 20-node mesh of real nodes over simulated links converges to one
// leader with every node healthy; then three followers are cut off from
// everyone. They must turn unhealthy, while every other node stays healthy
// under the same leader and nobody exits.
func TestPartitionedFollowersAloneTurnUnhealthy(t *testing.T) {
	const n = 20
	synctest.Test(t, func(t *testing.T) {
		m, err := Start(context.Background(), Config{
			N:       n,
			Seed:    1,
			Net:     NetConfig{Latency: time.Millisecond, Jitter: 2 * time.Millisecond},
			DataDir: t.TempDir(),
			Log:     testLog(),
			Node: func(_ int, c *node.Config) {
				// The victims must stay to be observed; the others
				// would exit on a critical failure, which the test
				// counts as harm.
				c.Health.ShutdownOnCritical = false
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()

		took := waitFor(t, m, 3*time.Minute, "converge", func(vs []View) bool { return Converged(vs, nil) })
		t.Logf("converged in %v (simulated)", took)
		vs := m.Observe()
		leader := vs[0].Leader

		// Three followers, from the end of the list.
		var victims, others []int
		for i := n - 1; i >= 0; i-- {
			if len(victims) < 3 && m.Nodes[i].ID.String() != leader {
				victims = append(victims, i)
			} else {
				others = append(others, i)
			}
		}
		groups := make([][]int, len(victims))
		for k, v := range victims {
			groups[k] = []int{v}
		}
		if err := m.Net.Partition(groups...); err != nil {
			t.Fatal(err)
		}

		harmed := func(vs []View) string {
			for _, i := range others {
				v := vs[i]
				if !v.Running || v.Status != status.Healthy || v.Leader != leader {
					return fmt.Sprintf("node %d (not partitioned) harmed:%s", i, summarize(vs))
				}
			}
			return ""
		}
		took = waitFor(t, m, 2*time.Minute, "victims unhealthy", func(vs []View) bool {
			if h := harmed(vs); h != "" {
				t.Fatal(h)
			}
			return !slices.ContainsFunc(victims, func(i int) bool { return vs[i].Status != status.Unhealthy })
		})
		t.Logf("victims %v unhealthy %v after the partition (simulated)", victims, took)

		// And the others hold through a DHT probe cycle.
		for range 40 {
			if h := harmed(m.Observe()); h != "" {
				t.Fatal(h)
			}
			time.Sleep(time.Second)
		}
	})
}

// testLogLevel is Debug when MESHHEALTH_TEST_LOG=debug: a flaky run's
// story is usually in the messages quiet by default.
func testLogLevel() slog.Level {
	if os.Getenv("MESHHEALTH_TEST_LOG") == "debug" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// A zone of three followers loses its links to the rest of a 10-node mesh
// for 20 s but still reaches itself (a rack whose uplink failed). A zone
// node that confirms a critical failure meanwhile must count it as its own
// (it follows no leader, and soon hears at most half of the members it
// knew): it recovers first rather than exit at once, and once the links are
// back, within the recovery budget, none of them has exited and all are
// healthy again.
func TestCutZoneRecoversInsteadOfExiting(t *testing.T) {
	const n = 10
	synctest.Test(t, func(t *testing.T) {
		m, err := Start(context.Background(), Config{N: n, Seed: 1, DataDir: t.TempDir(), Log: testLog()})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		waitFor(t, m, 3*time.Minute, "converge", func(vs []View) bool { return Converged(vs, nil) })
		waitFor(t, m, time.Minute, "past the startup grace", func([]View) bool { return time.Since(m.Nodes[0].StartedAt) > 31*time.Second })
		leader := m.Observe()[0].Leader
		var zone []int
		for i := n - 1; len(zone) < 3; i-- {
			if m.Nodes[i].ID.String() != leader {
				zone = append(zone, i)
			}
		}
		if err := m.Net.Partition(zone); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second)
		if err := m.Net.Partition(); err != nil {
			t.Fatal(err)
		}
		took := waitFor(t, m, 2*time.Minute, "every node healthy again", func(vs []View) bool {
			return !slices.ContainsFunc(vs, func(v View) bool { return !v.Running || v.Status != status.Healthy })
		})
		t.Logf("healthy %v after the heal", took)
		if x := m.Exits(); len(x) != 0 {
			t.Fatalf("exits %+v: a cut zone must recover, not exit", x)
		}
	})
}
