package testnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// ProcState is what the kernel says about a node's process.
type ProcState string

const (
	ProcRunning ProcState = "running"
	// ProcStopped is a process held by SIGSTOP: alive, but it answers nothing.
	ProcStopped ProcState = "stopped"
	// ProcExited covers a process that is gone, a zombie nobody reaped yet,
	// and a pid now used by another process.
	ProcExited ProcState = "exited"
)

// procStat reads a process's state letter and start time (clock ticks since
// boot) from /proc/<pid>/stat.
func procStat(pid int) (state byte, startTicks uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name (field 2) may hold spaces and parentheses; the fields
	// after the last ')' are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); field 22 (starttime) is f[19].
	if len(f) < 20 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f)+2)
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat starttime: %w", pid, err)
	}
	return f[0][0], ticks, nil
}

// processState tells whether the node's recorded process still runs.
func processState(n *NodeState) ProcState {
	if n.PID <= 0 {
		return ProcExited
	}
	st, ticks, err := procStat(n.PID)
	if err != nil || (n.StartTicks != 0 && ticks != n.StartTicks) {
		return ProcExited
	}
	switch st {
	case 'Z', 'X', 'x':
		return ProcExited
	case 'T', 't':
		return ProcStopped
	}
	return ProcRunning
}

// errNotRunning means a signal was not sent because the process is gone.
var errNotRunning = errors.New("process not running")

// signalNode sends sig to the node's process only if it is still the
// process the testnet started.
func signalNode(n *NodeState, sig syscall.Signal) error {
	if processState(n) == ProcExited {
		return fmt.Errorf("%s (pid %d): %w", n.Name, n.PID, errNotRunning)
	}
	if err := syscall.Kill(n.PID, sig); err != nil {
		return fmt.Errorf("signal %s (pid %d) with %v: %w", n.Name, n.PID, sig, err)
	}
	return nil
}

// startProcess starts a node detached from the caller: its own session (a
// Ctrl-C in the terminal that ran up does not reach it), stdout and stderr
// appended to its log. In netns mode ip netns exec execs the node, so the
// pid is the node's own. It records the pid, its start time and the log
// offset where this run begins in n.
func startProcess(n *NodeState, bin string) error {
	logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	defer logf.Close()
	off, err := logf.Seek(0, 2)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	var cmd *exec.Cmd
	if n.Namespace != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", n.Namespace, bin}, n.Args...)...)
	} else {
		cmd = exec.Command(bin, n.Args...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	// Reap it if it dies while this command still runs; after we exit, init
	// adopts it.
	go cmd.Wait()
	n.PID = cmd.Process.Pid
	n.LogOffset = off
	if _, ticks, err := procStat(n.PID); err == nil {
		n.StartTicks = ticks
	}
	return nil
}

// ExitInfo is what a node said about its own end: the last log line of a
// node is `msg="node stopped" exit_code=N reason="..."`.
type ExitInfo struct {
	Found  bool   `json:"found"`
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
}

// logTailBytes bounds how much of a log is read to find the exit line,
// which is the last line a node writes.
const logTailBytes = 256 << 10

// readExit finds the exit line of the run that began at offset.
func readExit(path string, offset int64) (ExitInfo, error) {
	b, err := readTail(path, offset, logTailBytes)
	if err != nil {
		return ExitInfo{}, err
	}
	lines := strings.Split(string(b), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if info, ok := parseExitLine(lines[i]); ok {
			return info, nil
		}
	}
	return ExitInfo{}, nil
}

func readTail(path string, offset, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	from := max(offset, st.Size()-limit)
	if from > st.Size() {
		return nil, nil
	}
	b := make([]byte, st.Size()-from)
	n, err := f.ReadAt(b, from)
	if err != nil && n < len(b) {
		return nil, fmt.Errorf("read log: %w", err)
	}
	return b[:n], nil
}

// parseExitLine understands the node's slog text and JSON formats.
func parseExitLine(line string) (ExitInfo, bool) {
	line = strings.TrimSpace(line)
	if !strings.Contains(line, "node stopped") {
		return ExitInfo{}, false
	}
	var kv map[string]string
	if strings.HasPrefix(line, "{") {
		kv = parseJSONLine(line)
	} else {
		kv = parseLogfmt(line)
	}
	if kv["msg"] != "node stopped" {
		return ExitInfo{}, false
	}
	code, err := strconv.Atoi(kv["exit_code"])
	if err != nil {
		return ExitInfo{}, false
	}
	return ExitInfo{Found: true, Code: code, Reason: kv["reason"]}, true
}

// parseLogfmt splits slog's text format: key=value pairs, values quoted
// with Go syntax when they hold spaces or quotes.
func parseLogfmt(line string) map[string]string {
	kv := map[string]string{}
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq <= 0 {
			break
		}
		key := line[:eq]
		line = line[eq+1:]
		var val string
		if strings.HasPrefix(line, `"`) {
			end := closingQuote(line)
			v, err := strconv.Unquote(line[:end])
			if err != nil {
				v = line[1 : end-1]
			}
			val, line = v, line[end:]
		} else {
			sp := strings.IndexByte(line, ' ')
			if sp < 0 {
				sp = len(line)
			}
			val, line = line[:sp], line[sp:]
		}
		kv[key] = val
	}
	return kv
}

// closingQuote returns the index just past the quoted string at s[0].
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(s)
}

func parseJSONLine(line string) map[string]string {
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return nil
	}
	kv := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			kv[k] = v
		case float64:
			kv[k] = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			kv[k] = fmt.Sprint(v)
		}
	}
	return kv
}
