package node

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestConnectionsBeyondTheCapGet503WithRetryAfter(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	s := NewHTTPServer("127.0.0.1:0", ok, nil, prometheus.NewRegistry(), nil, slog.New(slog.DiscardHandler))
	s.MaxConns = 2
	reg := prometheus.NewRegistry()
	if err := s.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())

	get := func() *http.Response {
		t.Helper()
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /health/live HTTP/1.1\r\nHost: "+s.Addr()+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// Two keep-alive connections hold the two slots.
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	waitUntil(t, func() bool { return s.open.Load() == 2 })

	resp := get()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Fatalf("over the cap: %d, Retry-After %q, close %v; want 503, Retry-After, Connection: close",
			resp.StatusCode, resp.Header.Get("Retry-After"), resp.Close)
	}
	if s.rejected.Load() != 1 {
		t.Errorf("rejected = %d, want 1", s.rejected.Load())
	}

	held[0].Close()
	waitUntil(t, func() bool { return s.open.Load() < 2 })
	if resp := get(); resp.StatusCode != http.StatusOK {
		t.Fatalf("after a slot freed: %d, want 200", resp.StatusCode)
	}
	held[1].Close()
}

// waitUntil polls cond; the deadline is a bound against a hang, not a
// measurement.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
