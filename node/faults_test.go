package node

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestFaultEndpointBreaksAndRepairs(t *testing.T) {
	f := NewFaults(slog.New(slog.NewTextHandler(io.Discard, nil)))
	dropping := false
	f.Add("pubsub", "drop-inbound", func(on bool) { dropping = on })
	srv := httptest.NewServer(f)
	defer srv.Close()

	post := func(body string) (int, faultResponse) {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var fr faultResponse
		json.NewDecoder(resp.Body).Decode(&fr)
		return resp.StatusCode, fr
	}

	code, fr := post(`{"component":"pubsub","fault":"drop-inbound"}`)
	if code != 200 || !dropping || len(fr.Active) != 1 || fr.Active[0] != "pubsub/drop-inbound" {
		t.Fatalf("inject: %d %+v dropping=%v", code, fr, dropping)
	}
	code, fr = post(`{"component":"dht","fault":"melt"}`)
	if code != 400 || !strings.Contains(fr.Error, "dht/melt") || len(fr.Available) != 1 {
		t.Fatalf("unknown pair: %d %+v", code, fr)
	}
	code, _ = post(`{"component":"pubsub","fault":"drop-inbound","extra":1}`)
	if code != 400 {
		t.Fatalf("unknown field accepted: %d", code)
	}
	code, fr = post(`{"clear":true}`)
	if code != 200 || dropping || len(fr.Active) != 0 {
		t.Fatalf("clear: %d %+v dropping=%v", code, fr, dropping)
	}
	resp, _ := http.Get(srv.URL)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET lists faults, got %d", resp.StatusCode)
	}
}
