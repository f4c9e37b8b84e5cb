package probes

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/liveness"
)

type fakeRunner struct {
	failing   []string
	triggered []string
}

func (f *fakeRunner) Trigger(check string) { f.triggered = append(f.triggered, check) }

func (f *fakeRunner) Snapshot() *health.Snapshot {
	s := &health.Snapshot{Checks: map[string]health.CheckView{}}
	for _, name := range []string{CheckConnectivity, CheckPubSubRoundTrip, CheckDHTIntegrity, CheckElection, CheckResources} {
		v := health.CheckView{Name: name, State: health.StatePassing}
		if slices.Contains(f.failing, name) {
			v.State = health.StateFailing
		}
		s.Checks[name] = v
	}
	return s
}

func TestRerunsOnPeerChanges(t *testing.T) {
	for _, c := range []struct {
		from, to liveness.State
		rerun    bool
	}{
		{liveness.Alive, liveness.Dead, true},
		{liveness.Alive, liveness.Left, true},
		{liveness.Suspect, liveness.Dead, true},
		{liveness.Dead, liveness.Alive, true},
		{liveness.Left, liveness.Alive, true},
		{liveness.Alive, liveness.Suspect, false},
		{liveness.Suspect, liveness.Alive, false},
	} {
		r := &fakeRunner{}
		NewReruns(r).PeerChanged(liveness.Change{From: c.from, To: c.to})
		if got := slices.Equal(r.triggered, []string{CheckConnectivity}); got != c.rerun {
			t.Errorf("%s -> %s: triggered %v, want p2p-connectivity: %v", c.from, c.to, r.triggered, c.rerun)
		}
	}
}

func TestRerunsOnConnectionsRerunOnlyFailingNetworkChecks(t *testing.T) {
	r := &fakeRunner{failing: []string{CheckDHTIntegrity, CheckResources}}
	x := NewReruns(r)
	x.Disconnected("")
	if want := []string{CheckConnectivity}; !slices.Equal(r.triggered, want) {
		t.Fatalf("on a disconnect: triggered %v, want %v", r.triggered, want)
	}
	r.triggered = nil
	x.Connected()
	if want := []string{CheckConnectivity, CheckDHTIntegrity}; !slices.Equal(r.triggered, want) {
		t.Fatalf("on a connection: triggered %v, want %v", r.triggered, want)
	}
}

type keyMetrics map[string]any

func (k keyMetrics) SetKeyMetric(name string, v any) { k[name] = v }

type keyMetricFunc func(name string, v any)

func (f keyMetricFunc) SetKeyMetric(name string, v any) { f(name, v) }

func TestChecksSetTheirOwnKeyMetrics(t *testing.T) {
	km := keyMetrics{}
	Connectivity(fakePeers(4), 1, 5*time.Second, time.Second, km).Checker(context.Background())
	if km["connected_peers"] != 4 {
		t.Errorf("connected_peers = %v, want 4", km["connected_peers"])
	}
	e := fakeElection{leader: "x", total: 7, recentChanges: 2, since: time.Now().Add(-90 * time.Second)}
	Election(e, 3*time.Second, 3, 5*time.Second, time.Second, nil, km).Checker(context.Background())
	if km["leadership_changes"] != uint64(7) || km["leadership_changes_10m"] != 2 || km["leader_uptime"] != "1m30s" {
		t.Errorf("election key metrics %v", km)
	}
}
