package health

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// transitions returns the log a snapshot would hold: seq from..to.
func transitions(from, to uint64) []Transition {
	var out []Transition
	for s := from; s <= to; s++ {
		out = append(out, Transition{Seq: s, Kind: "check", Check: "c", From: "passing", To: "failing"})
	}
	return out
}

func TestEventResumeSaysWhenEventsWereMissed(t *testing.T) {
	m, _ := newManager(t, testConfig())
	boot := m.BootID()
	tests := []struct {
		name   string
		log    []Transition
		lastID string
		missed bool     // a "missed" event comes first
		ids    []string // then these events, in order
	}{
		{"no Last-Event-ID: nothing replayed", transitions(1, 3), "", false, nil},
		{"resume within the log", transitions(1, 5), boot + "-3", false, []string{boot + "-4", boot + "-5"}},
		{"up to date", transitions(1, 5), boot + "-5", false, nil},
		{"log no longer reaches back", transitions(50, 52), boot + "-10", true, []string{boot + "-50", boot + "-51", boot + "-52"}},
		{"id from before a restart", transitions(1, 2), "0badb007-40", true, []string{boot + "-1", boot + "-2"}},
		{"a bare number (an old node's id)", transitions(1, 2), "7", true, []string{boot + "-1", boot + "-2"}},
		{"restart, and this process's log has rolled too", transitions(120, 121), "0badb007-3", true, []string{boot + "-120", boot + "-121"}},
		{"restart with an empty log", nil, "0badb007-3", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, sent := m.appendResume(nil, tt.lastID, &Snapshot{Transitions: tt.log, Status: StatusHealthy})
			out := string(buf)
			var gotIDs []string
			sawMissed := false
			for block := range strings.SplitSeq(strings.TrimSpace(out), "\n\n") {
				if block == "" {
					continue
				}
				id, _, _ := strings.Cut(strings.TrimPrefix(block, "id: "), "\n")
				if strings.Contains(block, "\nevent: missed\n") {
					if len(gotIDs) > 0 {
						t.Errorf("missed event after replayed ones:\n%s", out)
					}
					sawMissed = true
					if !strings.Contains(block, `"last_event_id":"`+tt.lastID+`"`) {
						t.Errorf("missed event does not name the client's id:\n%s", block)
					}
					continue
				}
				gotIDs = append(gotIDs, id)
			}
			if sawMissed != tt.missed {
				t.Errorf("missed event = %v, want %v:\n%s", sawMissed, tt.missed, out)
			}
			if fmt.Sprint(gotIDs) != fmt.Sprint(tt.ids) {
				t.Errorf("replayed %v, want %v", gotIDs, tt.ids)
			}
			if n := len(tt.log); n > 0 && sent != tt.log[n-1].Seq {
				t.Errorf("sent = %d, want the latest seq %d: live events must follow without a repeat or a gap", sent, tt.log[n-1].Seq)
			}
		})
	}
}

func TestEventIDsDifferAcrossProcesses(t *testing.T) {
	a, _ := newManager(t, testConfig())
	b, _ := newManager(t, testConfig())
	if a.BootID() == b.BootID() || a.BootID() == "" {
		t.Fatalf("boot IDs %q and %q: a restarted node's event ids must not repeat the last one's", a.BootID(), b.BootID())
	}
}

func TestEventStreamsBeyondTheCapGet503WithRetryAfter(t *testing.T) {
	cfg := testConfig()
	cfg.MaxEventStreams = 2
	m, _ := newManager(t, cfg)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	defer m.CloseStreams()
	client := newClient(t)

	open := func() *http.Response {
		t.Helper()
		resp, err := client.Get(srv.URL + "/health/events")
		if err != nil {
			t.Fatalf("GET /health/events: %v", err)
		}
		return resp
	}
	var streams []*http.Response
	for range 2 {
		resp := open()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stream within the cap = %d", resp.StatusCode)
		}
		readBlock(t, bufio.NewReader(resp.Body)) // being served
		streams = append(streams, resp)
	}
	over := open()
	over.Body.Close()
	if over.StatusCode != http.StatusServiceUnavailable || over.Header.Get("Retry-After") == "" {
		t.Fatalf("stream over the cap = %d, Retry-After %q; want 503 with Retry-After", over.StatusCode, over.Header.Get("Retry-After"))
	}
	// The other endpoints are not capped with the streams.
	if resp, err := client.Get(srv.URL + "/health/live"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/health/live while streams are at the cap: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// A slot freed is a slot for the next client.
	streams[0].Body.Close()
	testkit.WaitFor(t, generous, "a stream closed", func() bool { return m.openStreams.Load() < 2 })
	again := open()
	defer again.Body.Close()
	if again.StatusCode != http.StatusOK {
		t.Fatalf("stream after one closed = %d, want 200", again.StatusCode)
	}
	streams[1].Body.Close()
}
