package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// tcpTarget is a port that accepts connections until broken, and again
// once fixed.
type tcpTarget struct {
	addr string
	ln   net.Listener
}

func newTCPTarget(t *testing.T) *tcpTarget {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tt := &tcpTarget{addr: ln.Addr().String()}
	tt.serve(ln)
	t.Cleanup(func() { tt.ln.Close() })
	return tt
}

func (tt *tcpTarget) serve(ln net.Listener) {
	tt.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (tt *tcpTarget) fix(t *testing.T) {
	t.Helper()
	var ln net.Listener
	testkit.Eventually(t, 10*time.Second, "listen again on "+tt.addr, func() (bool, string) {
		var err error
		ln, err = net.Listen("tcp", tt.addr)
		return err == nil, fmt.Sprint(err)
	})
	tt.serve(ln)
}

type checkDoc struct {
	State       string `json:"state"`
	Message     string `json:"message"`
	LastSuccess string `json:"last_success"`
	LastFailure string `json:"last_failure"`
	History     []struct {
		Result  string `json:"result"`
		Message string `json:"message"`
	} `json:"history"`
}

func checkState(p *proc, name string) (checkDoc, error) {
	code, b, err := get("http://" + p.http + "/health/checks/" + name + "?history=20")
	var d checkDoc
	if err == nil && code != 200 {
		err = fmt.Errorf("HTTP %d: %s", code, b)
	}
	if err == nil {
		err = json.Unmarshal(b, &d)
	}
	return d, err
}

// waitStates waits until each named check is in the state given.
func waitStates(t *testing.T, p *proc, what string, want map[string]string) {
	t.Helper()
	start := time.Now()
	// Logged, not asserted: how long detection takes is a measurement.
	defer func() { t.Logf("%s after %v", what, time.Since(start).Round(10*time.Millisecond)) }()
	testkit.Eventually(t, 30*time.Second, what, func() (bool, string) {
		var got []string
		ok := true
		for name, state := range want {
			d, err := checkState(p, name)
			if err != nil || d.State != state {
				ok = false
			}
			got = append(got, fmt.Sprintf("%s=%s (%s, %v)", name, d.State, d.Message, err))
		}
		return ok, strings.Join(got, "; ")
	})
}

// The operator's http, tcp and exec checks on a real node: each target is
// broken in turn, its check (and only it) fails, then recovers.
func TestOperatorChecksFailAndRecoverWithTheirTargets(t *testing.T) {
	var webDown atomic.Bool
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if webDown.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer web.Close()
	db := newTCPTarget(t)
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken")
	script := filepath.Join(dir, "check-disk")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nif [ -e "+broken+" ]; then echo \"DISK CRITICAL - $1\"; exit 2; fi\necho 'DISK OK'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
checks:
  - name: web
    kind: http
    url: %s/healthz
    body_contains: ok
    interval: 1s
    timeout: 500ms
  - name: db-port
    kind: tcp
    address: %s
    interval: 1s
    timeout: 500ms
  - name: disk-script
    kind: exec
    command: [%q, "/var"]
    interval: 1s
    timeout: 500ms
`, web.URL, db.addr, script)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startNode(t, "--config", cfg, "--min-peers", "0")
	all := func(web, db, disk string) map[string]string {
		return map[string]string{"web": web, "db-port": db, "disk-script": disk}
	}
	waitStates(t, p, "every check passing", all("passing", "passing", "passing"))

	webDown.Store(true)
	waitStates(t, p, "web failing alone", all("failing", "passing", "passing"))
	webDown.Store(false)
	waitStates(t, p, "web recovered", all("passing", "passing", "passing"))
	d, err := checkState(p, "web")
	if err != nil || d.LastFailure == "" || d.LastSuccess <= d.LastFailure || !historyHas(d, "failure", "503") {
		t.Errorf("web after recovery: %+v %v, want a last failure (503) before its last success", d, err)
	}

	db.ln.Close()
	waitStates(t, p, "db-port failing alone", all("passing", "failing", "passing"))
	db.fix(t)
	waitStates(t, p, "db-port recovered", all("passing", "passing", "passing"))

	if err := os.WriteFile(broken, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitStates(t, p, "disk-script failing alone", all("passing", "passing", "failing"))
	if d, _ := checkState(p, "disk-script"); !strings.Contains(d.Message, "exit 2: DISK CRITICAL - /var") {
		t.Errorf("disk-script message %q, want the exit code and the script's output", d.Message)
	}
	os.Remove(broken)
	waitStates(t, p, "disk-script recovered", all("passing", "passing", "passing"))

	var doc struct {
		Checks map[string]struct {
			LastSuccess string `json:"last_success"`
		} `json:"checks"`
		Availability struct {
			Components map[string]any `json:"components"`
		} `json:"availability"`
	}
	_, b, err := get("http://" + p.http + "/health")
	if err == nil {
		err = json.Unmarshal(b, &doc)
	}
	for _, name := range []string{"web", "db-port", "disk-script"} {
		if doc.Checks[name].LastSuccess == "" || doc.Availability.Components[name] == nil {
			t.Errorf("/health: %s has no last success or no availability (%v):\n%s", name, err, b)
		}
	}

	_, b, err = get("http://" + p.http + "/metrics")
	if err != nil || !strings.Contains(string(b), `meshhealth_check_failing{check="disk-script"} 0`) {
		t.Errorf("/metrics lacks the operator's checks (%v)", err)
	}
}

func historyHas(d checkDoc, result, inMessage string) bool {
	for _, h := range d.History {
		if h.Result == result && strings.Contains(h.Message, inMessage) {
			return true
		}
	}
	return false
}

func TestBadCheckDefinitionExits78(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(cfg, []byte("checks:\n  - name: web\n    kind: http\n  - name: web\n    kind: smtp\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "--config", cfg, "--data-dir", t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 78 {
		t.Fatalf("exit %v, want code 78; stderr:\n%s", err, stderr.String())
	}
	want := []string{
		"meshhealth: config: checks: web: url must be set",
		"meshhealth: config: checks: web: name is used by an earlier check",
		`meshhealth: config: checks: web: unknown kind "smtp"`,
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr:\n%s\nwant %d lines", stderr.String(), len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %q, want %q...", lines[i], w)
		}
	}
}

// A peer check pings the node's bootstrap peer over libp2p, and fails once
// that peer is gone; a dht-get check of a key nobody published fails with
// the DHT's answer.
func TestPeerCheckFollowsTheBootstrapPeer(t *testing.T) {
	a := startNode(t)
	addr := dialAddr(t, a)
	id := addr[strings.LastIndex(addr, "/")+1:] // its peer ID
	cfg := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
checks:
  - name: boot
    kind: peer
    peer: %s
    interval: 1s
    timeout: 500ms
  - name: nobodys-record
    kind: dht-get
    key: /meshhealth/%s/nothing
    interval: 2s
    timeout: 1s
`, addr, id)), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startNode(t, "--config", cfg, "--bootstrap", addr, "--shutdown-on-critical=false")
	waitStates(t, b, "boot reachable, the record missing", map[string]string{"boot": "passing", "nobodys-record": "failing"})
	if d, _ := checkState(b, "boot"); !strings.Contains(d.Message, "ping "+id) {
		t.Errorf("boot message %q, want the ping's", d.Message)
	}
	a.cmd.Process.Kill()
	<-a.done
	waitStates(t, b, "boot unreachable", map[string]string{"boot": "failing"})
}
