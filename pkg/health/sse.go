package health

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

const (
	// sseKeepalive keeps idle proxies and load balancers from closing a
	// quiet stream.
	sseKeepalive = 15 * time.Second
	// sseWriteTimeout bounds one write to a stream; it replaces the
	// server's WriteTimeout, which would otherwise end every stream.
	sseWriteTimeout = 10 * time.Second
)

// CloseStreams ends every /health/events stream now and refuses new ones.
// The node calls it at the start of the HTTP drain, so long-lived streams
// never hold the shutdown until its timeout.
func (m *Manager) CloseStreams() {
	m.closeStreams.Do(func() { close(m.streamsDone) })
}

// serveEvents streams transitions as Server-Sent Events: event "status" or
// "check", data the Transition JSON, id its Seq. A client that reconnects
// with Last-Event-ID gets the transitions it missed, as far as the log of
// the last 100 reaches.
func (m *Manager) serveEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case <-m.streamsDone:
		writeError(w, r, http.StatusServiceUnavailable, "event streams closed: shutting down")
		return
	default:
	}
	sub := m.hub.subscribe(streamBuffer, true)
	if sub == nil {
		writeError(w, r, http.StatusServiceUnavailable, "health manager stopped")
		return
	}
	defer m.hub.unsubscribe(sub)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	snap := m.Snapshot()
	buf := fmt.Appendf(nil, "retry: 3000\n: meshhealth events; status %s\n\n", snap.Status)
	var sent uint64
	if last, err := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		sent = last
		for _, t := range snap.Transitions {
			if t.Seq > sent {
				buf, sent = appendEvent(buf, t), t.Seq
			}
		}
	} else if n := len(snap.Transitions); n > 0 {
		sent = snap.Transitions[n-1].Seq // already reflected in the status above
	}
	if !sseWrite(w, rc, buf) {
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
			buf, sent = appendEvent(buf[:0], t), t.Seq
		case <-keep.C:
			buf = append(buf[:0], ": keepalive\n\n"...)
		case <-sub.done:
			return
		case <-m.streamsDone:
			return
		case <-r.Context().Done():
			return
		}
		if !sseWrite(w, rc, buf) {
			return
		}
	}
}

func appendEvent(buf []byte, t Transition) []byte {
	data, _ := json.Marshal(t) // plain strings and numbers: cannot fail
	buf = fmt.Appendf(buf, "id: %d\nevent: %s\ndata: ", t.Seq, t.Kind)
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}

func sseWrite(w http.ResponseWriter, rc *http.ResponseController, b []byte) bool {
	_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout)) // unsupported by some writers (tests); fine
	if _, err := w.Write(b); err != nil {
		return false
	}
	return rc.Flush() == nil
}
