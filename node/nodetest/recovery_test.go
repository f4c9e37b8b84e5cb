package nodetest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/probes"
)

// recoveryDoc is /health's "recovery", as an operator reads it.
type recoveryDoc struct {
	Recovering *struct {
		Checks []string `json:"checks"`
		Step   string   `json:"step"`
	} `json:"recovering"`
	History []struct {
		Checks  []string `json:"checks"`
		Outcome string   `json:"outcome"`
		FixedBy string   `json:"fixed_by"`
		Steps   []struct {
			Step string `json:"step"`
		} `json:"steps"`
	} `json:"history"`
}

func recoveryOf(t *testing.T, mem *Member) recoveryDoc {
	t.Helper()
	var d recoveryDoc
	if raw := mem.Health.Snapshot().Recovery; len(raw) > 0 {
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func TestANodeCutOffRecoversWhenTheNetworkHealsWithinTheBudget(t *testing.T) {
	m := New(t, 3, func(i int, c *node.Config) {
		if i == 2 {
			c.Health.ShutdownOnCritical = true
			c.Recovery.Budget = 20 * time.Second
		}
	})
	m.WaitStatus(t, 30*time.Second, health.StatusHealthy)
	victim := m.Members[2]
	m.Unplug(t, victim, true)
	testkit.Eventually(t, 20*time.Second, "the victim recovering, unhealthy", func() (bool, string) {
		d := recoveryOf(t, victim)
		s := victim.Health.Snapshot().Status
		return d.Recovering != nil && s == health.StatusUnhealthy, string(s)
	})
	m.Unplug(t, victim, false)
	testkit.Eventually(t, 20*time.Second, "the recovery to end recovered", func() (bool, string) {
		d := recoveryOf(t, victim)
		if len(d.History) == 0 || d.Recovering != nil {
			return false, "under way"
		}
		h := d.History[len(d.History)-1]
		return h.Outcome == "recovered" && h.FixedBy != "", h.Outcome + " by " + h.FixedBy
	})
	select {
	case <-victim.Shutdown.Done():
		_, reason := victim.Shutdown.Wait()
		t.Fatalf("the victim stopped: %s", reason)
	default:
	}
	if s, msg := victim.CheckState(probes.CheckConnectivity); s != health.StatePassing {
		t.Fatalf("victim's connectivity %s: %s", s, msg)
	}
}

func TestANodeCutOffForGoodExitsOnceTheBudgetIsSpent(t *testing.T) {
	const budget = 3 * time.Second
	m := New(t, 2, func(i int, c *node.Config) {
		if i == 1 {
			c.Health.ShutdownOnCritical = true
			c.Recovery.Budget = budget
		}
	})
	m.WaitStatus(t, 30*time.Second, health.StatusHealthy)
	victim := m.Members[1]
	m.Unplug(t, victim, true)
	var began time.Time
	testkit.Eventually(t, 20*time.Second, "the victim recovering", func() (bool, string) {
		if recoveryOf(t, victim).Recovering != nil {
			began = time.Now()
			return true, ""
		}
		return false, string(victim.Health.Snapshot().Status)
	})
	select {
	case <-victim.Shutdown.Done():
	case <-time.After(budget + 20*time.Second):
		t.Fatal("the victim did not stop after its recovery budget")
	}
	code, reason := victim.Shutdown.Wait()
	if code != 3 || !strings.Contains(reason, "critical check") {
		t.Fatalf("stopped with %d (%s), want 3 for a critical check", code, reason)
	}
	if took := time.Since(began); took < budget-500*time.Millisecond {
		t.Fatalf("stopped %v after the recovery began, before its budget %v", took, budget)
	}
}
