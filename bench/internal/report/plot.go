package report

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plot colours: the nodes, the bare hosts, and the target line.
var (
	nodeColour   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	maxColour    = color.RGBA{R: 0x9e, G: 0xc9, B: 0xe8, A: 0xff}
	bareColour   = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	targetColour = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// WritePlot draws the scale curve as a PNG with two panels against N:
// health messages received per node per second (the mean over every node
// and the busiest node, with the 3/s goal), and CPU per node as % of a core
// (nodes and bare hosts of the same degree, with the 0.5 % goal). It reports false when there is no curve to
// draw (fewer than one point), so the document links no image.
func WritePlot(w io.Writer, in *Input) (bool, error) {
	var ps []curvePoint
	for i := range in.Curve {
		ps = append(ps, summarizeCurve(&in.Curve[i]))
	}
	if len(ps) == 0 {
		return false, nil
	}
	xMax := float64(ps[len(ps)-1].c.Nodes) * 1.05

	intake := plot.New()
	intake.Title.Text = "Health messages received per node"
	intake.X.Label.Text = "nodes (N)"
	intake.Y.Label.Text = "messages / s"
	var med, top plotter.XYs
	for _, p := range ps {
		if p.haveIntake {
			med = append(med, plotter.XY{X: float64(p.c.Nodes), Y: p.intake.Mean})
			top = append(top, plotter.XY{X: float64(p.c.Nodes), Y: p.intake.Max})
		}
	}
	if err := addSeries(intake, "mean node", med, nodeColour, false); err != nil {
		return false, err
	}
	if err := addSeries(intake, "busiest node", top, maxColour, false); err != nil {
		return false, err
	}
	if err := addTarget(intake, "goal ≤ 3/s", curveIntakeMax, xMax); err != nil {
		return false, err
	}

	cpu := plot.New()
	cpu.Title.Text = "CPU per node"
	cpu.X.Label.Text = "nodes (N)"
	cpu.Y.Label.Text = "% of one core"
	var node, bare plotter.XYs
	for _, p := range ps {
		if p.nodeCPU.N > 0 {
			node = append(node, plotter.XY{X: float64(p.c.Nodes), Y: p.nodeCPU.Mean * 100})
		}
		if p.haveBare {
			bare = append(bare, plotter.XY{X: float64(p.c.Nodes), Y: p.bareCPU.Mean * 100})
		}
	}
	if err := addSeries(cpu, "meshhealth node (mean)", node, nodeColour, false); err != nil {
		return false, err
	}
	if err := addSeries(cpu, "bare libp2p host (mean)", bare, bareColour, true); err != nil {
		return false, err
	}
	if err := addTarget(cpu, "goal ≤ 0.5 %", curveCPUMax*100, xMax); err != nil {
		return false, err
	}

	for _, p := range []*plot.Plot{intake, cpu} {
		// Headroom above the highest point or target line keeps the
		// legend, top left, off both.
		p.X.Min, p.Y.Min = 0, 0
		p.Y.Max *= 1.35
		p.Add(plotter.NewGrid())
		p.Legend.Top, p.Legend.Left = true, true
	}
	img := vgimg.New(vg.Points(900), vg.Points(360))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	canvases := plot.Align([][]*plot.Plot{{intake, cpu}}, tiles, dc)
	intake.Draw(canvases[0][0])
	cpu.Draw(canvases[0][1])
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return false, fmt.Errorf("scale plot: %w", err)
	}
	return true, nil
}

func addSeries(p *plot.Plot, name string, xys plotter.XYs, c color.Color, dashed bool) error {
	if len(xys) == 0 {
		return nil
	}
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("scale plot %s: %w", name, err)
	}
	l.Color, s.Color = c, c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

func addTarget(p *plot.Plot, name string, y, xMax float64) error {
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: y}, {X: xMax, Y: y}})
	if err != nil {
		return fmt.Errorf("scale plot %s: %w", name, err)
	}
	l.Color = targetColour
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
