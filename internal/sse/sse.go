// Package sse writes the node's Server-Sent Events streams
// (/health/events, /health/mesh/events): the response headers, the event
// framing and the bounded, flushed writes. What a stream sends and when
// stays with the package that serves it; the bytes on the wire and the way
// a slow or departed client ends a stream are decided once, here.
//
// It is a shared leaf under internal/ and imports nothing of ours
// (docs/ARCHITECTURE.md, "The parts").
package sse

import (
	"fmt"
	"net/http"
	"time"
)

const (
	// WriteTimeout bounds one write to a stream; it replaces the server's
	// WriteTimeout, which would otherwise end every stream.
	WriteTimeout = 10 * time.Second
	// RetryAfter is what a stream refused for a cap tells its client to
	// wait, in seconds: long enough that a crowd of refused clients does
	// not retry in a tight loop.
	RetryAfter = "5"
	// retryMillis is the reconnection delay a stream asks of its client's
	// EventSource in its first block.
	retryMillis = 3000
)

// TooMany is the refusal message of a stream over a cap of max.
func TooMany(max int) string {
	return fmt.Sprintf("too many event streams (at most %d): retry later", max)
}

// Stream is one open event stream.
type Stream struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// Open answers r with 200 and an event stream: Content-Type
// text/event-stream, and X-Accel-Buffering: no so that nginx does not hold
// the events back. Any other header must be set on w before. For HEAD it
// returns nil: the headers are the whole answer.
func Open(w http.ResponseWriter, r *http.Request) *Stream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	return &Stream{w: w, rc: http.NewResponseController(w)}
}

// Send writes b and flushes it within WriteTimeout. false means the client
// is gone or too slow: end the stream.
func (s *Stream) Send(b []byte) bool {
	_ = s.rc.SetWriteDeadline(time.Now().Add(WriteTimeout)) // unsupported by some writers (tests); fine
	if _, err := s.w.Write(b); err != nil {
		return false
	}
	return s.rc.Flush() == nil
}

// AppendHello appends a stream's first block: the reconnection delay for
// the client, then comment (none when "").
func AppendHello(buf []byte, comment string) []byte {
	buf = fmt.Appendf(buf, "retry: %d\n", retryMillis)
	if comment != "" {
		buf = fmt.Appendf(buf, ": %s\n", comment)
	}
	return append(buf, '\n')
}

// AppendComment appends a comment block, which clients ignore: a keepalive
// for idle proxies.
func AppendComment(buf []byte, comment string) []byte {
	return fmt.Appendf(buf, ": %s\n\n", comment)
}

// AppendEvent appends one event: its id (none when ""), its type and its
// data, which must be a single line (compact JSON is).
func AppendEvent(buf []byte, id, event string, data []byte) []byte {
	if id != "" {
		buf = fmt.Appendf(buf, "id: %s\n", id)
	}
	buf = fmt.Appendf(buf, "event: %s\ndata: ", event)
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}
