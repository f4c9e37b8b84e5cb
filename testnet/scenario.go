package testnet

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is a list of steps run against a testnet: waits, chaos,
// assertions, sleeps and holds. The built-in scenarios are written in the
// same format (scenarios/*.yaml), so there is one engine.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Testnet is what scenario starts when no testnet is up in its
	// directory; an existing testnet is used as it is.
	Testnet ScenarioTestnet `yaml:"testnet"`
	Steps   []Step          `yaml:"steps"`
	// Source is "builtin" or the file the scenario came from.
	Source string `yaml:"-"`
}

// ScenarioTestnet is the testnet a scenario wants when it starts its own.
type ScenarioTestnet struct {
	Nodes    int      `yaml:"nodes"`
	Mode     string   `yaml:"mode"`
	NodeArgs []string `yaml:"node_args"`
	// AllowList, Outsiders and OutsiderArgs are up's (UpOptions).
	AllowList    bool     `yaml:"allow_list"`
	Outsiders    int      `yaml:"outsiders"`
	OutsiderArgs []string `yaml:"outsider_args"`
	// Prometheus starts Prometheus with the shipped rules (up --prometheus),
	// for the prom-up and alert-* conditions.
	Prometheus bool `yaml:"prometheus"`
}

// Step is one step. Exactly one of Wait, Assert, Hold, Chaos and Sleep is
// set; the other fields qualify it.
type Step struct {
	Name string `yaml:"name"`

	// Wait polls until every condition holds on the selected nodes, or
	// fails at Timeout.
	Wait CondList `yaml:"wait"`
	// Assert checks the conditions once.
	Assert CondList `yaml:"assert"`
	// Hold watches for For: every poll the conditions must hold, and no
	// selected node may change status or leader more than MaxChanges times.
	Hold CondList `yaml:"hold"`
	// Chaos is an action (kill, stop, cont, restart, partition, heal,
	// fault, clear) on the node chosen by Node.
	Chaos string `yaml:"chaos"`
	// Sleep waits this long.
	Sleep Duration `yaml:"sleep"`

	// Nodes selects the nodes a condition applies to (default all): all,
	// node:N, @label. Except removes nodes from that set.
	Nodes  []string `yaml:"nodes"`
	Except []string `yaml:"except"`
	// Node chooses the chaos target: leader, any-follower, node:N, @label.
	Node string `yaml:"node"`
	// As names the chaos target for later steps (@name), with the leader
	// and term seen just before the chaos.
	As        string `yaml:"as"`
	Component string `yaml:"component"`
	Fault     string `yaml:"fault"`
	// Code is the exit code the exited condition expects.
	Code *int `yaml:"code"`
	// Since is the @label whose leader and term new-leader must supersede.
	Since string `yaml:"since"`
	// Alert is the alert rule alert-firing and alert-inactive look at.
	Alert string `yaml:"alert"`
	// Peers is the most connected peers max-peers lets a node have.
	Peers int `yaml:"peers"`

	Timeout Duration `yaml:"timeout"`
	// Target is the time a wait should take; missing it is reported, not
	// failed, because a loaded machine must not turn a slow pass red.
	Target Duration `yaml:"target"`
	Poll   Duration `yaml:"poll"`
	For    Duration `yaml:"for"`
	// MaxChanges bounds the status and leader changes a hold tolerates.
	MaxChanges int `yaml:"max_changes"`
	// Optional marks a hold that runs only when the run asks for it
	// (testnet scenario --hold D, which also sets its length): a long
	// watch that a quick measurement skips.
	Optional bool `yaml:"optional"`
	// Measure records the wait's duration in the report under this name.
	Measure string `yaml:"measure"`
	// While is checked at every poll of a wait: if it stops holding, the
	// wait fails at once.
	While *Guard `yaml:"while"`

	// Line is where the step begins in its file.
	Line int `yaml:"-"`
}

// Guard is a condition on a set of nodes.
type Guard struct {
	Cond   CondList `yaml:"cond"`
	Nodes  []string `yaml:"nodes"`
	Except []string `yaml:"except"`
}

// Conditions a wait, assert, hold or while can name.
const (
	CondReady       = "ready"          // status healthy or degraded
	CondHealthy     = "healthy"        // status healthy
	CondNotHealthy  = "not-healthy"    // any other status, unreachable or exited included
	CondNotReady    = "not-ready"      // neither healthy nor degraded: starting, unhealthy, stopping, unreachable, exited
	CondPassing     = "checks-passing" // answering, and no check's effective state is failing
	CondOneLeader   = "one-leader"     // every selected node names the same leader, one of them
	CondNewLeader   = "new-leader"     // one-leader, not @since's leader, with a higher term
	CondConverged   = "converged"      // ready and one-leader
	CondExited      = "exited"         // the process is gone (with exit code Code, when set)
	CondPastGrace   = "past-grace"     // up longer than its --startup-grace
	CondMaxPeers    = "max-peers"      // answering with at most the step's peers: connected peers, and at least one
	CondSaysRefused = "says-refused"   // answering, and its /health message says peers refused it
	// CondOutsidersOut: no selected node lists an outsider (up --outsiders)
	// among its /health/mesh members, and together they refused at least
	// one peer.
	CondOutsidersOut = "keeps-outsiders-out"

	// Asked of the testnet's Prometheus (up --prometheus), by each node's
	// target label node.
	CondPromUp        = "prom-up"        // Prometheus scrapes the node: up is 1
	CondAlertFiring   = "alert-firing"   // the step's alert: is firing for the node
	CondAlertInactive = "alert-inactive" // the step's alert: neither pending nor firing for the node
)

// Conditions lists every condition name.
var Conditions = []string{CondReady, CondHealthy, CondNotHealthy, CondNotReady, CondPassing, CondOneLeader, CondNewLeader, CondConverged, CondExited, CondPastGrace, CondMaxPeers, CondSaysRefused, CondOutsidersOut, CondPromUp, CondAlertFiring, CondAlertInactive}

// promConds are the conditions answered by Prometheus rather than the nodes.
var promConds = []string{CondPromUp, CondAlertFiring, CondAlertInactive}

// Step defaults, generous for a loaded 2-core machine.
const (
	DefaultWaitTimeout = 60 * time.Second
	DefaultWaitPoll    = 500 * time.Millisecond
	DefaultHoldPoll    = time.Second
)

// Kind is the step's kind: wait, assert, hold, chaos or sleep.
func (s *Step) Kind() string {
	switch {
	case len(s.Wait) > 0:
		return "wait"
	case len(s.Assert) > 0:
		return "assert"
	case len(s.Hold) > 0:
		return "hold"
	case s.Chaos != "":
		return "chaos"
	case s.Sleep > 0:
		return "sleep"
	}
	return ""
}

// Conds are the step's conditions, whatever its kind.
func (s *Step) Conds() CondList {
	return slices.Concat(s.Wait, s.Assert, s.Hold)
}

// Describe is the step in a few words, for progress lines and reports.
func (s *Step) Describe() string {
	if s.Name != "" {
		return s.Name
	}
	sel := describeSet(s.Nodes, s.Except)
	switch s.Kind() {
	case "wait", "assert", "hold":
		d := s.Kind() + " " + strings.Join(s.Conds(), "+")
		if s.Since != "" {
			d += " since " + s.Since
		}
		if s.Code != nil {
			d += fmt.Sprintf(" with code %d", *s.Code)
		}
		if s.Kind() == "hold" && s.Optional {
			d += " (optional, --hold)"
		} else if s.Kind() == "hold" {
			d += " for " + s.For.String()
		}
		return d + " on " + sel
	case "chaos":
		d := "chaos " + s.Chaos
		if s.Chaos == ChaosFault {
			d += " " + s.Component + "/" + s.Fault
		}
		return d + " on " + s.Node
	case "sleep":
		return "sleep " + s.Sleep.String()
	}
	return "empty step"
}

func describeSet(nodes, except []string) string {
	d := "all nodes"
	if len(nodes) > 0 {
		d = strings.Join(nodes, ",")
	}
	if len(except) > 0 {
		d += " except " + strings.Join(except, ",")
	}
	return d
}

// CondList is one condition or a list of them: `wait: ready` or
// `wait: [healthy, one-leader]`.
type CondList []string

// UnmarshalYAML accepts a scalar or a sequence of scalars.
func (c *CondList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*c = CondList{n.Value}
		return nil
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*c = l
		return nil
	}
	return fmt.Errorf("line %d: want a condition or a list of conditions", n.Line)
}

// Duration is a time.Duration written as "30s" or "1m30s".
type Duration time.Duration

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: want a value such as 30s or 2m", n.Line, n.Value)
	}
	if v < 0 {
		return fmt.Errorf("line %d: duration %q is negative", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// ParseScenario reads a scenario file's content. Unknown fields, unknown
// conditions and actions, and references to labels not yet defined are
// errors that name the line.
func ParseScenario(b []byte, source string) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", source, cleanYAMLError(err))
	}
	// A second pass over the node tree gives each step its line number.
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err == nil {
		for i, l := range stepLines(&root) {
			if i < len(sc.Steps) {
				sc.Steps[i].Line = l
			}
		}
	}
	sc.Source = source
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", source, err)
	}
	return &sc, nil
}

func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return errors.New(strings.Join(te.Errors, "; "))
	}
	return err
}

func stepLines(root *yaml.Node) []int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "steps" {
			var lines []int
			for _, s := range m.Content[i+1].Content {
				lines = append(lines, s.Line)
			}
			return lines
		}
	}
	return nil
}

// Validate checks what YAML cannot: one kind per step, known names, and
// labels defined before use. Every problem is reported, each with its line.
func (sc *Scenario) Validate() error {
	var errs []error
	if sc.Name == "" {
		errs = append(errs, errors.New("no name"))
	}
	if len(sc.Steps) == 0 {
		errs = append(errs, errors.New("no steps"))
	}
	if sc.Testnet.Mode != "" {
		if _, err := ParseMode(sc.Testnet.Mode); err != nil {
			errs = append(errs, fmt.Errorf("testnet: %w", err))
		}
	}
	if sc.Testnet.Nodes < 0 || sc.Testnet.Nodes > maxNodes {
		errs = append(errs, fmt.Errorf("testnet: nodes %d: want 1 to %d", sc.Testnet.Nodes, maxNodes))
	}
	labels := map[string]bool{}
	for i := range sc.Steps {
		s := &sc.Steps[i]
		for _, err := range s.validate(labels) {
			errs = append(errs, fmt.Errorf("step %d (line %d): %w", i+1, s.Line, err))
		}
		if s.As != "" {
			labels["@"+s.As] = true
		}
	}
	return errors.Join(errs...)
}

func (s *Step) validate(labels map[string]bool) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	kinds := 0
	for _, set := range []bool{len(s.Wait) > 0, len(s.Assert) > 0, len(s.Hold) > 0, s.Chaos != "", s.Sleep > 0} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		bad("want exactly one of wait, assert, hold, chaos, sleep; found %d", kinds)
		return errs
	}
	kind := s.Kind()
	for _, c := range s.Conds() {
		if !slices.Contains(Conditions, c) {
			bad("unknown condition %q; known: %s", c, strings.Join(Conditions, ", "))
		}
	}
	alerting := slices.Contains(s.Conds(), CondAlertFiring) || slices.Contains(s.Conds(), CondAlertInactive)
	if alerting && s.Alert == "" {
		bad("alert-firing and alert-inactive need alert: the alert rule's name")
	} else if !alerting && s.Alert != "" {
		bad("alert: belongs to a step with alert-firing or alert-inactive")
	}
	bounding := slices.Contains(s.Conds(), CondMaxPeers)
	if bounding && s.Peers <= 0 {
		bad("max-peers needs peers: the most connected peers a node may have (> 0)")
	} else if !bounding && s.Peers != 0 {
		bad("peers: belongs to a step with max-peers")
	}
	if slices.Contains(s.Conds(), CondNewLeader) && !labels[s.Since] {
		bad("new-leader needs since: @label naming an earlier chaos step's as:")
	} else if s.Since != "" && !labels[s.Since] {
		bad("since %q: no earlier chaos step has as: %s", s.Since, strings.TrimPrefix(s.Since, "@"))
	}
	for _, sel := range slices.Concat(s.Nodes, s.Except) {
		if err := checkSetSelector(sel, labels); err != nil {
			errs = append(errs, err)
		}
	}
	if s.While != nil {
		if kind != "wait" {
			bad("while: only a wait has one")
		}
		if len(s.While.Cond) == 0 {
			bad("while: needs cond")
		}
		for _, c := range s.While.Cond {
			if !slices.Contains(Conditions, c) || c == CondNewLeader || c == CondAlertFiring || c == CondAlertInactive || c == CondMaxPeers || c == CondOutsidersOut {
				bad("while: condition %q; known: %s (new-leader, max-peers, keeps-outsiders-out and alert-* excepted)", c, strings.Join(Conditions, ", "))
			}
		}
		for _, sel := range slices.Concat(s.While.Nodes, s.While.Except) {
			if err := checkSetSelector(sel, labels); err != nil {
				errs = append(errs, fmt.Errorf("while: %w", err))
			}
		}
	}
	if (s.Target > 0 || s.Measure != "" || s.Timeout > 0) && kind != "wait" {
		bad("timeout, target and measure belong to a wait")
	}
	if kind == "hold" && s.For <= 0 && !s.Optional {
		bad("hold needs for: a duration (or optional: true, then --hold sets it)")
	}
	if s.Optional && kind != "hold" {
		bad("optional: belongs to a hold")
	}
	if s.For > 0 && kind != "hold" {
		bad("for: belongs to a hold")
	}
	if kind == "chaos" {
		if !slices.Contains(ChaosActions, s.Chaos) {
			bad("unknown chaos %q; known: %s", s.Chaos, strings.Join(ChaosActions, ", "))
		}
		if s.Node == "" {
			bad("chaos needs node: leader, any-follower, node:N or @label")
		} else if err := checkTargetSelector(s.Node, labels); err != nil {
			errs = append(errs, err)
		}
		if s.Chaos == ChaosFault && (s.Component == "" || s.Fault == "") {
			bad("chaos fault needs component and fault (such as pubsub and drop-inbound)")
		}
	} else if s.Node != "" || s.As != "" || s.Component != "" || s.Fault != "" {
		bad("node, as, component and fault belong to a chaos step; conditions select with nodes:")
	}
	if s.As != "" && strings.ContainsAny(s.As, "@: ") {
		bad("as %q: a plain name, used later as @%s", s.As, strings.Trim(s.As, "@: "))
	}
	return errs
}

func checkSetSelector(sel string, labels map[string]bool) error {
	switch {
	case sel == "all":
		return nil
	case strings.HasPrefix(sel, "@"):
		if !labels[sel] {
			return fmt.Errorf("node selector %q: no earlier chaos step has as: %s", sel, sel[1:])
		}
		return nil
	case strings.HasPrefix(sel, "node:"):
		if _, err := strconv.Atoi(sel[5:]); err != nil {
			return fmt.Errorf("node selector %q: want node:N", sel)
		}
		return nil
	}
	return fmt.Errorf("node selector %q: want all, node:N or @label", sel)
}

func checkTargetSelector(sel string, labels map[string]bool) error {
	if sel == "leader" || sel == "any-follower" {
		return nil
	}
	if sel == "all" {
		return errors.New(`chaos node "all": one node per step (leader, any-follower, node:N or @label)`)
	}
	return checkSetSelector(sel, labels)
}
