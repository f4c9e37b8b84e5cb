package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/meshhealth/meshhealth/bench/internal/results"
	"github.com/meshhealth/meshhealth/testnet"
)

// recoveryScenario is the testnet's built-in the section replays, up to
// the heal's measures (its second outage, for good, only shows the exit).
const (
	recoveryScenario = "zone-recovery"
	recoveryLastStep = "healed-to-healthy"
)

type recoveryBench struct {
	commonFlags
	reps int
}

// runRecovery is the recovery section (issue 21): the zone-recovery
// scenario's outage that heals within the budget, -reps times on a fresh
// 10-node netns testnet each, with each zone node's last recovery read
// from its /health once every node is healthy again: how it ended and the
// step after which its checks passed.
func runRecovery(ctx context.Context, args []string, log io.Writer) error {
	b := recoveryBench{}
	fs := newFlags("recovery", log)
	b.register(fs)
	fs.IntVar(&b.reps, "reps", 1, "outages, each on a fresh testnet")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, err := testnet.LoadScenario(recoveryScenario)
	if err != nil {
		return err
	}
	var steps []testnet.Step
	for _, s := range sc.Steps {
		steps = append(steps, s)
		if s.Measure == recoveryLastStep {
			break
		}
	}
	if len(steps) == 0 || steps[len(steps)-1].Measure != recoveryLastStep {
		return fmt.Errorf("scenario %s has no %q measure", recoveryScenario, recoveryLastStep)
	}
	sc.Steps = steps
	res := results.Recovery{Header: b.header("recovery"), Nodes: sc.Testnet.Nodes, Zone: zoneSize(sc), OutageSeconds: 15}
	if err := os.MkdirAll(b.out, 0o755); err != nil {
		return err
	}
	for i := range b.reps {
		rep := b.rep(ctx, sc, i, log)
		res.Reps = append(res.Reps, rep)
		if ctx.Err() != nil {
			break
		}
	}
	finish(&res.Header)
	return results.Write(b.out, results.FileRecovery, res)
}

// zoneSize counts the nodes the scenario partitions before its first heal.
func zoneSize(sc *testnet.Scenario) int {
	n := 0
	for _, s := range sc.Steps {
		if s.Chaos == "heal" {
			break
		}
		if s.Chaos == "partition" {
			n++
		}
	}
	return n
}

func (b *recoveryBench) rep(ctx context.Context, sc *testnet.Scenario, i int, log io.Writer) results.RecoveryRep {
	var rep results.RecoveryRep
	dir := filepath.Join(b.work, fmt.Sprintf("recovery-%d", i))
	opts := b.testnetOpts(log)
	_ = testnet.Down(ctx, dir, testnet.DownOptions{Grace: 5 * time.Second}, opts)
	defer downTestnet(ctx, dir, opts, log)
	so := testnet.ScenarioOptions{
		Dir: dir, Keep: true, Out: prefixed(log, "meshbench recovery: "),
		Report: filepath.Join(b.out, fmt.Sprintf("recovery-%d-scenario.json", i)),
		Up:     testnet.UpOptions{N: sc.Testnet.Nodes, Mode: testnet.ModeNetns, NodeBin: b.nodeBin, ReadyTimeout: time.Millisecond},
	}
	r, err := testnet.RunScenario(ctx, sc, so, opts)
	if err != nil {
		rep.Error = err.Error()
	}
	if r != nil {
		for name, dst := range map[string]**float64{"detection": &rep.DetectionSeconds,
			"healed-to-passing": &rep.PassingSeconds, recoveryLastStep: &rep.HealthySeconds} {
			if v, ok := r.Measurements[name]; ok {
				*dst = &v
			}
		}
		// A step's measurement runs from its own start: the healthy wait
		// starts where the passing one ended, and both count from the heal.
		if rep.PassingSeconds != nil && rep.HealthySeconds != nil {
			v := *rep.PassingSeconds + *rep.HealthySeconds
			rep.HealthySeconds = &v
		}
	}
	t, err := testnet.Open(dir, opts)
	if err != nil {
		rep.Error = joinErr(rep.Error, err.Error())
		return rep
	}
	defer t.Close()
	st, err := t.State()
	if err != nil {
		rep.Error = joinErr(rep.Error, err.Error())
		return rep
	}
	if obs, err := t.Observe(ctx, testnet.Scrape{}); err == nil {
		for _, o := range obs {
			if o.Process == testnet.ProcExited {
				rep.Exits++
			}
		}
	}
	c := &http.Client{Timeout: 3 * time.Second}
	zone := zoneSize(sc)
	for j, n := range st.Nodes {
		if j < len(st.Nodes)-zone {
			continue
		}
		rec, err := lastRecovery(ctx, c, "http://"+n.HTTP+"/health")
		if err != nil {
			rep.Error = joinErr(rep.Error, fmt.Sprintf("%s: %v", n.Name, err))
			continue
		}
		rec.Node = n.Name
		rep.Records = append(rep.Records, rec)
	}
	return rep
}

// lastRecovery reads a node's latest recovery from its /health.
func lastRecovery(ctx context.Context, c *http.Client, url string) (results.RecoveryRecord, error) {
	text, err := getText(ctx, c, url)
	if err != nil {
		return results.RecoveryRecord{}, err
	}
	var doc struct {
		Recovery struct {
			History []results.RecoveryRecord `json:"history"`
		} `json:"recovery"`
	}
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return results.RecoveryRecord{}, fmt.Errorf("decode /health: %w", err)
	}
	h := doc.Recovery.History
	if len(h) == 0 {
		return results.RecoveryRecord{}, fmt.Errorf("no recovery recorded")
	}
	return h[len(h)-1], nil
}
