package nodetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// runs counts mem's finished runs of a check that count toward its state
// (meshhealth_checks_total by every result but local_stall: twenty nodes
// in one process on a busy machine starve each other, and a run failed
// while its own process was starved does not count, by design).
func runs(t *testing.T, mem *Member, check string) int {
	t.Helper()
	mfs, err := mem.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != "meshhealth_checks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["check"] == check && labels["result"] != "local_stall" {
				n += int(m.GetCounter().GetValue())
			}
		}
	}
	return n
}

// waitState waits for the pubsub check's state with room for a starved
// machine: runs failed while starved do not count, so confirmation may take
// many periods of wall time, never more counted runs.
func waitState(t *testing.T, mem *Member, want health.State) {
	t.Helper()
	testkit.Eventually(t, 2*time.Minute, fmt.Sprintf("node %d %s %s", mem.Index, checkPubSub, want), func() (bool, string) {
		s, msg := mem.CheckState(checkPubSub)
		return s == want, fmt.Sprintf("%s: %s", s, msg)
	})
}

// TestOwnPathFaultIsConfirmedAndClearedInAFewProbeRuns breaks one node's
// own message path, one direction at a time, in a 20-node mesh (8 under
// the race detector), and counts
// its pubsub-roundtrip runs (one per probe period, or per retry) rather
// than seconds, so a slow machine makes the test slower but not different:
// the node must be confirmed failing within the run under way plus the
// failure threshold's runs (each run after the fault fails, whatever N:
// the round-trip goes to one neighbour at the fixed interval), and passing
// again within three runs of the heal (one may be under way at it).
func TestOwnPathFaultIsConfirmedAndClearedInAFewProbeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("20 nodes")
	}
	n := 20
	if raceOn {
		// Twenty nodes under the race detector take over 2 GiB, which the
		// process keeps: the later tests' resources check then fails.
		n = 8
	}
	m := New(t, n, func(i int, c *nodeConfig) { c.EnableFaultInjection = true })
	m.WaitStatus(t, 60*time.Second, health.StatusHealthy)
	victim := m.Members[7]
	threshold := victim.Config.Debounce.FailureThreshold
	for _, fault := range []string{"outbound-only", "inbound-only"} {
		t.Run(fault, func(t *testing.T) {
			before := runs(t, victim, checkPubSub)
			setFault(t, victim, "pubsub", fault)
			waitState(t, victim, health.StateFailing)
			// One run may have been under way at the fault, and one more
			// may finish while the state is read.
			if n := runs(t, victim, checkPubSub) - before; n > threshold+2 {
				t.Errorf("confirmed failing after %d runs, want at most %d", n, threshold+2)
			}
			m.WaitStatus(t, time.Minute, health.StatusUnhealthy, victim)

			before = runs(t, victim, checkPubSub)
			clearFaults(t, victim)
			waitState(t, victim, health.StatePassing)
			if n := runs(t, victim, checkPubSub) - before; n > 3 {
				t.Errorf("passing again after %d runs of the heal, want at most 3", n)
			}
			m.WaitStatus(t, time.Minute, health.StatusHealthy, victim)
			for _, mem := range m.Members {
				if mem == victim {
					continue
				}
				if s, msg := mem.CheckState(checkPubSub); s == health.StateFailing {
					t.Errorf("node %d's pubsub-roundtrip failing too: %s", mem.Index, msg)
				}
			}
		})
	}
}
