package sse

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The framing is what both event streams put on the wire; clients parse it
// line by line, so every byte counts.
func TestFraming(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{string(AppendHello(nil, "")), "retry: 3000\n\n"},
		{string(AppendHello(nil, "meshhealth events; status healthy")), "retry: 3000\n: meshhealth events; status healthy\n\n"},
		{string(AppendComment(nil, "keepalive")), ": keepalive\n\n"},
		{string(AppendEvent(nil, "ab12-7", "status", []byte(`{"seq":7}`))), "id: ab12-7\nevent: status\ndata: {\"seq\":7}\n\n"},
		{string(AppendEvent(nil, "", "mesh", []byte(`{}`))), "event: mesh\ndata: {}\n\n"},
		{TooMany(64), "too many event streams (at most 64): retry later"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestOpen(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Cache-Control", "no-store")
	s := Open(w, httptest.NewRequest(http.MethodGet, "/events", nil))
	if s == nil || !s.Send([]byte(": hi\n\n")) {
		t.Fatal("GET: no stream, or the send failed")
	}
	h := w.Header()
	if w.Code != 200 || h.Get("Content-Type") != "text/event-stream" || h.Get("X-Accel-Buffering") != "no" ||
		h.Get("Cache-Control") != "no-store" || w.Body.String() != ": hi\n\n" || !w.Flushed {
		t.Errorf("GET: %d %v %q flushed=%v", w.Code, h, w.Body, w.Flushed)
	}
	w = httptest.NewRecorder()
	if s := Open(w, httptest.NewRequest(http.MethodHead, "/events", nil)); s != nil || w.Code != 200 ||
		w.Header().Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: stream %v, %d %v", s, w.Code, w.Header())
	}
}
