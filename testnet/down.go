package testnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DownOptions say how down stops the nodes.
type DownOptions struct {
	// Grace is how long nodes get between SIGTERM and SIGKILL; the node's
	// own shutdown is bounded by its --shutdown-timeout (30 s by default).
	Grace time.Duration
	// Purge removes the whole directory, logs and reports included.
	Purge bool
	// Report, when set, hears about each node's end.
	Report func(name string, how string)
}

// DefaultDownGrace is a little over the node's default shutdown timeout.
const DefaultDownGrace = 35 * time.Second

// Down stops every node of the testnet in dir and removes its namespaces,
// links and bridge. It works without a state file too (an up that died
// early): nodes are then found by their --data-dir under dir, and network
// names by the prefix derived from dir. The logs and reports stay unless
// Purge is set.
func Down(ctx context.Context, dir string, o DownOptions, opts Options) error {
	opts = opts.withDefaults()
	if o.Grace <= 0 {
		o.Grace = DefaultDownGrace
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("testnet dir: %w", err)
	}
	st, stErr := LoadState(dir)
	if stErr != nil && !errors.Is(stErr, ErrNoTestnet) {
		opts.Log.Warn("unreadable state; sweeping by directory", "err", stErr)
	}
	var errs []error
	procs := map[int]*NodeState{}
	if st != nil {
		for i := range st.Nodes {
			if n := &st.Nodes[i]; processState(n) != ProcExited {
				procs[n.PID] = n
			}
		}
	}
	for _, n := range sweepProcs(dir) {
		if _, ok := procs[n.PID]; !ok {
			procs[n.PID] = n
		}
	}
	// Prometheus, recorded or not (an up interrupted while it started).
	if st != nil && st.Prometheus != nil {
		if p := st.Prometheus.proc(); processState(p) != ProcExited {
			procs[p.PID] = p
		}
	}
	for _, p := range sweepPrometheus(dir) {
		if _, ok := procs[p.PID]; !ok {
			procs[p.PID] = p
		}
	}
	stopProcs(ctx, procs, o)

	names, err := NamesFor(dir)
	if err != nil {
		return err
	}
	prefixes := []Names{names}
	if st != nil && st.Prefix != "" && st.Prefix != names.Prefix {
		prefixes = append(prefixes, Names{Prefix: st.Prefix})
	}
	netnsMode := st != nil && st.Mode == ModeNetns
	if checkNetnsPrereqs() == nil {
		for _, n := range prefixes {
			if err := (netns{ip: opts.IP, names: n}).teardown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
	} else if netnsMode {
		errs = append(errs, fmt.Errorf("cannot remove the namespaces and links: %w", checkNetnsPrereqs()))
	}

	if len(errs) == 0 {
		for _, f := range []string{StateFile, TargetsFile, ".lock"} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
		if o.Purge {
			if err := purge(dir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// stopProcs sends SIGTERM (and SIGCONT, since a stopped process handles no
// signal), waits up to the grace for all, then SIGKILLs the rest.
func stopProcs(ctx context.Context, procs map[int]*NodeState, o DownOptions) {
	report := func(n *NodeState, how string) {
		if o.Report != nil {
			o.Report(n.Name, how)
		}
	}
	for _, n := range procs {
		_ = signalNode(n, syscall.SIGTERM)
		_ = signalNode(n, syscall.SIGCONT)
	}
	deadline := time.Now().Add(o.Grace)
	killed := false
	for len(procs) > 0 {
		for pid, n := range procs {
			if processState(n) == ProcExited {
				how := "stopped"
				if info, err := readExit(n.Log, n.LogOffset); err == nil && info.Found {
					how = fmt.Sprintf("stopped, exit code %d", info.Code)
				}
				if killed {
					how = "killed after the grace period"
				}
				report(n, how)
				delete(procs, pid)
			}
		}
		if len(procs) == 0 {
			return
		}
		if !killed && (time.Now().After(deadline) || ctx.Err() != nil) {
			for _, n := range procs {
				_ = signalNode(n, syscall.SIGKILL)
			}
			killed = true
			deadline = time.Now().Add(signalWait)
		} else if killed && time.Now().After(deadline) {
			for _, n := range procs {
				report(n, fmt.Sprintf("pid %d survived SIGKILL", n.PID))
			}
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sweepProcs finds node processes whose --data-dir lies under dir, whether
// or not the state recorded them.
func sweepProcs(dir string) []*NodeState {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []*NodeState
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		dataDir := dataDirArg(strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00"))
		if dataDir == "" || !strings.HasPrefix(filepath.Clean(dataDir)+"/", dir+"/") || filepath.Clean(dataDir) == dir {
			continue
		}
		_, ticks, err := procStat(pid)
		if err != nil {
			continue
		}
		n := &NodeState{Name: filepath.Base(dataDir), PID: pid, StartTicks: ticks, Log: filepath.Join(dataDir, "node.log")}
		if processState(n) != ProcExited {
			found = append(found, n)
		}
	}
	return found
}

func dataDirArg(args []string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "data-dir" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "data-dir="); ok {
			return v
		}
	}
	return ""
}

// purge removes what the testnet wrote into dir, and dir itself when
// nothing else is left: a mistyped --dir must never cost someone's files.
func purge(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("purge: %w", err)
	}
	var errs []error
	for _, e := range entries {
		if !ownedEntry(e.Name(), e.IsDir()) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("purge: %s keeps files the testnet did not write: %w", dir, err))
	}
	return errors.Join(errs...)
}

func ownedEntry(name string, isDir bool) bool {
	if isDir && name == PrometheusDir {
		return true
	}
	if isDir {
		_, err := strconv.Atoi(strings.TrimPrefix(name, "node"))
		return strings.HasPrefix(name, "node") && err == nil
	}
	switch {
	case name == StateFile, name == TargetsFile, name == TargetsFile+".tmp", name == ".lock":
		return true
	case strings.HasPrefix(name, ".state-"), strings.HasPrefix(name, "report-") && strings.HasSuffix(name, ".json"):
		return true
	}
	return false
}
