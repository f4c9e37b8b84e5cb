package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestExitCodeFollowsTheLivenessAnswer(t *testing.T) {
	live := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health/live" {
			http.NotFound(w, r)
			return
		}
		if !live {
			http.Error(w, `{"live":false}`, http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	url := srv.URL + "/health/live"
	if code := run([]string{url}, io.Discard); code != 0 {
		t.Errorf("live node: exit %d, want 0", code)
	}
	live = false
	var stderr strings.Builder
	if code := run([]string{url}, &stderr); code != 1 || !strings.Contains(stderr.String(), "503") {
		t.Errorf("stalled node: exit %d (%q), want 1 naming the 503", code, stderr.String())
	}
	srv.Close()
	if code := run([]string{url}, io.Discard); code != 1 {
		t.Errorf("no node: exit %d, want 1", code)
	}
	if code := run([]string{"a", "b"}, io.Discard); code != 2 {
		t.Errorf("two arguments: exit %d, want 2", code)
	}
}
