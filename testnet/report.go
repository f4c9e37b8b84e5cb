package testnet

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Report is what a scenario run leaves behind: every step with its timing
// and verdict, the named measurements, and the nodes at the end.
type Report struct {
	Scenario    string        `json:"scenario"`
	Description string        `json:"description,omitempty"`
	Source      string        `json:"source"`
	Testnet     ReportTestnet `json:"testnet"`
	StartedAt   time.Time     `json:"started_at"`
	Seconds     float64       `json:"seconds"`
	Passed      bool          `json:"passed"`
	Failure     string        `json:"failure,omitempty"`
	Steps       []StepReport  `json:"steps"`
	// Measurements are the seconds each wait with measure: took.
	Measurements map[string]float64 `json:"measurements"`
	// FromStart are the seconds from the first node's start until each
	// wait with measure: ended (start-up included, as an operator counts).
	FromStart map[string]float64 `json:"measurements_from_start,omitempty"`
	Labels    map[string]label   `json:"labels,omitempty"`
	Final     []NodeStatus       `json:"final,omitempty"`
}

// ReportTestnet describes the testnet the scenario ran on.
type ReportTestnet struct {
	Dir   string `json:"dir"`
	Mode  Mode   `json:"mode"`
	Nodes int    `json:"nodes"`
}

// StepReport is one step's outcome.
type StepReport struct {
	Index       int       `json:"index"`
	Line        int       `json:"line,omitempty"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	StartedAt   time.Time `json:"started_at"`
	Seconds     float64   `json:"seconds"`
	Passed      bool      `json:"passed"`
	Expected    string    `json:"expected,omitempty"`
	Seen        string    `json:"seen,omitempty"`
	// Node is the chaos target, resolved.
	Node string `json:"node,omitempty"`
	// TargetSeconds and TargetMet report a wait's target.
	TargetSeconds float64 `json:"target_seconds,omitempty"`
	TargetMet     *bool   `json:"target_met,omitempty"`
	// Hold is a hold step's findings.
	Hold *HoldReport `json:"hold,omitempty"`
	// Skipped: an optional hold the run did not ask for.
	Skipped bool `json:"skipped,omitempty"`
	// Exits holds what exited nodes said in their last log line.
	Exits map[string]ExitInfo `json:"exits,omitempty"`
}

// HoldReport is what a hold saw: zero changes is its point, so the counts
// are always written.
type HoldReport struct {
	Polls         int `json:"polls"`
	FailedPolls   int `json:"failed_polls"`
	StatusChanges int `json:"status_changes"`
	LeaderChanges int `json:"leader_changes"`
	// Exits are the status changes to exited: nodes that died.
	Exits int `json:"exits"`
	// Changes and Violations list the first 20 of each, with the time
	// into the hold.
	Changes    []string `json:"changes,omitempty"`
	Violations []string `json:"violations,omitempty"`
}

// WriteFile writes the report as indented JSON.
func (r *Report) WriteFile(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// StepFailure is a failed step: a wait that timed out, an assertion that
// did not hold, a chaos action that could not be done.
type StepFailure struct {
	Index    int
	Line     int
	Step     string
	Expected string
	Seen     string
	Err      error
}

func (f *StepFailure) Error() string {
	at := fmt.Sprintf("step %d", f.Index)
	if f.Line > 0 {
		at += fmt.Sprintf(" (line %d)", f.Line)
	}
	if f.Err != nil {
		return fmt.Sprintf("%s %s: %v", at, f.Step, f.Err)
	}
	return fmt.Sprintf("%s %s: expected %s; seen %s", at, f.Step, f.Expected, f.Seen)
}

func (f *StepFailure) Unwrap() error { return f.Err }
