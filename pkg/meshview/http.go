package meshview

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/internal/sse"
	"github.com/meshhealth/meshhealth/pkg/liveness"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

const (
	// streamEvery is the fastest a stream sends: a mesh that changes
	// constantly costs one document a second per client, not more.
	streamEvery = time.Second
	// streamRefresh: a mesh whose members and states stay put is sent
	// again this often, so the times of the last evidence and summary on a
	// page stay within a few seconds; it doubles as the keepalive that
	// keeps idle proxies from closing the stream.
	streamRefresh = 5 * time.Second
)

//go:embed dashboard.html
var dashboard []byte

// Source reads the node's parts at request time.
type Source struct {
	Self      func() Self
	Peers     func() []liveness.Info
	Summaries func() []summary.Entry
	TTL       func() time.Duration
	// GossipMesh, when set, is this node's GossipSub mesh per topic.
	GossipMesh func() map[string][]peer.ID
	// Admit and Refused, when set, are the mesh's membership and this
	// node's count of refusals (Input.Admit, Input.Refused).
	Admit   func(peer.ID) bool
	Refused func() uint64
	// AcquireStream, when set, takes a slot under the node's cap on
	// long-lived streams (shared with /health/events); a stream refused
	// one gets 503 with Retry-After. max is the cap, for the message.
	AcquireStream func() (release func(), ok bool)
	MaxStreams    int
}

// Handler serves GET /health/mesh, GET /health/mesh/events and the
// dashboard.
type Handler struct {
	src       Source
	done      chan struct{}
	closeOnce sync.Once
}

// New builds the handler.
func New(src Source) *Handler { return &Handler{src: src, done: make(chan struct{})} }

// Mesh builds the mesh now.
func (h *Handler) Mesh() Mesh {
	var ttl time.Duration
	if h.src.TTL != nil {
		ttl = h.src.TTL()
	}
	in := Input{Self: h.src.Self(), Peers: h.src.Peers(), Summaries: h.src.Summaries(), TTL: ttl, Now: time.Now()}
	if h.src.GossipMesh != nil {
		in.GossipMesh = h.src.GossipMesh()
	}
	in.Admit = h.src.Admit
	if h.src.Refused != nil {
		in.Refused = h.src.Refused()
	}
	return Build(in)
}

// Close ends every event stream and refuses new ones; the node calls it as
// shutdown begins so that open dashboards never hold the HTTP drain.
func (h *Handler) Close() { h.closeOnce.Do(func() { close(h.done) }) }

// Register adds the routes to mux.
func (h *Handler) Register(mux interface {
	Handle(string, http.Handler)
}) {
	mux.Handle("/health/mesh", http.HandlerFunc(h.serveMesh))
	mux.Handle("/health/mesh/events", http.HandlerFunc(h.serveEvents))
	mux.Handle("/{$}", http.HandlerFunc(h.serveDashboard))
}

func allowGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, `{"error":"method not allowed"}`, http.StatusMethodNotAllowed)
	return false
}

// list splits a filter's values: ?state=dead,suspect and
// ?state=dead&state=suspect are the same.
func list(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

func (h *Handler) serveMesh(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	q := r.URL.Query()
	m := h.Mesh().Filter(list(q["state"]), list(q["status"]))
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodHead {
		return
	}
	json.NewEncoder(w).Encode(m)
}

// fingerprint is the mesh without its times and ages: every message a
// peer writes moves its last-heard time, and sending on that would send
// every second. What a reader watches for (a state, a status, a score, the
// leader, a disagreement, a new kind of evidence) changes the fingerprint.
func fingerprint(m Mesh) []byte {
	m.GeneratedAt = time.Time{}
	ms := make([]Member, len(m.Members))
	for i, x := range m.Members {
		if x.Says != nil {
			s := *x.Says
			s.AgeSeconds, s.ReceivedAt = 0, time.Time{}
			x.Says = &s
		}
		if x.Seen != nil {
			s := *x.Seen
			s.EvidenceAgeSeconds, s.EvidenceAt, s.LastHeard = 0, time.Time{}, time.Time{}
			s.MissedAckAt = time.Time{}
			x.Seen = &s
		}
		ms[i] = x
	}
	m.Members = ms
	b, _ := json.Marshal(m) // plain values: cannot fail
	return b
}

// serveEvents streams the whole mesh (event "mesh", the /health/mesh JSON)
// within a second of a change (at most one a second), and again every 5 s
// when nothing changed. The filters apply as on /health/mesh.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	select {
	case <-h.done:
		http.Error(w, `{"error":"event streams closed: shutting down"}`, http.StatusServiceUnavailable)
		return
	default:
	}
	if h.src.AcquireStream != nil {
		release, ok := h.src.AcquireStream()
		if !ok {
			// EventSource honours the 503 by giving up; the page's own retry
			// waits Retry-After.
			w.Header().Set("Retry-After", sse.RetryAfter)
			http.Error(w, fmt.Sprintf(`{"error":%q}`, sse.TooMany(h.src.MaxStreams)), http.StatusServiceUnavailable)
			return
		}
		defer release()
	}
	q := r.URL.Query()
	states, statuses := list(q["state"]), list(q["status"])
	w.Header().Set("Cache-Control", "no-store")
	stream := sse.Open(w, r)
	if stream == nil {
		return
	}
	var last []byte
	buf := sse.AppendHello(nil, "")
	tick := time.NewTicker(streamEvery)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		m := h.Mesh().Filter(states, statuses)
		if fp := fingerprint(m); !bytes.Equal(fp, last) || time.Since(lastWrite) >= streamRefresh {
			last = fp
			data, _ := json.Marshal(m)
			buf = sse.AppendEvent(buf, "", "mesh", data)
		}
		if len(buf) > 0 {
			if !stream.Send(buf) {
				return
			}
			buf, lastWrite = buf[:0], time.Now()
		}
		select {
		case <-tick.C:
		case <-h.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (h *Handler) serveDashboard(w http.ResponseWriter, r *http.Request) {
	if !allowGet(w, r) {
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// The page loads nothing from elsewhere, and says so to the browser.
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	if r.Method == http.MethodHead {
		return
	}
	w.Write(dashboard)
}
