package health

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/internal/sse"
)

// sseKeepalive keeps idle proxies and load balancers from closing a quiet
// stream.
const sseKeepalive = 15 * time.Second

// DefaultMaxEventStreams caps concurrent /health/events streams. Each holds
// a goroutine, a connection and a 64-event buffer for as long as it lasts;
// 64 serves a handful of dashboards and watchers per node with headroom,
// while 10,000 cost hundreds of MB and failed the node's own resources check.
const DefaultMaxEventStreams = 64

// newBootID names this process's event log. Event IDs carry it, so a
// Last-Event-ID from before a restart is recognised as such rather than
// matched against a sequence that started again at 1.
func newBootID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail (Go 1.24+)
	return hex.EncodeToString(b)
}

// BootID is the prefix of this manager's event IDs (<boot-id>-<seq>).
func (m *Manager) BootID() string { return m.bootID }

// CloseStreams ends every /health/events stream now and refuses new ones.
// The node calls it at the start of the HTTP drain, so long-lived streams
// never hold the shutdown until its timeout.
func (m *Manager) CloseStreams() {
	m.closeStreams.Do(func() { close(m.streamsDone) })
}

// maxEventStreams is the configured cap: NewManager refuses one below 1.
func (m *Manager) maxEventStreams() int64 { return int64(m.cfg.MaxEventStreams) }

// AcquireStream takes a slot under the event-stream cap for another
// long-lived stream the node serves (the mesh's), so that every kind of
// stream shares one cap and streams together can never hold every HTTP
// connection. ok is false at the cap; otherwise call release when the
// stream ends.
func (m *Manager) AcquireStream() (release func(), ok bool) {
	if n := m.openStreams.Add(1); n > m.maxEventStreams() {
		m.openStreams.Add(-1)
		return nil, false
	}
	return func() { m.openStreams.Add(-1) }, true
}

// MaxEventStreams is the cap AcquireStream enforces.
func (m *Manager) MaxEventStreams() int { return int(m.maxEventStreams()) }

// serveEvents streams transitions as Server-Sent Events: event "status" or
// "check", data the Transition JSON, id "<boot-id>-<seq>". A client that
// reconnects with Last-Event-ID gets the transitions it missed, as far as
// the log of the last 100 reaches; when it cannot (the node restarted since,
// or the log no longer reaches back) it first gets a "missed" event, so it
// knows to read /health afresh rather than trust its picture.
func (m *Manager) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-m.streamsDone:
		writeError(w, r, http.StatusServiceUnavailable, "event streams closed: shutting down")
		return
	default:
	}
	release, ok := m.AcquireStream()
	if !ok {
		w.Header().Set("Retry-After", sse.RetryAfter)
		writeError(w, r, http.StatusServiceUnavailable, sse.TooMany(m.MaxEventStreams()))
		return
	}
	defer release()
	sub := m.hub.subscribe(streamBuffer, true)
	if sub == nil {
		writeError(w, r, http.StatusServiceUnavailable, "health manager stopped")
		return
	}
	defer m.hub.unsubscribe(sub)

	stream := sse.Open(w, r)
	if stream == nil {
		return
	}
	snap := m.Snapshot()
	buf := sse.AppendHello(nil, "meshhealth events; status "+string(snap.Status))
	var sent uint64
	buf, sent = m.appendResume(buf, r.Header.Get("Last-Event-ID"), snap)
	if !stream.Send(buf) {
		return
	}
	keep := time.NewTicker(sseKeepalive)
	defer keep.Stop()
	for {
		select {
		case t := <-sub.ch:
			if t.Seq <= sent {
				continue
			}
			buf, sent = m.appendEvent(buf[:0], t), t.Seq
		case <-keep.C:
			buf = sse.AppendComment(buf[:0], "keepalive")
		case <-sub.done:
			return
		case <-m.streamsDone:
			return
		case <-r.Context().Done():
			return
		}
		if !stream.Send(buf) {
			return
		}
	}
}

// missedDoc is the data of a "missed" event.
type missedDoc struct {
	Reason      string `json:"reason"`
	LastEventID string `json:"last_event_id"`
	BootID      string `json:"boot_id"`
	Status      Status `json:"status"`
}

// appendResume appends what a client resuming from lastID is owed, and
// returns the last sequence number it has then been given. Without lastID
// nothing is replayed: the opening comment gives the current status.
func (m *Manager) appendResume(buf []byte, lastID string, snap *Snapshot) ([]byte, uint64) {
	log := snap.Transitions
	var latest uint64
	if n := len(log); n > 0 {
		latest = log[n-1].Seq
	}
	if lastID == "" {
		return buf, latest
	}
	boot, seqText, _ := strings.Cut(lastID, "-")
	last, err := strconv.ParseUint(seqText, 10, 64)
	var reason string
	switch {
	case boot != m.bootID || err != nil:
		// Everything of the earlier process after lastID is gone; this
		// process's own log follows, from its first transition if it
		// still holds it.
		reason, last = "the node restarted, or the id is not one of its event ids", 0
	case last > latest:
		return buf, latest // from the future: nothing to replay
	}
	if len(log) > 0 && log[0].Seq > last+1 {
		if reason == "" {
			reason = "the node's log of the last 100 transitions no longer reaches back to this id"
		}
		last = log[0].Seq - 1
	}
	if reason != "" {
		data, _ := json.Marshal(missedDoc{Reason: reason, LastEventID: lastID, BootID: m.bootID, Status: snap.Status})
		// Its id lets a client that reconnects again resume from here.
		buf = sse.AppendEvent(buf, m.eventID(last), "missed", data)
	}
	sent := last
	for _, t := range log {
		if t.Seq > sent {
			buf, sent = m.appendEvent(buf, t), t.Seq
		}
	}
	return buf, sent
}

func (m *Manager) appendEvent(buf []byte, t Transition) []byte {
	data, _ := json.Marshal(t) // plain strings and numbers: cannot fail
	return sse.AppendEvent(buf, m.eventID(t.Seq), t.Kind, data)
}

// eventID is <boot-id>-<seq>: see newBootID.
func (m *Manager) eventID(seq uint64) string { return m.bootID + "-" + strconv.FormatUint(seq, 10) }
