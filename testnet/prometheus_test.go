package testnet

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// promCluster is a fake cluster with a scripted Prometheus: the n-th read
// gets views[n] (the last one from then on).
type promCluster struct {
	*fakeCluster
	mu    sync.Mutex
	views []*PromView
	reads int
}

func (c *promCluster) Prometheus(context.Context) (*PromView, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.views[min(c.reads, len(c.views)-1)]
	c.reads++
	if v == nil {
		return nil, errors.New("prometheus query up: context deadline exceeded")
	}
	return v, nil
}

// A query Prometheus does not answer in time is a poll without an answer:
// the wait goes on; an assert fails naming the error.
func TestAnUnansweredQueryDoesNotEndAWait(t *testing.T) {
	up := &PromView{Up: map[string]bool{"node0": true, "node1": true}}
	c := &promCluster{fakeCluster: &fakeCluster{nodes: mesh(2, 0, 1)}, views: []*PromView{nil, nil, up}}
	if _, _, err := runScenario(t, c, "name: x\nsteps:\n  - wait: prom-up\n"); err != nil {
		t.Errorf("wait: %v, want it to poll past two unanswered queries", err)
	}
	c = &promCluster{fakeCluster: &fakeCluster{nodes: mesh(2, 0, 1)}, views: []*PromView{nil}}
	_, _, err := runScenario(t, c, "name: x\nsteps:\n  - assert: prom-up\n")
	if err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("assert: %v, want a failure naming the unanswered query", err)
	}
}

func TestAlertFiringWaitsUntilPrometheusFiresForTheSelectedNode(t *testing.T) {
	up := map[string]bool{"node0": true, "node1": true, "node2": true}
	pending := &PromView{Up: up, Alerts: []PromAlert{{Name: "A", Node: "node1", State: "pending"}}}
	firing := &PromView{Up: up, Alerts: []PromAlert{{Name: "A", Node: "node1", State: "firing"}, {Name: "B", Node: "node2", State: "firing"}}}
	c := &promCluster{fakeCluster: &fakeCluster{nodes: mesh(3, 0, 1)}, views: []*PromView{{Up: up}, pending, pending, firing}}
	rep, _, err := runScenario(t, c, `name: x
steps:
  - wait: prom-up
  - wait: alert-firing
    alert: A
    nodes: [node:1]
    measure: fired
  - assert: alert-inactive
    alert: A
    except: [node:1]
`)
	if err != nil {
		t.Fatal(err)
	}
	// Reads: prom-up once, then pending twice and firing at the third poll
	// of 0.5s.
	if rep.Measurements["fired"] != 1 {
		t.Errorf("fired after %vs, want 1 (two polls of a pending alert)", rep.Measurements["fired"])
	}
}

func TestAlertInactiveFailsWhilePendingAndSaysSo(t *testing.T) {
	v := &PromView{Up: map[string]bool{"node0": true, "node1": false}, Alerts: []PromAlert{{Name: "A", Node: "node1", State: "pending"}}}
	c := &promCluster{fakeCluster: &fakeCluster{nodes: mesh(2, 0, 1)}, views: []*PromView{v}}
	_, _, err := runScenario(t, c, "name: x\nsteps:\n  - assert: alert-inactive\n    alert: A\n")
	var f *StepFailure
	if !errors.As(err, &f) || !strings.Contains(f.Seen, "node1 pending") || !strings.Contains(f.Expected, "A neither pending nor firing") {
		t.Fatalf("err = %v, want a failure naming node1's pending alert", err)
	}
	_, _, err = runScenario(t, c, "name: x\nsteps:\n  - assert: prom-up\n")
	if !errors.As(err, &f) || !strings.Contains(f.Seen, "node1 down") {
		t.Fatalf("err = %v, want a failure naming node1 down", err)
	}
}

func TestPromConditionsNeedPrometheus(t *testing.T) {
	_, _, err := runScenario(t, &fakeCluster{nodes: mesh(2, 0, 1)}, "name: x\nsteps:\n  - assert: prom-up\n")
	if err == nil || !strings.Contains(err.Error(), "Prometheus") {
		t.Errorf("err = %v, want one saying the testnet has no Prometheus", err)
	}
	// A testnet up without --prometheus fails the wait at once, not at its timeout.
	c := &noPromCluster{fakeCluster: &fakeCluster{nodes: mesh(2, 0, 1)}}
	rep, _, err := runScenario(t, c, "name: x\nsteps:\n  - wait: prom-up\n")
	if !errors.Is(err, ErrNoPrometheus) || rep.Steps[0].Seconds != 0 {
		t.Errorf("err = %v after %vs, want ErrNoPrometheus at once", err, rep.Steps[0].Seconds)
	}
}

type noPromCluster struct{ *fakeCluster }

func (noPromCluster) Prometheus(context.Context) (*PromView, error) { return nil, ErrNoPrometheus }

func TestAlertConditionsAndTheAlertFieldGoTogether(t *testing.T) {
	for yaml, want := range map[string]string{
		"name: x\nsteps:\n  - wait: alert-firing\n":                                         "need alert:",
		"name: x\nsteps:\n  - wait: ready\n    alert: A\n":                                  "alert: belongs",
		"name: x\nsteps:\n  - wait: ready\n    while: {cond: alert-firing}\n    alert: A\n": "alert-* excepted",
	} {
		if _, err := ParseScenario([]byte(yaml), "bad.yaml"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", yaml, err, want)
		}
	}
}

// queryPrometheus reads the real API's shapes: up per node label, and the
// active alerts with their state.
func TestQueryPrometheusReadsUpAndAlerts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/query":
			if q := r.URL.Query().Get("query"); q != `up{job="meshhealth"}` {
				http.Error(w, "query "+q, http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[
				{"metric":{"__name__":"up","job":"meshhealth","node":"node0","instance":"127.0.0.1:1"},"value":[1700000000.1,"1"]},
				{"metric":{"__name__":"up","job":"meshhealth","node":"node1","instance":"127.0.0.1:2"},"value":[1700000000.1,"0"]}]}}`)
		case "/api/v1/alerts":
			fmt.Fprint(w, `{"status":"success","data":{"alerts":[
				{"labels":{"alertname":"MeshhealthCriticalCheckFailing","check":"p2p-connectivity","node":"node1","severity":"critical"},"annotations":{},"state":"firing","activeAt":"2026-01-01T00:00:00Z","value":"1e+00"},
				{"labels":{"alertname":"MeshhealthNoLeader","job":"meshhealth"},"state":"pending","activeAt":"2026-01-01T00:00:00Z","value":"0"}]}}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	v, err := queryPrometheus(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Up["node0"] || v.Up["node1"] || len(v.Up) != 2 {
		t.Errorf("up = %v", v.Up)
	}
	if s := v.alertState("MeshhealthCriticalCheckFailing", "node1"); s != "firing" {
		t.Errorf("node1's alert is %s", s)
	}
	if s := v.alertState("MeshhealthCriticalCheckFailing", "node0"); s != "inactive" {
		t.Errorf("node0's alert is %s", s)
	}
	if s := v.alertState("MeshhealthNoLeader", ""); s != "pending" {
		t.Errorf("the mesh alert is %s", s)
	}
}

func TestDownPurgeOwnsThePrometheusDirectory(t *testing.T) {
	if !ownedEntry(PrometheusDir, true) || ownedEntry(PrometheusDir, false) {
		t.Error("purge must remove DIR/prometheus (the testnet wrote it) and only as a directory")
	}
}
