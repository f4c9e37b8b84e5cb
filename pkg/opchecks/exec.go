package opchecks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// maxOutput is how much of a command's output (stdout and stderr as
// written) becomes the check's message, as a Nagios plugin's first lines.
const maxOutput = 4 << 10

// waitDelay bounds how long a run waits for the output pipes after the
// command exited or was killed: a descendant that left the process group
// (setsid) and kept them open must not hold the check.
const waitDelay = 100 * time.Millisecond

// envKept are the only variables a command inherits from the node: the
// node's own (MESHHEALTH_FAULT_TOKEN among them) are not the command's.
var envKept = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// execChecker runs the command without a shell: exit 0 passes, 1 passes
// degraded (a Nagios warning), any other code, a signal or a timeout
// fails. Past the run's timeout the command's whole process group is
// killed.
func execChecker(name string, command []string) (health.Checker, error) {
	path, err := exec.LookPath(command[0])
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", command[0], err)
	}
	args := append([]string(nil), command[1:]...)
	env := []string{"MESHHEALTH_CHECK=" + name}
	for _, k := range envKept {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return func(ctx context.Context) health.Result {
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Env = env
		out := &headWriter{max: maxOutput}
		cmd.Stdout, cmd.Stderr = out, out
		cmd.WaitDelay = waitDelay
		ownGroup(cmd)
		start := time.Now()
		err := cmd.Run()
		lat := time.Since(start)
		msg := strings.TrimSpace(string(out.buf))
		code := 0
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			return health.Result{Message: joinMsg(fmt.Sprintf("timed out after %s; killed with its process group",
				lat.Round(time.Millisecond)), msg), Err: ctx.Err(), Latency: lat}
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil && !errors.Is(err, exec.ErrWaitDelay):
			return health.Result{Message: joinMsg(err.Error(), msg), Err: err, Latency: lat}
		}
		details := map[string]any{"exit_code": code}
		switch code {
		case 0:
			if msg == "" {
				msg = "exit 0"
			}
			return health.Result{Healthy: true, Message: msg, Details: details, Latency: lat}
		case 1:
			return health.Result{Healthy: true, Degraded: true, Message: joinMsg("warning (exit 1)", msg), Details: details, Latency: lat}
		case -1:
			return health.Result{Message: joinMsg(ee.String(), msg), Details: details, Latency: lat}
		default:
			return health.Result{Message: joinMsg(fmt.Sprintf("exit %d", code), msg), Details: details, Latency: lat}
		}
	}, nil
}

func joinMsg(head, out string) string {
	if out == "" {
		return head
	}
	return head + ": " + out
}

// headWriter keeps the first max bytes written to it and discards the
// rest, so that a chatty command neither blocks on a full pipe nor grows
// the node's memory.
type headWriter struct {
	buf []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - len(w.buf); room > 0 {
		w.buf = append(w.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
