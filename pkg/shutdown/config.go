package shutdown

import (
	"os"
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
)

// Phase is one stage of a shutdown. Phases run in the order of phases.
type Phase string

const (
	// PhasePreShutdown runs while the node is still fully up: mark health
	// "stopping", resign leadership, say goodbye to peers.
	PhasePreShutdown Phase = "pre-shutdown"
	// PhaseShutdown runs its hooks, then the components' stops: the function
	// given to StopWith (the node's fx app.Stop, which stops the components
	// in the reverse of their start order, each through a Step).
	PhaseShutdown Phase = "shutdown"
	// PhasePostShutdown runs once every component has stopped (or been
	// abandoned).
	PhasePostShutdown Phase = "post-shutdown"
	// PhaseCleanup is last: flush logs, remove temporary files.
	PhaseCleanup Phase = "cleanup"
)

// phases is the order in which a shutdown runs its phases.
var phases = []Phase{PhasePreShutdown, PhaseShutdown, PhasePostShutdown, PhaseCleanup}

// Exit codes of the node, one per kind of reason to stop.
const (
	ExitOK       = 0   // asked to stop (SIGINT/SIGTERM/SIGHUP)
	ExitFatal    = 1   // fatal start-up error
	ExitCritical = 3   // a critical health check failed
	ExitForced   = 130 // a second signal cut the graceful shutdown short
)

// Defaults. Each is a number and the reason for it.
const (
	// DefaultTimeout bounds the whole shutdown. Kubernetes waits 30s
	// (terminationGracePeriodSeconds) before SIGKILL; finishing within it
	// means the exit code and the last log line are ours, not the kernel's.
	DefaultTimeout = 30 * time.Second
	// DefaultStepTimeout bounds one component stop or hook that sets no
	// timeout of its own: long enough to drain HTTP or close a libp2p host on a
	// loaded machine, short enough that one stuck part leaves time for the
	// rest.
	DefaultStepTimeout = 5 * time.Second
	// DefaultGuardMax health-triggered shutdowns within DefaultGuardWindow
	// make the next critical failure keep the node up: three restarts that
	// did not fix the problem mean restarting is not the fix.
	DefaultGuardMax = 3
	// DefaultGuardWindow is long enough to span three restarts with their
	// startup grace (30s each) and backoff of a typical supervisor, short
	// enough that a fault fixed by an operator does not keep the guard shut
	// for long.
	DefaultGuardWindow = 15 * time.Minute
)

// Config configures a Manager. Zero fields take their defaults. The yaml,
// flag and usage tags make Timeout a setting of the node's configuration
// (node.Config); fields tagged "-" are set by the node or by tests.
type Config struct {
	// Timeout bounds the whole shutdown, every phase included; 0 means
	// DefaultTimeout. When it passes, the steps not yet run are skipped and
	// reported, and Done closes.
	Timeout time.Duration `yaml:"shutdown_timeout" flag:"shutdown-timeout" usage:"bound on the whole graceful shutdown"`
	// HookTimeout bounds each hook; 0 means DefaultStepTimeout.
	HookTimeout time.Duration `yaml:"-" flag:"-"`
	// DataDir is where the restart-loop guard keeps its history
	// (shutdown-history.json), so it survives the restarts it counts. ""
	// keeps the history in memory only, which guards nothing across
	// processes: fine for tests, wrong for a node under a supervisor.
	DataDir string `yaml:"-" flag:"-"`
	// GuardMax is how many health-triggered shutdowns within GuardWindow
	// suppress the next one; 0 means DefaultGuardMax, negative disables the
	// guard.
	GuardMax int `yaml:"-" flag:"-"`
	// GuardWindow is how far back the guard counts; 0 means
	// DefaultGuardWindow.
	GuardWindow time.Duration `yaml:"-" flag:"-"`
	// Now is the guard's clock (nil means time.Now). The history outlives the
	// process, so it is kept in wall-clock time.
	Now func() time.Time `yaml:"-" flag:"-"`
	// Exit ends the process on a second signal (nil means os.Exit).
	Exit func(code int) `yaml:"-" flag:"-"`
}

// DefaultConfig returns the defaults, with the guard in memory only: set
// DataDir to make it survive restarts. Now and Exit are left nil (New uses
// time.Now and os.Exit), so a Config holds only values.
func DefaultConfig() Config {
	return Config{
		Timeout:     DefaultTimeout,
		HookTimeout: DefaultStepTimeout,
		GuardMax:    DefaultGuardMax,
		GuardWindow: DefaultGuardWindow,
	}
}

// Validate judges the settings as an operator wrote them, one
// fielderr.Error each: a shutdown given no time is no shutdown. (New fills
// the zero fields a Go literal leaves, from DefaultConfig; a setting of 0
// is a mistake, not a request for the default.)
func (c Config) Validate() error {
	var errs fielderr.List
	if c.Timeout <= 0 {
		errs.Add("Timeout", "must be > 0, got %v", c.Timeout)
	}
	return errs.Err()
}

// withDefaults fills the zero fields from DefaultConfig, so a literal
// Config{} is usable.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.HookTimeout <= 0 {
		c.HookTimeout = d.HookTimeout
	}
	if c.GuardMax == 0 {
		c.GuardMax = d.GuardMax
	}
	if c.GuardWindow <= 0 {
		c.GuardWindow = d.GuardWindow
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Exit == nil {
		c.Exit = os.Exit
	}
	return c
}
