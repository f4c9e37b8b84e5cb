package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// PrometheusDir is where up --prometheus keeps Prometheus's configuration,
// rules, TSDB and log inside the testnet directory.
const PrometheusDir = "prometheus"

// DefaultPrometheusRules is the alert rules file up --prometheus loads,
// relative to the repository root where bin/testnet usually runs.
const DefaultPrometheusRules = "deploy/prometheus/rules.yml"

// PrometheusState is the Prometheus server up --prometheus started.
type PrometheusState struct {
	PID        int      `json:"pid"`
	StartTicks uint64   `json:"start_ticks,omitempty"`
	Addr       string   `json:"addr"` // host:port of its web UI and HTTP API
	Args       []string `json:"args"`
	Config     string   `json:"config"`
	Rules      string   `json:"rules"`
	Log        string   `json:"log"`
}

// URL is the server's base URL.
func (p *PrometheusState) URL() string { return "http://" + p.Addr }

// proc lets the node process helpers (state, signals, down's stop) handle
// Prometheus too.
func (p *PrometheusState) proc() *NodeState {
	return &NodeState{Name: "prometheus", PID: p.PID, StartTicks: p.StartTicks, Log: p.Log, Args: p.Args}
}

// Scrape and evaluation every second: a scenario sees an alert's for:
// elapse in real time, not a minute late. The rules are the shipped ones,
// unchanged.
const prometheusConfig = `# Written by bin/testnet up --prometheus.
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: meshhealth
    file_sd_configs:
      - files: [%q]
        refresh_interval: 5s
`

// startPrometheus runs Debian's prometheus (or whichever is on PATH) on the
// testnet's file_sd targets with the rules file, on a free loopback port,
// detached like the nodes, and waits until it is ready. In netns mode it
// runs in the host's namespace and reaches the nodes through the bridge.
func startPrometheus(ctx context.Context, st *State, rules string) (*PrometheusState, error) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		return nil, errors.New("--prometheus needs Prometheus (apt-get install -y prometheus)")
	}
	if rules == "" {
		rules = DefaultPrometheusRules
	}
	src, err := os.ReadFile(rules)
	if err != nil {
		return nil, fmt.Errorf("prometheus rules: %w (run from the repository root, or pass --prometheus-rules)", err)
	}
	dir := filepath.Join(st.Dir, PrometheusDir)
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	// A copy, so the server keeps evaluating what it started with while the
	// repository's file is being edited.
	p := &PrometheusState{
		Config: filepath.Join(dir, "prometheus.yml"),
		Rules:  filepath.Join(dir, "rules.yml"),
		Log:    filepath.Join(dir, "prometheus.log"),
	}
	if err := os.WriteFile(p.Rules, src, 0o644); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	conf := fmt.Sprintf(prometheusConfig, p.Rules, filepath.Join(st.Dir, TargetsFile))
	if err := os.WriteFile(p.Config, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	port, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p.Args = []string{
		"--config.file=" + p.Config,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + p.Addr,
		"--storage.tsdb.retention.time=1d",
	}
	n := p.proc()
	if err := startProcess(n, bin); err != nil {
		return nil, err
	}
	p.PID, p.StartTicks = n.PID, n.StartTicks
	return p, waitPrometheusReady(ctx, p)
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPrometheusReady polls /-/ready; a server that exits (a bad config, a
// port taken meanwhile) is an error carrying the end of its log.
func waitPrometheusReady(ctx context.Context, p *PrometheusState) error {
	c := http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := c.Get(p.URL() + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if processState(p.proc()) == ProcExited || time.Now().After(deadline) {
			tail, _ := readTail(p.Log, 0, 2048)
			return fmt.Errorf("prometheus at %s did not become ready; end of %s:\n%s", p.Addr, p.Log, strings.TrimSpace(string(tail)))
		}
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// sweepPrometheus finds Prometheus servers whose TSDB lies under dir, so
// down stops one that an interrupted up never recorded.
func sweepPrometheus(dir string) []*NodeState {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	want := "--storage.tsdb.path=" + filepath.Join(dir, PrometheusDir, "data")
	var found []*NodeState
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(want+"\x00")) {
			continue
		}
		if _, ticks, err := procStat(pid); err == nil {
			n := &NodeState{Name: "prometheus", PID: pid, StartTicks: ticks}
			if processState(n) != ProcExited {
				found = append(found, n)
			}
		}
	}
	return found
}

// ErrNoPrometheus means the testnet was started without --prometheus.
var ErrNoPrometheus = errors.New("this testnet runs no Prometheus (up --prometheus, or prometheus: true in the scenario's testnet section)")

// PromAlert is one alert as Prometheus's /api/v1/alerts lists it.
type PromAlert struct {
	Name  string
	Node  string
	State string // pending or firing
}

// PromView is what Prometheus says about the testnet at one moment: which
// node targets are up, and the active alerts.
type PromView struct {
	Up     map[string]bool // by the target's node label
	Alerts []PromAlert
}

// Prometheus reads the view of the testnet's Prometheus; an error if up
// ran without --prometheus.
func (t *Testnet) Prometheus(ctx context.Context) (*PromView, error) {
	st, err := t.State()
	if err != nil {
		return nil, err
	}
	if st.Prometheus == nil {
		return nil, ErrNoPrometheus
	}
	return queryPrometheus(ctx, st.Prometheus.URL())
}

func queryPrometheus(ctx context.Context, base string) (*PromView, error) {
	v := &PromView{Up: map[string]bool{}}
	var up struct {
		Data struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := promGet(ctx, base+"/api/v1/query?query="+url.QueryEscape(`up{job="meshhealth"}`), &up); err != nil {
		return nil, fmt.Errorf("prometheus query up: %w", err)
	}
	for _, r := range up.Data.Result {
		s, _ := r.Value[1].(string)
		v.Up[r.Metric["node"]] = s == "1"
	}
	var alerts struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string `json:"labels"`
				State  string            `json:"state"`
			} `json:"alerts"`
		} `json:"data"`
	}
	if err := promGet(ctx, base+"/api/v1/alerts", &alerts); err != nil {
		return nil, fmt.Errorf("prometheus alerts: %w", err)
	}
	for _, a := range alerts.Data.Alerts {
		v.Alerts = append(v.Alerts, PromAlert{Name: a.Labels["alertname"], Node: a.Labels["node"], State: a.State})
	}
	return v, nil
}

// alertState is name's state on node: firing, pending or inactive.
func (v *PromView) alertState(name, node string) string {
	state := "inactive"
	for _, a := range v.Alerts {
		if a.Name == name && a.Node == node {
			if a.State == "firing" {
				return "firing"
			}
			state = a.State
		}
	}
	return state
}

// promGet decodes a Prometheus API answer. Its bound is wider than the
// nodes' 1 s: a 2-core machine running a whole testnet answers slowly.
func promGet(ctx context.Context, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
