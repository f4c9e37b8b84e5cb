package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/testnet"
)

// fakeMesh writes a testnet state whose nodes are HTTP servers in this
// process answering /health as nodes would: all healthy, leaders as given.
func fakeMesh(t *testing.T, leaders ...string) string {
	t.Helper()
	dir := t.TempDir()
	st := &testnet.State{Dir: dir, Mode: testnet.ModeLocal, Prefix: "mhcli000", NodeBin: "/nonexistent", CreatedAt: time.Now()}
	for i, leader := range leaders {
		id := fmt.Sprintf("peer%d", i)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"status": "healthy", "score": 1, "node_id": id, "leader": leader, "term": 2})
		}))
		t.Cleanup(srv.Close)
		st.Nodes = append(st.Nodes, testnet.NodeState{
			Index: i, Name: fmt.Sprintf("node%d", i), PID: os.Getpid(), StartedAt: time.Now(),
			HTTP: strings.TrimPrefix(srv.URL, "http://"), Log: filepath.Join(dir, "none.log"),
		})
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCLI(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestScenarioFailedAssertionExitsNonZeroSayingExpectedAndSeen(t *testing.T) {
	dir := fakeMesh(t, "peer0", "peer0", "peer2")
	file := filepath.Join(t.TempDir(), "one-leader.yaml")
	os.WriteFile(file, []byte("name: one-leader\nsteps:\n  - assert: one-leader\n"), 0o644)

	code, stdout, stderr := runCLI("scenario", file, "--dir", dir)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitFail, stdout, stderr)
	}
	for _, want := range []string{"scenario one-leader failed", "expected exactly one leader", "seen node0→node0 (term 2), node1→node0 (term 2), node2→node2 (term 2)"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "report-one-leader.json"))
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	var rep testnet.Report
	json.Unmarshal(b, &rep)
	if rep.Passed || !strings.Contains(rep.Failure, "expected") || len(rep.Steps) != 1 {
		t.Errorf("report: passed %v, failure %q, %d steps", rep.Passed, rep.Failure, len(rep.Steps))
	}
}

func TestScenarioConvergePassesOnAnAgreeingMesh(t *testing.T) {
	dir := fakeMesh(t, "peer1", "peer1", "peer1")
	report := filepath.Join(t.TempDir(), "r.json")
	code, stdout, stderr := runCLI("scenario", "converge", "--dir", dir, "--report", report)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "PASS converge") || !strings.Contains(stdout, "leader node1, term 2") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if _, err := os.Stat(report); err != nil {
		t.Errorf("--report not written: %v", err)
	}
}

func TestScenarioBadFileIsAClearError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte("name: bad\nsteps:\n  - wait: converged\n    timeuot: 5s\n"), 0o644)
	code, _, stderr := runCLI("scenario", file, "--dir", t.TempDir())
	if code != exitFail || !strings.Contains(stderr, "line 4") || !strings.Contains(stderr, "timeuot") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestStatusJSONAndTable(t *testing.T) {
	dir := fakeMesh(t, "peer0", "peer0")
	code, stdout, _ := runCLI("status", "--dir", dir, "--json")
	var nodes []testnet.NodeStatus
	if code != exitOK || json.Unmarshal([]byte(stdout), &nodes) != nil || len(nodes) != 2 || nodes[1].Leader != "peer0" {
		t.Errorf("status --json: exit %d, %d nodes\n%s", code, len(nodes), stdout)
	}
	code, stdout, _ = runCLI("status", "--dir", dir)
	if code != exitOK || !strings.Contains(stdout, "NODE") || !strings.Contains(stdout, "leader node0 agreed by 2") {
		t.Errorf("status: exit %d\n%s", code, stdout)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"bogus"}, exitUsage, "unknown command"},
		{[]string{"chaos", "kill"}, exitUsage, "an action and a node"},
		{[]string{"chaos", "explode", "1"}, exitUsage, "unknown action"},
		{[]string{"chaos", "fault", "1", "pubsub"}, exitUsage, "NODE COMPONENT FAULT"},
		{[]string{"up", "--mode", "vm"}, exitUsage, "want local or netns"},
		{[]string{"status", "--dir", "/nonexistent/testnet"}, exitFail, "run up first"},
	}
	for _, tt := range tests {
		code, _, stderr := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tt.args, code, stderr, tt.code, tt.want)
		}
	}
}

func TestChaosFaultAndClearReachTheNode(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/debug/fault" {
			if r.Header.Get("Authorization") != "Bearer node0-token-0123456789" {
				http.Error(w, "wrong token", http.StatusUnauthorized)
				return
			}
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			got = append(got, fmt.Sprint(body))
			fmt.Fprint(w, `{"active":[]}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, testnet.FaultTokenFile), []byte("node0-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := &testnet.State{Dir: dir, Mode: testnet.ModeLocal, Prefix: "mhcli001", Nodes: []testnet.NodeState{{Name: "node0", HTTP: strings.TrimPrefix(srv.URL, "http://"), PID: os.Getpid(), DataDir: dataDir}}}
	st.Save()
	if code, _, stderr := runCLI("chaos", "fault", "0", "pubsub", "drop-inbound", "--dir", dir); code != exitOK {
		t.Fatalf("fault: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI("chaos", "fault", "node0", "clear", "--dir", dir); code != exitOK {
		t.Fatalf("clear: exit %d: %s", code, stderr)
	}
	want := []string{"map[component:pubsub fault:drop-inbound]", "map[clear:true]"}
	if strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("posted %q, want %q", got, want)
	}
}
