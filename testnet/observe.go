package testnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/meshhealth/meshhealth/pkg/meshview"
	"github.com/meshhealth/meshhealth/pkg/status"
)

// Statuses the testnet adds to the node's own (starting, healthy, degraded,
// unhealthy, stopping) for a node that cannot say anything.
const (
	StatusUnreachable = "unreachable"
	StatusExited      = "exited"
)

// NodeStatus is one node as the testnet saw it at one moment.
type NodeStatus struct {
	Node        int       `json:"node"`
	Name        string    `json:"name"`
	PeerID      string    `json:"peer_id"`
	Address     string    `json:"address"`
	Process     ProcState `json:"process"`
	Exit        *ExitInfo `json:"exit,omitempty"`
	Partitioned bool      `json:"partitioned,omitempty"`
	// Status is the node's /health status, or unreachable, or exited.
	Status     string             `json:"status"`
	Message    string             `json:"message,omitempty"`
	Score      float64            `json:"score"`
	Components map[string]float64 `json:"components,omitempty"`
	// Failing names the checks whose effective state is failing.
	Failing []string `json:"failing,omitempty"`
	Leader  string   `json:"leader,omitempty"`
	Term    uint64   `json:"term"`
	// IsLeader is meshhealth_election_is_leader from /metrics; nil when
	// the metric was not read or not exported.
	IsLeader *bool `json:"is_leader,omitempty"`
	// Peers is connected_peers from /health/summary; nil when not read.
	Peers *int `json:"peers,omitempty"`
	// Outsider: not on the mesh's allow-list (up --outsiders).
	Outsider bool `json:"outsider,omitempty"`
	// Members are the peer IDs of the members in the node's /health/mesh
	// and Refused its count of refused peers; nil when not read.
	Members   []string  `json:"members,omitempty"`
	Refused   *uint64   `json:"refused,omitempty"`
	StartedAt time.Time `json:"started_at"`
	// StartupGrace is the node's --startup-grace as the testnet started it.
	StartupGrace time.Duration `json:"-"`
	Error        string        `json:"error,omitempty"`
}

// Ready is what /health/ready calls ready.
func (s NodeStatus) Ready() bool { return status.Status(s.Status).Serving() }

// Scrape says which endpoints an observation reads. /health always; the
// others only when the caller needs them, to keep the polling light on a
// machine whose load is part of the experiment.
type Scrape struct {
	Metrics bool
	Summary bool
	Mesh    bool // /health/mesh
}

// httpTimeout bounds every request: a node held by SIGSTOP accepts the
// connection and never answers.
const httpTimeout = time.Second

type healthDoc struct {
	Status     string             `json:"status"`
	Message    string             `json:"message"`
	Score      float64            `json:"score"`
	Components map[string]float64 `json:"components"`
	NodeID     string             `json:"node_id"`
	Leader     string             `json:"leader"`
	Term       flexUint           `json:"term"`
	Checks     map[string]struct {
		State   string `json:"state"`
		Healthy bool   `json:"healthy"`
	} `json:"checks"`
}

type summaryDoc struct {
	KeyMetrics map[string]json.RawMessage `json:"key_metrics"`
}

// flexUint reads a number that may come as a JSON number or a string.
type flexUint uint64

func (f *flexUint) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("term %s: %w", b, err)
	}
	*f = flexUint(v)
	return nil
}

// observer reads nodes over HTTP; in netns mode it dials from inside each
// node's namespace so a partitioned node can still be watched.
type observer struct {
	mu      sync.Mutex
	clients map[string]*http.Client
}

func (o *observer) client(ns string) *http.Client {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.clients == nil {
		o.clients = map[string]*http.Client{}
	}
	if c, ok := o.clients[ns]; ok {
		return c
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second, DisableCompression: true}
	if ns != "" {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialInNetns(ctx, ns, network, addr)
		}
	}
	c := &http.Client{Transport: tr, Timeout: httpTimeout}
	o.clients[ns] = c
	return c
}

func (o *observer) close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range o.clients {
		c.CloseIdleConnections()
	}
}

// observeAll reads every node at once.
func (o *observer) observeAll(ctx context.Context, st *State, what Scrape) []NodeStatus {
	out := make([]NodeStatus, len(st.Nodes))
	var wg sync.WaitGroup
	for i := range st.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = o.observe(ctx, &st.Nodes[i], what)
		}()
	}
	wg.Wait()
	return out
}

func (o *observer) observe(ctx context.Context, n *NodeState, what Scrape) NodeStatus {
	s := NodeStatus{
		Node: n.Index, Name: n.Name, PeerID: n.PeerID, Address: n.HTTP,
		Partitioned: n.Partitioned, StartedAt: n.StartedAt, StartupGrace: startupGrace(n.Args),
		Outsider: n.Outsider,
	}
	s.Process = processState(n)
	switch s.Process {
	case ProcExited:
		s.Status = StatusExited
		if info, err := readExit(n.Log, n.LogOffset); err == nil && info.Found {
			s.Exit = &info
			s.Message = fmt.Sprintf("exit code %d: %s", info.Code, info.Reason)
		} else {
			s.Message = "process gone without a `node stopped` line in its log"
		}
		return s
	case ProcStopped:
		// It would hold the connection until the timeout; say why at once.
		s.Status = StatusUnreachable
		s.Message = "process stopped (SIGSTOP)"
		return s
	}
	c := o.client(n.Namespace)
	var h healthDoc
	if err := getJSON(ctx, c, "http://"+n.HTTP+"/health", &h); err != nil {
		s.Status = StatusUnreachable
		s.Error = err.Error()
		return s
	}
	s.Status, s.Message, s.Score = h.Status, h.Message, h.Score
	s.Components, s.Leader, s.Term = h.Components, h.Leader, uint64(h.Term)
	if s.PeerID == "" {
		s.PeerID = h.NodeID
	}
	for name, c := range h.Checks {
		if c.State == "failing" {
			s.Failing = append(s.Failing, name)
		}
	}
	slices.Sort(s.Failing)
	if what.Metrics {
		if m, err := getText(ctx, c, "http://"+n.HTTP+"/metrics"); err == nil {
			if v, ok := metricValue(m, "meshhealth_election_is_leader"); ok {
				b := v == 1
				s.IsLeader = &b
			}
			if v, ok := metricValue(m, "meshhealth_election_term"); ok && s.Term == 0 {
				s.Term = uint64(v)
			}
		}
	}
	if what.Mesh {
		var m meshview.Mesh
		if err := getJSON(ctx, c, "http://"+n.HTTP+"/health/mesh", &m); err == nil {
			s.Members = make([]string, 0, len(m.Members))
			for _, mem := range m.Members {
				s.Members = append(s.Members, mem.ID)
			}
			s.Refused = &m.Totals.Refused
		}
	}
	if what.Summary {
		var sum summaryDoc
		if err := getJSON(ctx, c, "http://"+n.HTTP+"/health/summary", &sum); err == nil {
			var peers int
			if err := json.Unmarshal(sum.KeyMetrics["connected_peers"], &peers); err == nil {
				s.Peers = &peers
			}
		}
	}
	return s
}

// getJSON decodes the body whatever the status code: /health answers 503
// with the same document when the node is not ready.
func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	b, err := getText(ctx, c, url)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(b), v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

func getText(ctx context.Context, c *http.Client, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, httpTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// MetricSamples lists the values of every sample of the metric called name,
// whatever its labels, in a Prometheus text exposition (a longer name that
// merely shares the prefix is not it).
func MetricSamples(exposition, name string) []float64 {
	var out []float64
	for _, l := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(l, name) {
			continue
		}
		rest := l[len(name):]
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			rest = rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer name that shares the prefix
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		out = append(out, v)
	}
	return out
}

// MetricSum adds every sample of name; found is false when there is none.
func MetricSum(exposition, name string) (total float64, found bool) {
	for _, v := range MetricSamples(exposition, name) {
		total += v
		found = true
	}
	return total, found
}

// metricValue is the first sample of name (any labels).
func metricValue(exposition, name string) (float64, bool) {
	if v := MetricSamples(exposition, name); len(v) > 0 {
		return v[0], true
	}
	return 0, false
}

// startupGrace reads --startup-grace from the arguments the node was
// started with; the node's default is 30 s.
func startupGrace(args []string) time.Duration {
	grace := 30 * time.Second
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		var v string
		if a == "startup-grace" && i+1 < len(args) {
			v = args[i+1]
		} else if s, ok := strings.CutPrefix(a, "startup-grace="); ok {
			v = s
		} else {
			continue
		}
		if d, err := time.ParseDuration(v); err == nil {
			grace = d
		}
	}
	return grace
}
