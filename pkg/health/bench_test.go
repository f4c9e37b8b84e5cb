package health

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchManager is a manager with the five default checks and a full
// history each, as a node has after some minutes; no goroutines run.
func benchManager(b *testing.B) *Manager {
	b.Helper()
	m, err := NewManager(testConfig(), nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, comp string }{
		{"pubsub-roundtrip", "pubsub"}, {"dht-integrity", "dht"}, {"p2p-connectivity", "p2p"},
		{"election-stability", "election"}, {"resources", "resources"},
	} {
		if err := m.Register(Check{Name: c.name, Component: c.comp, Critical: true, Checker: newToggle(true).check}); err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.core
	k.started, k.startTime = true, now.Add(-time.Hour)
	for _, c := range k.checks {
		for i := range m.cfg.History {
			r := Result{Healthy: i%17 != 0, Message: "3 peers connected", Latency: time.Duration(i) * time.Millisecond,
				Details: map[string]any{"connected_peers": 3, "min_peers": 1, "acks": "2/3"}}
			k.record(c, newSample(r, outcomeSuccess, now.Add(-time.Duration(m.cfg.History-i)*time.Second)))
		}
	}
	return m
}

// BenchmarkSnapshotPublish is the cost of one recorded result: recompute
// views, scores and status, render the hot bodies, publish.
func BenchmarkSnapshotPublish(b *testing.B) {
	m := benchManager(b)
	b.ReportAllocs()
	for b.Loop() {
		m.mu.Lock()
		m.core.refresh(time.Now())
		m.applyLocked()
		m.mu.Unlock()
	}
}

// BenchmarkScore is one check's window score (walk the history ring, sort
// the success latencies).
func BenchmarkScore(b *testing.B) {
	m := benchManager(b)
	c := m.core.checks[0]
	b.ReportAllocs()
	for b.Loop() {
		_, _ = c.windowScore(m.cfg.Window, 0, time.Now())
	}
}

type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkHealthJSON serves /health from a published snapshot: the
// pre-rendered path, and the paths that encode per request.
func BenchmarkHealthJSON(b *testing.B) {
	m := benchManager(b)
	h := m.Handler()
	for _, bc := range []struct{ name, target, accept string }{
		{"prerendered", "/health", ""},
		{"exclude", "/health?exclude=resources", ""},
		{"health+json", "/health", contentHealthJSON},
		{"ready", "/health/ready", ""},
		{"checks", "/health/checks", ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.target, nil)
			if bc.accept != "" {
				req.Header.Set("Accept", bc.accept)
			}
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
