package testnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"
)

// ScenarioOptions say where and how a scenario runs.
type ScenarioOptions struct {
	Dir string
	// Report is the JSON report's path; empty means <dir>/report-<name>.json.
	Report string
	// HoldFor replaces every hold step's duration (soak --duration).
	HoldFor time.Duration
	// Hold runs the optional holds for this long (scale --hold 10m); zero
	// skips them.
	Hold time.Duration
	// Up is used when no testnet is up in Dir: the scenario starts one,
	// and stops it at the end unless Keep. Its N and Mode, when zero, come
	// from the scenario's testnet: section, then 5 and local.
	Up   UpOptions
	Keep bool
	Out  io.Writer
	// Clock defaults to the real one.
	Clock Clock
}

// RunScenario runs sc on the testnet in o.Dir, starting one first if none
// is up, and writes the report. A failed step is returned as a
// *StepFailure, with the report written all the same.
func RunScenario(ctx context.Context, sc *Scenario, o ScenarioOptions, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	t, err := Open(o.Dir, opts)
	started := false
	if errors.Is(err, ErrNoTestnet) {
		up := o.Up
		up.Dir = o.Dir
		if up.N == 0 {
			up.N = sc.Testnet.Nodes
		}
		if up.N == 0 {
			up.N = 5
		}
		if up.Mode == "" {
			up.Mode = Mode(sc.Testnet.Mode)
		}
		if up.Mode == "" {
			up.Mode = ModeLocal
		}
		up.NodeArgs = append(append([]string{}, sc.Testnet.NodeArgs...), up.NodeArgs...)
		up.Prometheus = up.Prometheus || sc.Testnet.Prometheus
		up.AllowList = up.AllowList || sc.Testnet.AllowList
		if up.Outsiders == 0 {
			up.Outsiders = sc.Testnet.Outsiders
		}
		up.OutsiderArgs = append(append([]string{}, sc.Testnet.OutsiderArgs...), up.OutsiderArgs...)
		if up.ReadyTimeout == 0 {
			// The scenario's own first wait bounds readiness.
			up.ReadyTimeout = time.Millisecond
		}
		fmt.Fprintf(out, "starting %d %s nodes in %s\n", up.N, up.Mode, o.Dir)
		t, err = Up(ctx, up, opts)
		if err != nil && !errors.Is(err, ErrNotReady) {
			return nil, err
		}
		started = true
	} else if err != nil {
		return nil, err
	}
	defer t.Close()
	if started && !o.Keep {
		defer func() {
			fmt.Fprintf(out, "stopping the testnet\n")
			if err := Down(context.WithoutCancel(ctx), t.Dir(), DownOptions{}, opts); err != nil {
				fmt.Fprintf(out, "down: %v\n", err)
			}
		}()
	}
	st, err := t.State()
	if err != nil {
		return nil, err
	}
	e := &Engine{Cluster: t, Clock: o.Clock, Out: out, HoldFor: o.HoldFor, OptionalHold: o.Hold}
	rep, runErr := e.Run(ctx, sc, ReportTestnet{Dir: st.Dir, Mode: st.Mode, Nodes: len(st.Nodes)})
	path := o.Report
	if path == "" {
		path = filepath.Join(st.Dir, "report-"+sc.Name+".json")
	}
	if err := rep.WriteFile(path); err != nil {
		return rep, errors.Join(runErr, err)
	}
	fmt.Fprintf(out, "report: %s\n", path)
	return rep, runErr
}
