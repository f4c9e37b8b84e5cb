package fielderr

import (
	"errors"
	"strings"
	"testing"
)

func TestSnakeMatchesTheYAMLKeys(t *testing.T) {
	for in, want := range map[string]string{
		"StartupGrace": "startup_grace", "MDNSService": "mdns_service", "ConnHigh": "conn_high",
		"MaxHTTPConnections": "max_http_connections", "Debounce.FailureThreshold": "debounce.failure_threshold",
		"TTL": "ttl", "Listen": "listen",
	} {
		if got := Snake(in); got != want {
			t.Errorf("Snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestListKeepsOneProblemPerLineAndNestsPaths(t *testing.T) {
	var inner List
	inner.Add("Timeout", "must be > 0, got %v", 0)
	var l List
	l.AddKey("Weights", "dht", "-1 is negative")
	l.Nest("PubSub", inner.Err())
	l.Nest("DHT", nil)
	err := l.Err()
	if got := strings.Split(err.Error(), "\n"); len(got) != 2 ||
		got[0] != "weights[dht]: -1 is negative" || got[1] != "pub_sub.timeout: must be > 0, got 0" {
		t.Fatalf("lines %q", got)
	}
	var fe *Error
	if es := Split(err); len(es) != 2 || !errors.As(es[1], &fe) || fe.Field != "PubSub.Timeout" {
		t.Fatalf("nested field lost: %v", es)
	}
	if (List{}).Err() != nil {
		t.Fatal("an empty list is an error")
	}
}
