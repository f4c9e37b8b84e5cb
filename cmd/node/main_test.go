package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// These tests run the real binary: two libp2p nodes on loopback, mDNS off.
// They wait for conditions with generous deadlines and never assert how
// long something took; the benchmarks measure that.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "meshhealth-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "meshhealth")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building node: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd     *exec.Cmd
	dataDir string
	http    string
	p2p     int
	log     *syncBuffer
	done    chan struct{}
	err     error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startNode(t *testing.T, extra ...string) *proc {
	t.Helper()
	p := &proc{p2p: freePort(t), log: &syncBuffer{}, done: make(chan struct{}), dataDir: t.TempDir()}
	p.http = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args := append([]string{
		"--data-dir", p.dataDir, "--mdns=false", "--http", p.http,
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p.p2p),
		"--listen", fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", p.p2p),
		"--startup-grace", "3s", "--shutdown-timeout", "10s",
	}, extra...)
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stderr = p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("node %s log:\n%s", p.http, p.log.String())
		}
	})
	return p
}

func (p *proc) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("node %s still running after %v", p.http, within)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	return 0
}

func get(url string) (int, []byte, error) {
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type healthDoc struct {
	Status string `json:"status"`
	NodeID string `json:"node_id"`
	Checks map[string]struct {
		Healthy bool           `json:"healthy"`
		State   string         `json:"state"`
		Details map[string]any `json:"details"`
	} `json:"checks"`
}

func health(p *proc) (int, healthDoc, error) {
	code, b, err := get("http://" + p.http + "/health")
	var h healthDoc
	if err == nil {
		err = json.Unmarshal(b, &h)
	}
	return code, h, err
}

func waitHealthy(t *testing.T, p *proc) healthDoc {
	var h healthDoc
	testkit.Eventually(t, 30*time.Second, p.http+" healthy", func() (bool, string) {
		code, doc, err := health(p)
		h = doc
		return err == nil && code == 200 && doc.Status == "healthy", fmt.Sprintf("%d %s %v", code, doc.Status, err)
	})
	return h
}

func pair(t *testing.T) (*proc, *proc) {
	a := startNode(t)
	b := startNode(t, "--bootstrap", dialAddr(t, a))
	return a, b
}

func TestTwoNodesOnLoopbackAreHealthy(t *testing.T) {
	a, b := pair(t)
	waitHealthy(t, a)
	h := waitHealthy(t, b)
	c := h.Checks["p2p-connectivity"]
	if !c.Healthy || c.Details["connected_peers"] != float64(1) {
		t.Fatalf("p2p-connectivity should show one peer: %+v", c)
	}

	code, body, err := get("http://" + b.http + "/health/checks")
	if err != nil || code != 200 || !strings.Contains(string(body), `"connected_peers":1`) {
		t.Fatalf("/health/checks: %d %v %s", code, err, body)
	}
	if code, _, _ := get("http://" + b.http + "/health/checks/no-such-check"); code != 404 {
		t.Fatalf("unknown check answered %d, want 404", code)
	}

	_, metrics, err := get("http://" + b.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"meshhealth_system_health_score", "meshhealth_connected_peers 1", "libp2p_"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	testkit.LintExposition(t, bytes.NewReader(metrics), "meshhealth_")
}

func TestSurvivorOfKilledPeerStopsWithExitCode3(t *testing.T) {
	a, b := pair(t)
	waitHealthy(t, a)
	waitHealthy(t, b)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// While it stops, liveness must already say so; the process may also be
	// gone by the time we look, which is fine.
	sawUnhealthyOrStopping := false
	for {
		select {
		case <-b.done:
		default:
			if _, h, err := health(b); err == nil && (h.Status == "unhealthy" || h.Status == "stopping") {
				sawUnhealthyOrStopping = true
				if h.Status == "stopping" {
					if code, _, err := get("http://" + b.http + "/health/live"); err == nil && code != 503 {
						t.Errorf("/health/live answered %d while stopping", code)
					}
				}
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	if code := b.exitCode(t, 5*time.Second); code != 3 {
		t.Fatalf("survivor exit code %d, want 3", code)
	}
	log := b.log.String()
	// The stop takes milliseconds, usually too quick to catch over HTTP;
	// the log shows the status went to stopping (ready and live answer 503
	// from then on) before the exit.
	if !sawUnhealthyOrStopping && !strings.Contains(log, "to=stopping") {
		t.Error("the survivor never reported stopping before it exited")
	}
	if !strings.Contains(log, `msg="node stopped" exit_code=3 reason="critical check `) {
		t.Fatalf("exit reason not logged:\n%s", log)
	}
}

func TestSIGTERMExitsZero(t *testing.T) {
	a := startNode(t, "--min-peers", "0")
	testkit.Eventually(t, 20*time.Second, "node answers", func() (bool, string) {
		code, _, err := get("http://" + a.http + "/health/ready")
		return err == nil && code == 200, fmt.Sprint(code, err)
	})
	a.cmd.Process.Signal(syscall.SIGTERM)
	if code := a.exitCode(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(a.log.String(), `reason="signal: SIGTERM"`) {
		t.Fatalf("reason not logged:\n%s", a.log.String())
	}
}

func TestInvalidConfigExits78WithOneLinePerProblem(t *testing.T) {
	cmd := exec.Command(binary, "--min-peers", "-1", "--http", "nowhere", "--log-level", "loud")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 78 {
		t.Fatalf("exit %v, want code 78", err)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("want 3 lines, got:\n%s", stderr.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "meshhealth: config: ") {
			t.Errorf("line %q", l)
		}
	}
}

type summaryDoc struct {
	Status          string             `json:"status"`
	ComponentScores map[string]float64 `json:"component_scores"`
}

func TestFourNodesDropInboundFailsOnlyTheFaultyNodesPubSub(t *testing.T) {
	// Detection only: a confirmed critical failure must not stop the victim.
	a := startNode(t, "--enable-fault-injection", "--shutdown-on-critical=false")
	boot := dialAddr(t, a)
	nodes := []*proc{a}
	for range 3 {
		nodes = append(nodes, startNode(t, "--enable-fault-injection", "--shutdown-on-critical=false", "--bootstrap", boot))
	}
	for _, p := range nodes {
		waitHealthy(t, p)
		testkit.Eventually(t, 30*time.Second, p.http+" every component >= 0.9", func() (bool, string) {
			_, b, err := get("http://" + p.http + "/health/summary")
			var s summaryDoc
			if err == nil {
				err = json.Unmarshal(b, &s)
			}
			if err != nil || len(s.ComponentScores) < 5 {
				return false, fmt.Sprint(err, s)
			}
			for _, v := range s.ComponentScores {
				if v < 0.9 {
					return false, fmt.Sprint(s.ComponentScores)
				}
			}
			return true, ""
		})
	}

	victim := nodes[2]
	if code, body := postFault(t, victim, `{"component":"pubsub","fault":"drop-inbound"}`); code != 200 {
		t.Fatalf("fault: %d %s", code, body)
	}
	start := time.Now()
	testkit.Eventually(t, 30*time.Second, "victim's pubsub-roundtrip failing and status not healthy", func() (bool, string) {
		_, h, err := health(victim)
		c := h.Checks["pubsub-roundtrip"]
		return err == nil && c.State == "failing" && h.Status != "healthy", fmt.Sprintf("%s %s %v", h.Status, c.State, err)
	})
	t.Logf("drop-inbound detected in %v (target 15 s)", time.Since(start).Round(100*time.Millisecond))
	for _, p := range nodes {
		if p == victim {
			continue
		}
		if _, h, err := health(p); err != nil || h.Status != "healthy" {
			t.Errorf("node %s is %s (%v) while only %s was faulty", p.http, h.Status, err, victim.http)
		}
	}
}

// dialAddr waits until node a answers /health and returns its libp2p
// address with its peer ID, for another node's --bootstrap or a check.
func dialAddr(t *testing.T, a *proc) string {
	t.Helper()
	var id string
	testkit.Eventually(t, 20*time.Second, "first node answers", func() (bool, string) {
		_, h, err := health(a)
		id = h.NodeID
		return err == nil && id != "", fmt.Sprint(err)
	})
	return fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", a.p2p, id)
}
