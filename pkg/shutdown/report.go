package shutdown

import (
	"fmt"
	"time"
)

// Kinds of step in a StepReport.
const (
	KindHook      = "hook"
	KindComponent = "component"
)

// StepReport says what happened to one hook or component during a shutdown.
type StepReport struct {
	Phase Phase
	Kind  string // KindHook or KindComponent
	Name  string
	// Timeout is the bound it ran under: its own timeout, or what was left
	// of the total when that was less (then CutShort is set).
	Timeout  time.Duration
	CutShort bool
	// Duration is how long the manager waited for it.
	Duration time.Duration
	// Err is what it returned, or why it was abandoned or skipped.
	Err error
	// TimedOut: its bound passed before it returned; the manager moved on.
	TimedOut bool
	// Skipped: it never ran, because the total timeout had passed or it was
	// registered after its phase had begun.
	Skipped bool
}

// OK reports whether the step ran to completion without error.
func (r StepReport) OK() bool { return !r.Skipped && !r.TimedOut && r.Err == nil }

// result is the step's outcome as a metric label.
func (r StepReport) result() string {
	switch {
	case r.Skipped:
		return "skipped"
	case r.TimedOut:
		return "timeout"
	case r.Err != nil:
		return "error"
	default:
		return "ok"
	}
}

// String is the line an operator reads in the log.
func (r StepReport) String() string {
	who := r.Kind + " " + r.Name
	switch {
	case r.Skipped:
		return fmt.Sprintf("%s skipped: %v", who, r.Err)
	case r.TimedOut && r.CutShort:
		return fmt.Sprintf("%s overran the %s left of the shutdown timeout, skipped", who, r.Timeout)
	case r.TimedOut:
		return fmt.Sprintf("%s overran its %s timeout, skipped", who, r.Timeout)
	case r.Err != nil:
		return fmt.Sprintf("%s failed after %s: %v", who, r.Duration, r.Err)
	default:
		return fmt.Sprintf("%s done in %s", who, r.Duration)
	}
}
