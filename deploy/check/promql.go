package check

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Expr is one PromQL expression and where it came from.
type Expr struct {
	Where string
	Query string
}

// RuleExprs lists every rule's expression in a Prometheus rules file.
func RuleExprs(path string) ([]Expr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Expr
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, Expr{Where: path + ": " + g.Name + "/" + r.Alert + r.Record, Query: r.Expr})
		}
	}
	return out, nil
}

// DashboardExprs lists every query of a Grafana dashboard: each panel's
// targets (rows' nested panels too) and each query variable's
// label_values(selector, label) selector.
func DashboardExprs(path string) ([]Expr, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	type panel struct {
		Title   string  `json:"title"`
		Panels  []panel `json:"panels"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	}
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []Expr
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Expr{Where: fmt.Sprintf("%s: panel %q %s", path, p.Title, t.RefID), Query: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, fmt.Errorf("%s: variable %s: %w", path, v.Name, err)
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			return nil, fmt.Errorf("%s: variable %s: query %q is not label_values(selector, label)", path, v.Name, q.Query)
		}
		out = append(out, Expr{Where: path + ": variable " + v.Name, Query: m[1]})
	}
	return out, nil
}

var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// grafanaVars are the dashboard variables a query may use, with a value
// that keeps the query valid PromQL: intervals become a duration, the job
// filter a regex.
var grafanaVars = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "job": ".+",
}

var grafanaVar = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)

// expandGrafana replaces the dashboard's variables; an unknown one is an
// error, so a new variable is added to grafanaVars knowingly.
func expandGrafana(q string) (string, error) {
	var unknown []string
	out := grafanaVar.ReplaceAllStringFunc(q, func(m string) string {
		name := strings.Trim(m, "${}")
		v, ok := grafanaVars[name]
		if !ok {
			unknown = append(unknown, m)
		}
		return v
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown dashboard variables %v", unknown)
	}
	return out, nil
}

// MetricNames parses q (after expanding dashboard variables) and returns
// the metric names its selectors name.
func MetricNames(q string) ([]string, error) {
	q, err := expandGrafana(q)
	if err != nil {
		return nil, err
	}
	e, err := promql.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
				name = m.Value
			}
		}
		if name == "" {
			err = fmt.Errorf("selector %s names no metric", vs)
			return err
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
		return nil
	})
	return names, err
}

// ExposedNames reads Prometheus text exposition and returns every sample
// name in it (histograms as their _bucket, _sum and _count series, which
// is how queries name them).
func ExposedNames(r io.Reader) (map[string]bool, error) {
	names := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if i := strings.IndexAny(l, "{ "); i > 0 {
			names[l[:i]] = true
		}
	}
	return names, sc.Err()
}

// ReadList reads a file of names, one a line; # starts a comment.
func ReadList(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if i := strings.Index(l, "#"); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out, nil
}

// promql parses with the default options: the stable language, no
// experimental functions, which the Prometheus running the rules may lack.
var promql = parser.NewParser(parser.Options{})
