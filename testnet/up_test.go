package testnet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fakeNodeOnce sync.Once
	fakeNodeBin  string
	fakeNodeErr  error
)

// buildFakeNode compiles internal/fakenode once per test run: a stand-in
// for bin/meshhealth that speaks its HTTP contract and its exit line.
func buildFakeNode(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts processes")
	}
	fakeNodeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fakenode-")
		if err != nil {
			fakeNodeErr = err
			return
		}
		fakeNodeBin = filepath.Join(dir, "fakenode")
		out, err := exec.Command("go", "build", "-o", fakeNodeBin, "./internal/fakenode").CombinedOutput()
		if err != nil {
			fakeNodeErr = err
			fakeNodeBin = string(out)
		}
	})
	if fakeNodeErr != nil {
		t.Fatalf("build fake node: %v\n%s", fakeNodeErr, fakeNodeBin)
	}
	return fakeNodeBin
}

func TestUpChaosAndDownWithRealProcesses(t *testing.T) {
	bin := buildFakeNode(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tn")
	tn, err := Up(ctx, UpOptions{Dir: dir, N: 3, Mode: ModeLocal, NodeBin: bin, ReadyTimeout: 30 * time.Second}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	down := func() error { return Down(ctx, dir, DownOptions{Grace: 10 * time.Second}, Options{}) }
	defer down()

	st, _ := tn.State()
	if st.ReadySeconds <= 0 || len(st.Nodes) != 3 {
		t.Fatalf("state after up: ready in %vs, %d nodes", st.ReadySeconds, len(st.Nodes))
	}
	ports := map[string]bool{}
	for _, n := range st.Nodes {
		if n.PeerID == "" || ports[n.HTTP] {
			t.Errorf("%s: peer ID %q, HTTP %s (must be known and distinct)", n.Name, n.PeerID, n.HTTP)
		}
		ports[n.HTTP] = true
	}
	if got := st.Nodes[1].Args; !strings.Contains(strings.Join(got, " "), "--bootstrap "+st.Nodes[0].Listen[0]+"/p2p/"+st.Nodes[0].PeerID) {
		t.Errorf("node1 does not bootstrap from node0: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, TargetsFile)); err != nil {
		t.Errorf("no targets file: %v", err)
	}
	if _, err := Up(ctx, UpOptions{Dir: dir, N: 1, Mode: ModeLocal, NodeBin: bin}, Options{}); err == nil {
		t.Error("a second up in the same dir was accepted")
	}

	observe := func() []NodeStatus {
		obs, err := tn.Observe(ctx, Scrape{Metrics: true})
		if err != nil {
			t.Fatal(err)
		}
		return obs
	}
	apply := func(c Chaos) {
		if err := tn.Apply(ctx, c); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
	}
	waitFor := func(what string, ok func([]NodeStatus) bool) []NodeStatus {
		deadline := time.Now().Add(20 * time.Second)
		for {
			obs := observe()
			if ok(obs) {
				return obs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s: %+v", what, obs)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	apply(Chaos{Action: ChaosStop, Node: 2})
	obs := observe()
	if obs[2].Status != StatusUnreachable || obs[2].Process != ProcStopped {
		t.Errorf("stopped node: %s / %s", obs[2].Status, obs[2].Process)
	}
	apply(Chaos{Action: ChaosCont, Node: 2})
	waitFor("node2 answers after SIGCONT", func(o []NodeStatus) bool { return o[2].Ready() })

	oldPID := st.Nodes[0].PID
	apply(Chaos{Action: ChaosKill, Node: 0})
	obs = waitFor("node0 gone after SIGKILL", func(o []NodeStatus) bool { return o[0].Status == StatusExited })
	if obs[0].Exit != nil {
		t.Errorf("a SIGKILLed node has an exit line: %+v", obs[0].Exit)
	}
	apply(Chaos{Action: ChaosRestart, Node: 0})
	waitFor("node0 back after restart", func(o []NodeStatus) bool { return o[0].Ready() })
	st, _ = tn.State()
	if st.Nodes[0].PID == oldPID || st.Nodes[0].Restarts != 1 || st.Nodes[0].HTTP != obs[0].Address {
		t.Errorf("after restart: pid %d (was %d), restarts %d, HTTP %s (was %s)", st.Nodes[0].PID, oldPID, st.Nodes[0].Restarts, st.Nodes[0].HTTP, obs[0].Address)
	}

	apply(Chaos{Action: ChaosFault, Node: 1, Component: "network", Fault: "isolate"})
	obs = waitFor("node1 shuts itself down", func(o []NodeStatus) bool { return o[1].Status == StatusExited })
	if obs[1].Exit == nil || obs[1].Exit.Code != 3 || !strings.Contains(obs[1].Exit.Reason, "p2p-connectivity") {
		t.Errorf("exit read from the log: %+v", obs[1].Exit)
	}

	pids := []int{st.Nodes[0].PID, st.Nodes[2].PID}
	if err := down(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if processState(&NodeState{PID: pid}) != ProcExited {
			t.Errorf("pid %d survived down", pid)
		}
	}
	if _, err := LoadState(dir); err == nil {
		t.Error("state file left after down")
	}
	if info, _ := readExit(filepath.Join(dir, "node2", "node.log"), 0); !info.Found || info.Code != 0 {
		t.Errorf("node2 did not stop gracefully on SIGTERM: %+v", info)
	}
}

func TestDownFindsNodesWithoutAState(t *testing.T) {
	bin := buildFakeNode(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "tn")
	tn, err := Up(ctx, UpOptions{Dir: dir, N: 2, Mode: ModeLocal, NodeBin: bin, ReadyTimeout: 30 * time.Second}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn.Close()
	st, _ := tn.State()
	// An up that died before it saved anything useful.
	os.Remove(filepath.Join(dir, StateFile))
	if err := Down(ctx, dir, DownOptions{Grace: 10 * time.Second}, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		if processState(&n) != ProcExited {
			t.Errorf("%s (pid %d) survived a down without state", n.Name, n.PID)
		}
	}
}

func TestUpReportsANodeThatDiesAtStartAndLeavesNothingRunning(t *testing.T) {
	bin := buildFakeNode(t)
	dir := filepath.Join(t.TempDir(), "tn")
	_, err := Up(context.Background(), UpOptions{Dir: dir, N: 2, Mode: ModeLocal, NodeBin: bin, NodeArgs: []string{"--no-such-flag"}, ReadyTimeout: 30 * time.Second}, Options{})
	if err == nil || !strings.Contains(err.Error(), "node0 exited during start") || !strings.Contains(err.Error(), "exit code 78") {
		t.Errorf("err = %v", err)
	}
	if _, err := LoadState(dir); err == nil {
		t.Error("a failed up left its state behind")
	}
}

func TestUpNeedsTheNodeBinary(t *testing.T) {
	_, err := Up(context.Background(), UpOptions{Dir: t.TempDir(), N: 1, Mode: ModeLocal, NodeBin: "/no/such/meshhealth"}, Options{})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v", err)
	}
}

func TestPurgeKeepsFilesTheTestnetDidNotWrite(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "node0"), 0o755)
	os.WriteFile(filepath.Join(dir, "report-converge.json"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "precious.txt"), nil, 0o644)
	if err := purge(dir); err == nil {
		t.Error("purge removed the dir or claimed to, with a stranger's file in it")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Error("purge removed a file it did not write")
	}
	if _, err := os.Stat(filepath.Join(dir, "node0")); err == nil {
		t.Error("purge left node0")
	}
}
