package report

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/meshhealth/meshhealth/bench/internal/results"
)

// Input is everything one run measured; a nil section did not run.
type Input struct {
	Dir       string
	Run       results.Run
	HTTP      *results.HTTP
	Detect    *results.Detect
	DetectRef *results.Detect
	// DetectAt are detection runs of ours at other sizes (issue 25: N = 50),
	// by rising N.
	DetectAt []results.Detect
	Soak     *results.Soak
	Idle     *results.Idle
	Scale    []results.Scale // by rising N
	GoBench  *results.GoBench
	Curve    []results.Curve // by rising N
	Recovery *results.Recovery
	// Plot is the scale curve's image, relative to the document; empty
	// when none was drawn.
	Plot string
}

// Load reads the results directory. Only run.json is required; a missing
// section is reported as not run.
func Load(dir string) (*Input, error) {
	in := &Input{Dir: dir}
	if err := results.Read(dir, results.FileRun, &in.Run); err != nil {
		return nil, fmt.Errorf("%w (run meshbench start first)", err)
	}
	var err error
	if in.HTTP, err = optional[results.HTTP](dir, results.FileHTTP); err != nil {
		return nil, err
	}
	if in.Detect, err = optional[results.Detect](dir, results.FileDetect); err != nil {
		return nil, err
	}
	if in.DetectRef, err = optional[results.Detect](dir, results.FileDetectRef); err != nil {
		return nil, err
	}
	if in.DetectAt, err = loadDetectAt(dir); err != nil {
		return nil, err
	}
	if in.Soak, err = optional[results.Soak](dir, results.FileSoak); err != nil {
		return nil, err
	}
	if in.Idle, err = optional[results.Idle](dir, results.FileIdle); err != nil {
		return nil, err
	}
	if in.GoBench, err = optional[results.GoBench](dir, results.FileGoBench); err != nil {
		return nil, err
	}
	if in.Recovery, err = optional[results.Recovery](dir, results.FileRecovery); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, results.FileScalePattern))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		var s results.Scale
		if err := results.Read(dir, filepath.Base(f), &s); err != nil {
			return nil, err
		}
		in.Scale = append(in.Scale, s)
	}
	slices.SortFunc(in.Scale, func(a, b results.Scale) int { return cmp.Compare(a.Nodes, b.Nodes) })
	if in.Curve, err = loadCurve(dir); err != nil {
		return nil, err
	}
	return in, nil
}

// loadCurve reads curve-<N>.json; the scenario and hold reports written
// beside them (curve-<N>-scenario.json, curve-<N>-hold.json) are not points.
func loadCurve(dir string) ([]results.Curve, error) {
	files, err := filepath.Glob(filepath.Join(dir, results.FileCurvePattern))
	if err != nil {
		return nil, err
	}
	var out []results.Curve
	for _, f := range files {
		n := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "curve-"), ".json")
		if _, err := strconv.Atoi(n); err != nil {
			continue
		}
		var c results.Curve
		if err := results.Read(dir, filepath.Base(f), &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b results.Curve) int { return cmp.Compare(a.Nodes, b.Nodes) })
	return out, nil
}

// loadDetectAt reads detect-ours-n<N>.json.
func loadDetectAt(dir string) ([]results.Detect, error) {
	files, err := filepath.Glob(filepath.Join(dir, results.FileDetectAtNPattern))
	if err != nil {
		return nil, err
	}
	var out []results.Detect
	for _, f := range files {
		var d results.Detect
		if err := results.Read(dir, filepath.Base(f), &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b results.Detect) int { return cmp.Compare(a.Nodes, b.Nodes) })
	return out, nil
}

func optional[T any](dir, name string) (*T, error) {
	var v T
	if err := results.Read(dir, name, &v); err != nil {
		if results.Missing(err) {
			return nil, nil
		}
		return nil, err
	}
	return &v, nil
}
