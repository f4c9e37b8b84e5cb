package main

import (
	"net/http/httptest"
	"testing"
)

func TestStaticAnswersTheCapturedBytesStatusAndHeaders(t *testing.T) {
	h := handler(Response{Status: 503, Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body: []byte(`{"status":"unhealthy"}`)})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/health", nil))
	if w.Code != 503 || w.Body.String() != `{"status":"unhealthy"}` ||
		w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("answer %d %v %q", w.Code, w.Header(), w.Body.String())
	}
}
