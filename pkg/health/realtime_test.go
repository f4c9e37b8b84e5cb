package health

// These tests use real sockets and therefore real time. They only assert
// that answers arrive and what they say, never how fast: the client timeout
// is a generous bound against a hang, not a measurement.

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const generous = 30 * time.Second

func newClient(t *testing.T) *http.Client {
	c := &http.Client{Timeout: generous, Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// readBlock reads one SSE block (up to a blank line).
func readBlock(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the event stream: %v (so far %q)", err, b.String())
		}
		if line == "\n" {
			return b.String()
		}
		b.WriteString(line)
	}
}

func TestEveryEndpointAnswersWhileACheckerIsBlocked(t *testing.T) {
	m, _ := newManager(t, graceConfig())
	b := newBlocker()
	mustRegister(t, m, Check{Name: "stuck", Component: "dht", Critical: true, Interval: time.Minute,
		Timeout: generous, Checker: b.check})
	mustRegister(t, m, Check{Name: "ok", Component: "p2p", Checker: newToggle(true).check})
	start(t, m)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	defer m.Stop()
	defer m.CloseStreams()
	defer b.free()
	<-b.entered // the checker is now blocked on a channel, ignoring its context

	client := newClient(t)
	for _, path := range []string{"/health", "/health/ready", "/health/live", "/health/checks",
		"/health/checks/stuck", "/health/checks/ok", "/health/summary"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s while a checker is blocked: %v", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: reading body: %v", path, err)
		}
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil || (resp.StatusCode != 200 && resp.StatusCode != 503) {
			t.Errorf("GET %s = %d %s (%v)", path, resp.StatusCode, body, err)
		}
	}
	if b.calls.Load() != 1 {
		t.Errorf("the requests ran the checker: %d calls", b.calls.Load())
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/health/events", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /health/events: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/health/events = %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if first := readBlock(t, bufio.NewReader(resp.Body)); !strings.Contains(first, ": meshhealth events; status starting") {
		t.Errorf("first bytes of the stream = %q", first)
	}
}

func TestEventStreamDeliversTransitionsAndEndsOnCloseStreams(t *testing.T) {
	m, _ := newManager(t, testConfig())
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	defer m.Stop()
	defer m.CloseStreams()
	client := newClient(t)

	resp, err := client.Get(srv.URL + "/health/events")
	if err != nil {
		t.Fatalf("GET /health/events: %v", err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readBlock(t, r) // retry and status comment: the stream is subscribed

	m.SetStopping("SIGTERM")
	ev := readBlock(t, r)
	if !strings.HasPrefix(ev, "id: "+m.BootID()+"-1\nevent: status\ndata: ") || !strings.Contains(ev, `"to":"stopping"`) ||
		!strings.Contains(ev, `"cause":"stopping: SIGTERM"`) {
		t.Fatalf("event = %q", ev)
	}

	m.CloseStreams()
	if rest, err := io.ReadAll(r); err != nil || len(rest) != 0 {
		t.Fatalf("after CloseStreams: %q, %v; want the stream to end cleanly", rest, err)
	}
	resp2, err := client.Get(srv.URL + "/health/events")
	if err != nil {
		t.Fatalf("GET /health/events after CloseStreams: %v", err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 503 {
		t.Errorf("new stream after CloseStreams = %d, want 503", resp2.StatusCode)
	}
}

func TestEventStreamResumesFromLastEventID(t *testing.T) {
	m, _ := newManager(t, testConfig())
	m.SetStopping("test")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	defer m.CloseStreams()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/health/events", nil)
	req.Header.Set("Last-Event-ID", m.BootID()+"-0")
	resp, err := newClient(t).Do(req)
	if err != nil {
		t.Fatalf("GET /health/events: %v", err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	readBlock(t, r)
	if ev := readBlock(t, r); !strings.HasPrefix(ev, "id: "+m.BootID()+"-1\nevent: status\n") {
		t.Errorf("resumed stream starts with %q, want the missed event 1", ev)
	}
}
