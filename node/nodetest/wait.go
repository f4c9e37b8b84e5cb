package nodetest

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckState is the effective state of one check on mem, and its message.
func (mem *Member) CheckState(name string) (health.State, string) {
	v, ok := mem.Health.Snapshot().Checks[name]
	if !ok {
		return "", "no such check"
	}
	return v.State, v.Message
}

// WaitStatus waits until every given member reports status s.
func (m *Mesh) WaitStatus(t testing.TB, within time.Duration, s health.Status, members ...*Member) {
	t.Helper()
	if len(members) == 0 {
		members = m.Members
	}
	for _, mem := range members {
		testkit.Eventually(t, within, fmt.Sprintf("node %d %s", mem.Index, s), func() (bool, string) {
			snap := mem.Health.Snapshot()
			return snap.Status == s, fmt.Sprintf("%s: %s", snap.Status, snap.Message)
		})
	}
}

// Isolate cuts every link between mem and the rest of the mesh (a real
// partition on mocknet: connections close and redials fail), or restores
// them and redials a neighbour, as the bootstrap loop would on a real
// network.
func (m *Mesh) Isolate(t testing.TB, mem *Member, on bool) {
	t.Helper()
	m.Unplug(t, mem, on)
	if !on {
		if _, err := m.Net.ConnectPeers(mem.P2P.Host.ID(), m.Members[(mem.Index+1)%len(m.Members)].P2P.Host.ID()); err != nil {
			t.Fatal(err)
		}
	}
}

// Unplug takes mem off the network as a pulled cable would: its links
// gone, no dial through; plugged back (on false), it gives the links back
// and nothing more, so only the node itself can reconnect.
func (m *Mesh) Unplug(t testing.TB, mem *Member, on bool) {
	t.Helper()
	self := mem.P2P.Host.ID()
	if on {
		// Unlinking alone leaves mocknet streams that still deliver after
		// their connection is gone; the node's own isolation closes them as
		// a dead network would.
		mem.P2P.Isolate(true)
	}
	for _, other := range m.Members {
		if other == mem {
			continue
		}
		id := other.P2P.Host.ID()
		if on {
			if err := m.Net.UnlinkPeers(self, id); err != nil {
				t.Fatal(err)
			}
			m.Net.DisconnectPeers(self, id)
		} else if _, err := m.Net.LinkPeers(self, id); err != nil {
			t.Fatal(err)
		}
	}
	if !on {
		mem.P2P.Isolate(false)
	}
}

type nodeConfig = node.Config

// setFault breaks a component through the node's real /debug/fault endpoint.
func setFault(t testing.TB, mem *Member, component, fault string) {
	t.Helper()
	postFault(t, mem, fmt.Sprintf(`{"component":%q,"fault":%q}`, component, fault))
}

func clearFaults(t testing.TB, mem *Member) {
	t.Helper()
	postFault(t, mem, `{"clear":true}`)
}

func postFault(t testing.TB, mem *Member, body string) {
	t.Helper()
	token, err := os.ReadFile(filepath.Join(mem.Config.P2P.DataDir, node.FaultTokenFile))
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, mem.URL()+"/debug/fault", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("fault %s: %d %s", body, resp.StatusCode, b)
	}
}
