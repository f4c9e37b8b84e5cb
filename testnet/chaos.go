package testnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Chaos actions.
const (
	ChaosKill    = "kill"    // SIGKILL
	ChaosStop    = "stop"    // SIGSTOP: the process freezes, its sockets stay open
	ChaosCont    = "cont"    // SIGCONT
	ChaosRestart = "restart" // kill, then start again with the same data dir and ports
	// ChaosRollRestart is one step of a rolling restart: SIGTERM (the node
	// resigns and says goodbye), wait for its graceful exit, then start it
	// again with the same data dir and ports.
	ChaosRollRestart = "graceful-restart"
	ChaosPartition   = "partition" // netns: link down; local: the node's network isolate fault
	ChaosHeal        = "heal"      // reverses partition
	ChaosFault       = "fault"     // POST /debug/fault {component, fault}
	ChaosClear       = "clear"     // POST /debug/fault {clear: true}
	// ChaosRotateList rotates the mesh's allow-list: the file is replaced
	// with one that adds a new identity to the members', as an operator
	// installs the next key before retiring the old. Its node is ignored:
	// every member reads the same file.
	ChaosRotateList = "rotate-allow-list"
)

// ChaosActions lists every action, for help texts and validation.
var ChaosActions = []string{ChaosKill, ChaosStop, ChaosCont, ChaosRestart, ChaosRollRestart, ChaosPartition, ChaosHeal, ChaosFault, ChaosClear, ChaosRotateList}

// Chaos is one thing done to one node.
type Chaos struct {
	Action    string `json:"action"`
	Node      int    `json:"node"`
	Component string `json:"component,omitempty"`
	Fault     string `json:"fault,omitempty"`
}

func (c Chaos) String() string {
	if c.Action == ChaosFault {
		return fmt.Sprintf("fault %s/%s on node%d", c.Component, c.Fault, c.Node)
	}
	return fmt.Sprintf("%s node%d", c.Action, c.Node)
}

// Apply does c and records its effect (a new pid, a partition) in the
// state.
func (t *Testnet) Apply(ctx context.Context, c Chaos) error {
	_, err := UpdateState(t.dir, func(st *State) error {
		n, err := st.Node(c.Node)
		if err != nil {
			return err
		}
		return t.apply(ctx, st, n, c)
	})
	if err != nil {
		return fmt.Errorf("chaos %s: %w", c, err)
	}
	t.log.Info("chaos", "action", c.Action, "node", c.Node, "component", c.Component, "fault", c.Fault)
	return nil
}

func (t *Testnet) apply(ctx context.Context, st *State, n *NodeState, c Chaos) error {
	switch c.Action {
	case ChaosKill:
		return signalAndWait(ctx, n, syscall.SIGKILL, ProcExited)
	case ChaosStop:
		return signalAndWait(ctx, n, syscall.SIGSTOP, ProcStopped)
	case ChaosCont:
		return signalAndWait(ctx, n, syscall.SIGCONT, ProcRunning)
	case ChaosRestart:
		return t.restart(ctx, st, n)
	case ChaosRollRestart:
		if err := signalAndWaitFor(ctx, n, syscall.SIGTERM, ProcExited, gracefulWait); err != nil && !errors.Is(err, errNotRunning) {
			return err
		}
		return t.restart(ctx, st, n)
	case ChaosPartition, ChaosHeal:
		heal := c.Action == ChaosHeal
		if st.Mode == ModeNetns {
			ns, err := t.netns(st)
			if err != nil {
				return err
			}
			if err := ns.setLink(ctx, n.Index, heal); err != nil {
				return err
			}
		} else {
			body := map[string]any{"component": "network", "fault": "isolate"}
			if heal {
				body = map[string]any{"clear": true}
			}
			if err := t.postFault(ctx, n, body); err != nil {
				return err
			}
		}
		n.Partitioned = !heal
		return nil
	case ChaosFault:
		if c.Component == "" || c.Fault == "" {
			return errors.New("fault needs a component and a fault, such as pubsub drop-inbound")
		}
		return t.postFault(ctx, n, map[string]any{"component": c.Component, "fault": c.Fault})
	case ChaosClear:
		return t.postFault(ctx, n, map[string]any{"clear": true})
	case ChaosRotateList:
		if st.AllowList == "" {
			return errors.New("the testnet has no allow-list (up --allow-list or --outsiders)")
		}
		st.AllowListVersion++
		return writeAllowList(ctx, st)
	}
	return fmt.Errorf("unknown action %q; known: %s", c.Action, strings.Join(ChaosActions, ", "))
}

// signalWait bounds how long a chaos action waits to see its signal take
// effect.
const signalWait = 5 * time.Second

// signalAndWait returns once the kernel shows the signal's effect: signals
// are delivered asynchronously, and a scenario's next step (or its timing)
// must start from a process that is really gone or really frozen.
func signalAndWait(ctx context.Context, n *NodeState, sig syscall.Signal, want ProcState) error {
	return signalAndWaitFor(ctx, n, sig, want, signalWait)
}

// gracefulWait bounds a graceful shutdown: the node's own bound
// (--shutdown-timeout, 30 s) and a margin.
const gracefulWait = 40 * time.Second

func signalAndWaitFor(ctx context.Context, n *NodeState, sig syscall.Signal, want ProcState, wait time.Duration) error {
	if err := signalNode(n, sig); err != nil {
		return err
	}
	deadline := time.Now().Add(wait)
	for {
		st := processState(n)
		if st == want || (st == ProcExited && want != ProcExited) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (pid %d): still %s %v after sending %v", n.Name, n.PID, st, wait, sig)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func (t *Testnet) restart(ctx context.Context, st *State, n *NodeState) error {
	// A stopped process dies of SIGKILL too.
	if err := signalAndWait(ctx, n, syscall.SIGKILL, ProcExited); err != nil && !errors.Is(err, errNotRunning) {
		return err
	}
	if err := startProcess(n, st.NodeBin); err != nil {
		return err
	}
	n.StartedAt = time.Now().UTC()
	n.Restarts++
	return nil
}

// FaultTokenFile is the file in a node's data dir that holds the bearer
// token its /debug/fault requires (the node's documented contract).
const FaultTokenFile = "fault-token"

// postFault drives the node's POST /debug/fault (present because the
// testnet always starts nodes with --enable-fault-injection).
func (t *Testnet) postFault(ctx context.Context, n *NodeState, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*httpTimeout)
	defer cancel()
	url := "http://" + n.HTTP + "/debug/fault"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	// The node writes its fault token to its data dir at every start
	// (0600); read it at every request, so a restarted node's new token
	// is the one sent.
	token, err := os.ReadFile(filepath.Join(n.DataDir, FaultTokenFile))
	if err != nil {
		return fmt.Errorf("POST %s: fault token: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := t.obs.client(n.Namespace).Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("POST %s: 404: the node runs without --enable-fault-injection", url)
	}
	return fmt.Errorf("POST %s %s: %s: %s", url, b, resp.Status, strings.TrimSpace(string(reply)))
}
