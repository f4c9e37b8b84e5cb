package nodetest

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/probes"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// libp2p and its metrics keep process-wide goroutines alive.
		goleak.IgnoreAnyFunction("github.com/ipfs/go-log/v2/writer.(*MirrorWriter).logRoutine"),
		goleak.IgnoreAnyFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/host/resource-manager.(*resourceManager).background"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-flow-metrics.(*sweeper).run"),
		// mocknet's streams wind down asynchronously after their connection
		// closes (the same quirk that lets them deliver after a close), so a
		// goroutine blocked inside one may outlive the last test by a moment.
		// Only those: a goroutine of ours, or a pubsub/DHT one not parked in a
		// mocknet stream, is still a leak.
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).transport"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).Read"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).Write"),
	)
}

func TestIsolatedNodeFailsConnectivityAndRecovers(t *testing.T) {
	m := New(t, 5, nil)
	m.WaitStatus(t, 30*time.Second, health.StatusHealthy)

	victim := m.Members[2]
	m.Isolate(t, victim, true)
	testkit.Eventually(t, 20*time.Second, "victim's p2p-connectivity failing", func() (bool, string) {
		s, msg := victim.CheckState(probes.CheckConnectivity)
		return s == health.StateFailing, string(s) + ": " + msg
	})
	m.WaitStatus(t, 10*time.Second, health.StatusUnhealthy, victim)
	for _, mem := range m.Members {
		if mem == victim {
			continue
		}
		if s, msg := mem.CheckState(probes.CheckConnectivity); s != health.StatePassing {
			t.Errorf("node %d connectivity %s (%s) while only node 2 was cut", mem.Index, s, msg)
		}
	}

	m.Isolate(t, victim, false)
	testkit.Eventually(t, 20*time.Second, "victim's p2p-connectivity passing again", func() (bool, string) {
		s, msg := victim.CheckState(probes.CheckConnectivity)
		return s == health.StatePassing, string(s) + ": " + msg
	})
}
