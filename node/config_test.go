package node

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultConfigIsValid(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPrecedenceFileThenEnvThenFlags(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.yaml")
	os.WriteFile(file, []byte("min_peers: 4\nhttp: 127.0.0.1:9000\nstartup_grace: 7s\nprobes:\n  dht:\n    interval: 45s\n"), 0o600)
	cfg, act, err := Parse(
		[]string{"--config", file, "--http", "127.0.0.1:9002"},
		env(map[string]string{"MESHHEALTH_HTTP": "127.0.0.1:9001", "MESHHEALTH_MIN_PEERS": "5"}),
		io.Discard)
	if err != nil || act != ActionRun {
		t.Fatal(act, err)
	}
	if cfg.HTTP != "127.0.0.1:9002" {
		t.Errorf("flag should beat env and file: http = %s", cfg.HTTP)
	}
	if cfg.MinPeers != 5 {
		t.Errorf("env should beat file: min_peers = %d", cfg.MinPeers)
	}
	if cfg.Health.StartupGrace != 7*time.Second || cfg.Probes.DHT.Interval != 45*time.Second {
		t.Errorf("file values lost: grace %v dht interval %v", cfg.Health.StartupGrace, cfg.Probes.DHT.Interval)
	}
	if cfg.Probes.DHT.Timeout != 10*time.Second {
		t.Errorf("a file setting one field must keep the others' defaults: dht timeout %v", cfg.Probes.DHT.Timeout)
	}
}

func TestListFlagsReplaceDefaultsAndRepeat(t *testing.T) {
	cfg, _, err := Parse([]string{"--listen", "/ip4/127.0.0.1/tcp/1", "--listen", "/ip4/127.0.0.1/udp/1/quic-v1,/ip4/127.0.0.1/tcp/2"},
		env(map[string]string{"MESHHEALTH_LISTEN": "/ip4/127.0.0.1/tcp/9"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/ip4/127.0.0.1/tcp/1", "/ip4/127.0.0.1/udp/1/quic-v1", "/ip4/127.0.0.1/tcp/2"}
	if !reflect.DeepEqual(cfg.P2P.Listen, want) {
		t.Fatalf("listen = %v, want %v", cfg.P2P.Listen, want)
	}
}

func TestWeightFlags(t *testing.T) {
	cfg, _, err := Parse([]string{"--weight-dht", "0.5"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Health.Weights["dht"] != 0.5 || cfg.Health.Weights["pubsub"] != 0.30 {
		t.Fatalf("weights %v", cfg.Health.Weights)
	}
}

func TestValidateReportsOneLinePerProblem(t *testing.T) {
	c := Default()
	c.P2P.Listen = []string{"/ip4/nope/tcp/1"}
	c.P2P.Bootstrap = []string{"/ip4/127.0.0.1/tcp/4001"}
	c.HTTP = "127.0.0.1:70000"
	c.Debounce.FailureThreshold = 0
	c.Probes.PubSub.Timeout = 20 * time.Second
	c.Health.DegradedThreshold = 0.99
	c.Election.HeartbeatTimeout = 2 * time.Second
	c.LogLevel = "loud"
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	for _, want := range []string{"listen", "bootstrap", "http", "failure-threshold", "probe-pubsub-timeout", "degraded-threshold", "election-heartbeat-timeout", "log-level"} {
		n := 0
		for _, l := range lines {
			if strings.HasPrefix(l, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("want exactly one line starting %q, got %d in:\n%s", want, n, err)
		}
	}
	if len(lines) != 8 {
		t.Errorf("want 8 lines, got %d:\n%s", len(lines), err)
	}
}

func TestFaultInjectionOnlyOnLoopbackOrTestnet(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:8081": true, "[::1]:8081": true, "localhost:8081": true,
		"198.18.0.3:8081": true, "0.0.0.0:8081": false, "10.0.0.5:8081": false, ":8081": false,
	} {
		c := Default()
		c.HTTP, c.EnableFaultInjection = addr, true
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("http %s with fault injection: err = %v, want allowed=%v", addr, err, ok)
		}
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.yaml")
	os.WriteFile(file, []byte("min_peer: 3\n"), 0o600)
	if _, _, err := Parse([]string{"--config=" + file}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "min_peer") {
		t.Fatalf("typo in config file not reported: %v", err)
	}
}

func TestBadEnvValueNamesTheVariable(t *testing.T) {
	_, _, err := Parse(nil, env(map[string]string{"MESHHEALTH_MIN_PEERS": "many"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "MESHHEALTH_MIN_PEERS") {
		t.Fatalf("got %v", err)
	}
}

func TestPrintConfigRoundTrips(t *testing.T) {
	c := Default()
	c.MinPeers = 7
	file := filepath.Join(t.TempDir(), "printed.yaml")
	os.WriteFile(file, []byte(c.YAML()), 0o600)
	got, act, err := Parse([]string{"--config", file, "--print-config"}, env(nil), io.Discard)
	if err != nil || act != ActionPrintConfig {
		t.Fatal(act, err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("printed config does not load back the same:\n%s", got.YAML())
	}
}
