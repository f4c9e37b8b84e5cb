package meshview

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

var (
	now              = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	me, pa, pb, pc   = peer.ID("\x00\x04self"), peer.ID("\x00\x04aaaa"), peer.ID("\x00\x04bbbb"), peer.ID("\x00\x04cccc")
	ttl              = 30 * time.Second
	selfHealthy      = Self{ID: me, Status: "healthy", Score: 1, Leader: pa, Term: 3, Version: "v1"}
	selfHealthyNoLdr = Self{ID: me, Status: "healthy", Score: 1}
)

func info(id peer.ID, st liveness.State) liveness.Info {
	return liveness.Info{ID: id, State: st, Evidence: liveness.Message, EvidenceAt: now.Add(-2 * time.Second), Connected: true}
}

func entry(id peer.ID, status string, leader peer.ID, age time.Duration) summary.Entry {
	return summary.Entry{Peer: id, Summary: wire.Summary{Status: status, Score: 0.9, Leader: leader, Term: 3}, ReceivedAt: now.Add(-age)}
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name          string
		self          Self
		peers         []liveness.Info
		sums          []summary.Entry
		states        map[string]string // member → state
		statuses      map[string]string // member → status
		disagree      map[string]string // member → disagreement
		disagreements int
		leader        peer.ID
		agree, report int
	}{
		{
			name: "alone", self: selfHealthyNoLdr,
			states: map[string]string{me.String(): "alive"}, statuses: map[string]string{me.String(): "healthy"},
			report: 1,
		},
		{
			name: "all agree", self: selfHealthy,
			peers:  []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Alive)},
			sums:   []summary.Entry{entry(pa, "healthy", pa, time.Second), entry(pb, "degraded", pa, 5*time.Second)},
			states: map[string]string{pa.String(): "alive", pb.String(): "alive"}, statuses: map[string]string{pb.String(): "degraded"},
			leader: pa, agree: 3, report: 3,
		},
		{
			name: "held dead, its current summary says healthy", self: selfHealthy,
			peers:         []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Dead)},
			sums:          []summary.Entry{entry(pa, "healthy", pa, time.Second), entry(pb, "healthy", pa, 10*time.Second)},
			disagree:      map[string]string{pb.String(): HeldDownReportsUp},
			disagreements: 1, leader: pa, agree: 3, report: 3,
		},
		{
			name: "held suspect, its summary expired: no disagreement, status unknown", self: selfHealthy,
			peers:    []liveness.Info{info(pb, liveness.Suspect)},
			sums:     []summary.Entry{entry(pb, "healthy", pa, time.Minute)},
			statuses: map[string]string{pb.String(): Unknown}, states: map[string]string{pb.String(): "suspect"},
			leader: pa, agree: 1, report: 1,
		},
		{
			name: "held alive, says unhealthy", self: selfHealthy,
			peers:         []liveness.Info{info(pa, liveness.Alive)},
			sums:          []summary.Entry{entry(pa, "unhealthy", pa, time.Second)},
			disagree:      map[string]string{pa.String(): HeldAliveReportsDown},
			disagreements: 1, leader: pa, agree: 2, report: 2,
		},
		{
			name: "left with a current summary is no disagreement", self: selfHealthy,
			peers:  []liveness.Info{info(pa, liveness.Left)},
			sums:   []summary.Entry{entry(pa, "healthy", pa, time.Second)},
			states: map[string]string{pa.String(): "left"}, leader: pa, agree: 2, report: 2,
		},
		{
			name: "no leader here: the plurality of summaries", self: selfHealthyNoLdr,
			peers: []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Alive), info(pc, liveness.Alive)},
			sums: []summary.Entry{entry(pa, "healthy", pb, time.Second), entry(pb, "healthy", pb, time.Second),
				entry(pc, "healthy", pc, time.Second)},
			leader: pb, agree: 2, report: 4,
		},
		{
			name: "a summary from a peer the view does not know", self: selfHealthy,
			sums:   []summary.Entry{entry(pc, "healthy", pa, time.Second)},
			states: map[string]string{pc.String(): Unknown}, statuses: map[string]string{pc.String(): "healthy"},
			leader: pa, agree: 2, report: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Build(Input{Self: tt.self, Peers: tt.peers, Summaries: tt.sums, TTL: ttl, Now: now})
			if !m.Members[0].Self || m.Members[0].ID != me.String() {
				t.Fatalf("first member %+v, want this node", m.Members[0])
			}
			byID := map[string]Member{}
			for _, x := range m.Members {
				byID[x.ID] = x
			}
			if len(byID) != len(m.Members) || m.Totals.Members != len(m.Members) {
				t.Fatalf("members %d (unique %d), totals say %d", len(m.Members), len(byID), m.Totals.Members)
			}
			for id, want := range tt.states {
				if got := byID[id].State; got != want {
					t.Errorf("%s state %q, want %q", id, got, want)
				}
			}
			for id, want := range tt.statuses {
				if got := byID[id].Status; got != want {
					t.Errorf("%s status %q, want %q", id, got, want)
				}
			}
			for _, x := range m.Members {
				if got, want := x.Disagreement, tt.disagree[x.ID]; got != want {
					t.Errorf("%s disagreement %q, want %q", x.ID, got, want)
				}
			}
			tot := m.Totals
			if tot.Disagreements != tt.disagreements {
				t.Errorf("disagreements %d, want %d", tot.Disagreements, tt.disagreements)
			}
			if tot.Leader != idString(tt.leader) || tot.LeaderAgree != tt.agree || tot.LeaderReporting != tt.report {
				t.Errorf("leader %q %d of %d, want %q %d of %d", tot.Leader, tot.LeaderAgree, tot.LeaderReporting,
					idString(tt.leader), tt.agree, tt.report)
			}
			n := 0
			for _, c := range tot.ByState {
				n += c
			}
			if n != tot.Members {
				t.Errorf("by_state sums to %d of %d members", n, tot.Members)
			}
		})
	}
}

func TestFilterKeepsTotals(t *testing.T) {
	m := Build(Input{Self: selfHealthy, Now: now, TTL: ttl,
		Peers:     []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Dead), info(pc, liveness.Suspect)},
		Summaries: []summary.Entry{entry(pa, "healthy", pa, time.Second), entry(pb, "unhealthy", pa, time.Second)}})
	tests := []struct {
		states, statuses []string
		want             []string
	}{
		{nil, nil, []string{me.String(), pa.String(), pb.String(), pc.String()}},
		{[]string{"dead", "suspect"}, nil, []string{pb.String(), pc.String()}},
		{nil, []string{"healthy"}, []string{me.String(), pa.String()}},
		{[]string{"alive"}, []string{"unhealthy"}, []string{}},
	}
	for _, tt := range tests {
		f := m.Filter(tt.states, tt.statuses)
		var got []string
		for _, x := range f.Members {
			got = append(got, x.ID)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && !equal(got, tt.want)) {
			t.Errorf("state %v status %v: %v, want %v", tt.states, tt.statuses, got, tt.want)
		}
		if f.Totals.Members != 4 {
			t.Errorf("filtered totals %d members, want the whole mesh's 4", f.Totals.Members)
		}
	}
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestHandler(t *testing.T) {
	h := New(Source{
		Self:  func() Self { return selfHealthy },
		Peers: func() []liveness.Info { return []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Dead)} },
		Summaries: func() []summary.Entry {
			return []summary.Entry{{Peer: pb, Summary: wire.Summary{Status: "healthy"}, ReceivedAt: time.Now()}}
		},
		TTL: func() time.Duration { return ttl },
	})
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := http.Get(srv.URL + "/health/mesh?state=dead,alive&status=healthy")
	if err != nil {
		t.Fatal(err)
	}
	var m Mesh
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || len(m.Members) != 2 || m.Members[1].ID != pb.String() || m.Members[1].Disagreement != HeldDownReportsUp {
		t.Fatalf("status %d, members %+v", res.StatusCode, m.Members)
	}
	if m.Totals.Members != 3 || m.Totals.Disagreements != 1 {
		t.Errorf("totals %+v", m.Totals)
	}

	res, err = http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("dashboard: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res, _ = http.Get(srv.URL + "/nope"); res.StatusCode != 404 {
		t.Errorf("/nope: %d, want 404", res.StatusCode)
	}

	// The stream sends the mesh at once; after Close it ends, and new ones are refused.
	res, err = http.Get(srv.URL + "/health/mesh/events")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := io.ReadAtLeast(res.Body, buf, len("retry: 3000\n\nevent: mesh\ndata: {"))
	if !strings.Contains(string(buf[:n]), "event: mesh\ndata: {") {
		t.Errorf("stream began %q", buf[:n])
	}
	h.Close()
	if _, err := io.ReadAll(res.Body); err != nil {
		t.Errorf("stream did not end cleanly: %v", err)
	}
	res.Body.Close()
	if res, _ = http.Get(srv.URL + "/health/mesh/events"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %d, want 503", res.StatusCode)
	}
}

func TestFingerprintIgnoresTimesOnly(t *testing.T) {
	base := Input{Self: selfHealthy, TTL: ttl, Now: now,
		Peers: []liveness.Info{info(pa, liveness.Alive)}, Summaries: []summary.Entry{entry(pa, "healthy", pa, time.Second)}}
	fp := string(fingerprint(Build(base)))
	later := base
	later.Now = now.Add(3 * time.Second)
	heard := info(pa, liveness.Alive)
	heard.EvidenceAt, heard.LastHeard = later.Now, later.Now
	later.Peers = []liveness.Info{heard}
	later.Summaries = []summary.Entry{entry(pa, "healthy", pa, 0)}
	if got := string(fingerprint(Build(later))); got != fp {
		t.Errorf("a new message and a later clock changed the fingerprint:\n%s\n%s", fp, got)
	}
	for name, change := range map[string]func(*Input){
		"state":  func(in *Input) { in.Peers = []liveness.Info{info(pa, liveness.Suspect)} },
		"status": func(in *Input) { in.Summaries = []summary.Entry{entry(pa, "degraded", pa, time.Second)} },
		"leader": func(in *Input) { in.Self.Leader = pb },
		"evidence": func(in *Input) {
			p := info(pa, liveness.Alive)
			p.Evidence = liveness.Ack
			in.Peers = []liveness.Info{p}
		},
	} {
		in := base
		change(&in)
		if string(fingerprint(Build(in))) == fp {
			t.Errorf("a change of %s left the fingerprint alone", name)
		}
	}
}

func TestStreamCap(t *testing.T) {
	h := New(Source{
		Self:          func() Self { return selfHealthy },
		Peers:         func() []liveness.Info { return nil },
		Summaries:     func() []summary.Entry { return nil },
		AcquireStream: func() (func(), bool) { return nil, false },
		MaxStreams:    3,
	})
	w := httptest.NewRecorder()
	h.serveEvents(w, httptest.NewRequest(http.MethodGet, "/health/mesh/events", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "at most 3") {
		t.Errorf("at the cap: %d %q %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

func TestGossipTopics(t *testing.T) {
	m := Build(Input{Self: selfHealthy, Now: now, TTL: ttl,
		Peers:      []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Alive)},
		GossipMesh: map[string][]peer.ID{"t/summary": {pa}, "t/probe": {pa, pb, pc}}})
	got := map[string][]string{}
	for _, x := range m.Members {
		got[x.ID] = x.GossipTopics
	}
	if g := got[pa.String()]; len(g) != 2 || g[0] != "t/probe" || g[1] != "t/summary" {
		t.Errorf("in both meshes: %v", g)
	}
	if g := got[pb.String()]; len(g) != 1 || g[0] != "t/probe" {
		t.Errorf("outside the summary mesh: %v", g)
	}
	if g := got[me.String()]; g != nil {
		t.Errorf("this node: %v", g)
	}
	if m.Totals.GossipMesh["t/probe"] != 3 || m.Totals.GossipMesh["t/summary"] != 1 {
		t.Errorf("totals %v", m.Totals.GossipMesh)
	}
}

// A peer the membership does not admit (taken off the allow-list, still in
// the liveness view or the summary book for a while) is no member, and the
// refusals are counted in the totals.
func TestBuildLeavesOutPeersTheMembershipRefuses(t *testing.T) {
	m := Build(Input{
		Self:      selfHealthy,
		Peers:     []liveness.Info{info(pa, liveness.Alive), info(pb, liveness.Alive)},
		Summaries: []summary.Entry{entry(pa, "healthy", pa, time.Second), entry(pb, "healthy", pa, time.Second), entry(pc, "healthy", pa, time.Second)},
		TTL:       ttl, Now: now,
		Admit:   func(id peer.ID) bool { return id != pb && id != pc },
		Refused: 7,
	})
	var ids []string
	for _, mem := range m.Members {
		ids = append(ids, mem.ID)
	}
	if len(m.Members) != 2 || m.Totals.Members != 2 || m.Members[1].ID != pa.String() {
		t.Fatalf("members %v, want self and %s only", ids, pa)
	}
	if m.Totals.Refused != 7 {
		t.Errorf("totals.refused = %d, want 7", m.Totals.Refused)
	}
}
