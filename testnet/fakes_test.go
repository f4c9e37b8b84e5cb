package testnet

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNode is an HTTP server answering like a node, with a health document
// the test can change.
type fakeNode struct {
	srv      *httptest.Server
	mu       sync.Mutex
	status   string
	peerID   string
	leader   string
	term     uint64
	isLeader bool
	faults   []string
	dataDir  string // holds the fault token, as a real node's does
}

const fakeToken = "fake-token-0123456789abcdef"

func newFakeNode(t *testing.T, peerID string) *fakeNode {
	f := &fakeNode{status: "healthy", peerID: peerID, dataDir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(f.dataDir, FaultTokenFile), []byte(fakeToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status != "healthy" && f.status != "degraded" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		json.NewEncoder(w).Encode(map[string]any{
			"status": f.status, "message": "fake", "score": 0.97, "node_id": f.peerID,
			"leader": f.leader, "term": f.term,
			"components": map[string]float64{"pubsub": 0.98, "dht": 1, "p2p": 1, "election": 1, "resources": 1, "custom": 0.5},
			"checks": map[string]any{
				"pubsub-roundtrip": map[string]any{"state": "passing", "healthy": true},
				"dht-integrity":    map[string]any{"state": map[bool]string{true: "failing", false: "passing"}[f.status == "unhealthy"]},
			},
		})
	})
	mux.HandleFunc("GET /health/summary", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"status":"healthy","key_metrics":{"connected_peers":4,"resource_utilization":{"cpu":0.1}}}`)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		v := 0
		if f.isLeader {
			v = 1
		}
		fmt.Fprintf(w, "# HELP x\nmeshhealth_election_is_leader_changes 7\nmeshhealth_election_is_leader %d\nmeshhealth_election_term %d\n", v, f.term)
	})
	mux.HandleFunc("POST /debug/fault", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+fakeToken {
			http.Error(w, `{"error":"missing or wrong bearer token"}`, http.StatusUnauthorized)
			return
		}
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if body["clear"] == true {
			f.faults = append(f.faults, "clear")
		} else if body["component"] == "bogus" {
			http.Error(w, `{"error":"unknown fault"}`, http.StatusBadRequest)
			return
		} else {
			f.faults = append(f.faults, fmt.Sprintf("%v/%v", body["component"], body["fault"]))
		}
		fmt.Fprint(w, `{"active":[]}`)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNode) set(fn func(f *fakeNode)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// fakeTestnet writes a local-mode state whose nodes are fake HTTP servers
// "run" by this test process (so they count as running).
func fakeTestnet(t *testing.T, n int) (string, []*fakeNode) {
	t.Helper()
	dir := t.TempDir()
	_, ticks, err := procStat(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	st := &State{Dir: dir, Mode: ModeLocal, Prefix: "mhtest00", NodeBin: "/nonexistent", CreatedAt: time.Now()}
	var nodes []*fakeNode
	for i := 0; i < n; i++ {
		f := newFakeNode(t, fmt.Sprintf("12D3KooWfakePeer%02d", i))
		nodes = append(nodes, f)
		st.Nodes = append(st.Nodes, NodeState{
			Index: i, Name: fmt.Sprintf("node%d", i), PID: os.Getpid(), StartTicks: ticks,
			StartedAt: time.Now().Add(-time.Minute), HTTP: strings.TrimPrefix(f.srv.URL, "http://"),
			Log: dir + "/none.log", IP: "127.0.0.1", DataDir: f.dataDir,
		})
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	return dir, nodes
}

// agree makes every fake node follow node leader at term.
func agree(nodes []*fakeNode, leader int, term uint64) {
	for i, f := range nodes {
		f.set(func(f *fakeNode) {
			f.leader, f.term, f.isLeader = nodes[leader].peerID, term, i == leader
		})
	}
}

// fakeCluster is an in-memory cluster for engine tests: Observe returns
// what the test set, Apply records and optionally reacts.
type fakeCluster struct {
	mu      sync.Mutex
	nodes   []NodeStatus
	applied []Chaos
	onApply func(c Chaos, nodes []NodeStatus)
	// onObserve, when set, runs before each observation (to script change
	// over time).
	onObserve func(n int, nodes []NodeStatus)
	observed  int
}

func (c *fakeCluster) Observe(ctx context.Context, _ Scrape) ([]NodeStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.onObserve != nil {
		c.onObserve(c.observed, c.nodes)
	}
	c.observed++
	out := make([]NodeStatus, len(c.nodes))
	copy(out, c.nodes)
	return out, nil
}

func (c *fakeCluster) Apply(ctx context.Context, ch Chaos) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applied = append(c.applied, ch)
	if c.onApply != nil {
		c.onApply(ch, c.nodes)
	}
	return nil
}

// mesh is n healthy nodes all following node leader at term.
func mesh(n, leader int, term uint64) []NodeStatus {
	nodes := make([]NodeStatus, n)
	for i := range nodes {
		nodes[i] = NodeStatus{Node: i, Name: fmt.Sprintf("node%d", i), PeerID: fmt.Sprintf("peer%d", i), Process: ProcRunning, Status: "healthy", Score: 1}
	}
	follow(nodes, leader, term)
	return nodes
}

func follow(nodes []NodeStatus, leader int, term uint64) {
	for i := range nodes {
		is := i == leader
		nodes[i].Leader, nodes[i].Term, nodes[i].IsLeader = nodes[leader].PeerID, term, &is
	}
}

// fakeClock jumps forward on Sleep, so a 60 s wait costs nothing.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return ctx.Err()
}
