package check

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

// bins holds the binaries TestMain builds once from the repository root
// (the node's own module and go.sum, as the Dockerfile builds them).
var bins struct{ node, healthcheck string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deploy-check-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.node, bins.healthcheck = filepath.Join(dir, "meshhealth"), filepath.Join(dir, "healthcheck")
	for out, pkg := range map[string]string{bins.node: "./cmd/node", bins.healthcheck: "./deploy/healthcheck"} {
		// CGO_ENABLED=0 as in deploy/Dockerfile: the image is FROM scratch.
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, pkg)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", pkg, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// liveNode is a node process started by a test.
type liveNode struct {
	cmd    *exec.Cmd
	http   string
	listen string
	log    string
	done   chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startNode runs the static binary in dir with exactly env and args, on
// loopback ports of its own, and stops it (SIGTERM) when the test ends.
func startNode(t *testing.T, dir string, env, args []string) *liveNode {
	t.Helper()
	n := &liveNode{
		http:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		listen: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", freePort(t)),
		log:    filepath.Join(t.TempDir(), "node.log"),
		done:   make(chan error, 1),
	}
	logf, err := os.Create(n.log)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bins.node, append(args, "--http", n.http, "--listen", n.listen)...)
	n.cmd.Dir, n.cmd.Env, n.cmd.Stdout, n.cmd.Stderr = dir, env, logf, logf
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return n
}

// stop sends SIGTERM and waits; a node that does not exit 0 is an error.
func (n *liveNode) stop() error {
	if n.cmd.ProcessState != nil {
		return nil
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		if err != nil {
			b, _ := os.ReadFile(n.log)
			return fmt.Errorf("node exited with %v; log:\n%s", err, tail(b))
		}
		return nil
	case <-time.After(40 * time.Second):
		_ = n.cmd.Process.Kill()
		return fmt.Errorf("node did not stop within 40s of SIGTERM")
	}
}

func tail(b []byte) []byte {
	if len(b) > 3000 {
		return b[len(b)-3000:]
	}
	return b
}

func (n *liveNode) get(path string) (int, []byte, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + n.http + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// waitReady polls /health/ready until 200: every check has run.
func (n *liveNode) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, body, err := n.get("/health/ready")
		if code == http.StatusOK {
			return
		}
		select {
		case werr := <-n.done:
			b, _ := os.ReadFile(n.log)
			t.Fatalf("node exited (%v) before it was ready; log:\n%s", werr, tail(b))
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(n.log)
			t.Fatalf("not ready within 60s: %d %s %v; log:\n%s", code, body, err, tail(b))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// provokeRejection makes the node reject one GossipSub message, from a
// throwaway libp2p host on loopback, so that meshhealth_pubsub_rejected_total
// (a vector with no series until the first rejection) is exported.
func provokeRejection(t *testing.T, n *liveNode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, body, err := n.get("/health")
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		NodeID string `json:"node_id"`
	}
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatalf("/health: %v", err)
	}
	id, err := peer.Decode(h.NodeID)
	if err != nil {
		t.Fatalf("/health node_id %q: %v", h.NodeID, err)
	}
	host, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	ps, err := pubsub.NewGossipSub(ctx, host)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(wire.TopicSummary)
	if err != nil {
		t.Fatal(err)
	}
	defer topic.Close()
	if err := host.Connect(ctx, peer.AddrInfo{ID: id, Addrs: []ma.Multiaddr{ma.StringCast(n.listen)}}); err != nil {
		t.Fatalf("connect to the node: %v", err)
	}
	for !slices.Contains(topic.ListPeers(), id) {
		if ctx.Err() != nil {
			t.Fatal("the node never appeared on", wire.TopicSummary)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := topic.Publish(ctx, []byte("not a meshhealth message")); err != nil {
		t.Fatal(err)
	}
	for {
		_, m, err := n.get("/metrics")
		if err == nil && bytes.Contains(m, []byte(`meshhealth_pubsub_rejected_total{`)) {
			return
		}
		if ctx.Err() != nil {
			t.Fatal("the node did not count the rejection in meshhealth_pubsub_rejected_total")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// notExported are names queries use that no node exports, by design:
// Prometheus makes `up` itself for every target.
var notExported = []string{"up"}

// One live node, alone (--min-peers 0), answers for everything deploy/
// assumes of a node: every metric the rules and the dashboard query, the
// paths the kubelet and Prometheus request, and a /metrics that promtool
// accepts.
func TestLiveNode(t *testing.T) {
	t.Parallel()
	n := startNode(t, t.TempDir(), nil, []string{"--data-dir", t.TempDir(), "--mdns=false", "--min-peers", "0"})
	n.waitReady(t)
	provokeRejection(t, n)
	_, metrics, err := n.get("/metrics")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("every metric named in the rules and the dashboard is exported", func(t *testing.T) {
		exposed, err := ExposedNames(bytes.NewReader(metrics))
		if err != nil {
			t.Fatal(err)
		}
		pending, err := ReadList("pending-metrics.txt")
		if err != nil {
			t.Fatal(err)
		}
		rules, err := RuleExprs("../prometheus/rules.yml")
		if err != nil {
			t.Fatal(err)
		}
		dash, err := DashboardExprs("../grafana/meshhealth.json")
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) < 10 || len(dash) < 30 {
			t.Fatalf("found %d rule and %d dashboard expressions; the files lost their queries?", len(rules), len(dash))
		}
		for _, e := range slices.Concat(rules, dash) {
			names, err := MetricNames(e.Query)
			if err != nil {
				t.Errorf("%s: %q: %v", e.Where, e.Query, err)
				continue
			}
			for _, name := range names {
				switch {
				case exposed[name]:
					if slices.Contains(pending, name) {
						t.Logf("%s is exported now: delete it from pending-metrics.txt", name)
					}
				case slices.Contains(notExported, name):
				case slices.Contains(pending, name):
					t.Logf("%s: %s not exported yet (pending-metrics.txt)", e.Where, name)
				default:
					t.Errorf("%s: %s is not in the node's /metrics", e.Where, name)
				}
			}
		}
	})

	t.Run("the kubelet's and Prometheus's paths are served", func(t *testing.T) {
		o := rendered(t, "../k8s/base")
		probes, err := o.Verify()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probes {
			if code, body, err := n.get(p.Path); err != nil || code != http.StatusOK {
				t.Errorf("%s: GET %s: %d %s %v, want 200 from a ready node", p.What, p.Path, code, body, err)
			}
		}
	})

	t.Run("promtool check metrics finds nothing on meshhealth_ series", func(t *testing.T) {
		accepted, err := ReadList("promlint-exceptions.txt")
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(promtool(t), "check", "metrics")
		cmd.Stdin = bytes.NewReader(OwnFamilies(metrics, "meshhealth_"))
		out, _ := cmd.CombinedOutput() // exit 1 with findings; the findings decide
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" && !slices.Contains(accepted, strings.TrimSpace(l)) {
				t.Errorf("promtool check metrics: %s", l)
			}
		}
	})
}

// OwnFamilies keeps the metric families whose name has prefix: promtool's
// findings on go-libp2p's own series are not ours to fix.
func OwnFamilies(exposition []byte, prefix string) []byte {
	var out bytes.Buffer
	for _, l := range strings.SplitAfter(string(exposition), "\n") {
		name := l
		if f := strings.Fields(l); len(f) > 2 && (f[1] == "HELP" || f[1] == "TYPE") {
			name = f[2]
		}
		if strings.HasPrefix(name, prefix) {
			out.WriteString(l)
		}
	}
	return out.Bytes()
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool not found: apt-get install prometheus (.ci/run does)")
	}
	return p
}
