package check

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestPromtoolChecksAndUnitTestsTheRules(t *testing.T) {
	for _, args := range [][]string{
		{"check", "rules", "../prometheus/rules.yml"},
		{"test", "rules", "../prometheus/rules_test.yml"},
	} {
		out, err := exec.Command(promtool(t), args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// Every alert the issue asks for is there, each with the annotations an
// on-call engineer reads.
func TestRulesCarrySummaryDescriptionRunbook(t *testing.T) {
	b, err := os.ReadFile("../prometheus/rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			for _, a := range []string{"summary", "description", "runbook"} {
				if len(strings.TrimSpace(r.Annotations[a])) < 20 {
					t.Errorf("%s: annotation %s is missing or a stub: %q", r.Alert, a, r.Annotations[a])
				}
			}
		}
	}
	for _, want := range []string{"MeshhealthNodeUnhealthy", "MeshhealthCriticalCheckFailing", "MeshhealthScoreBelowDegraded",
		"MeshhealthNoLeader", "MeshhealthLeaderFlapping", "MeshhealthPeersBelowMin", "MeshhealthDHTIntegrityViolation",
		"MeshhealthRejectedMessagesSpiking", "MeshhealthRestartLoop"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s", want)
		}
	}
}

func TestMetricNamesSeesThroughFunctionsAndVariables(t *testing.T) {
	got, err := MetricNames(`histogram_quantile(0.99, sum by (le) (rate(a_bucket{job=~"$job"}[$__rate_interval]))) / on() group_left b unless {__name__="c"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a_bucket,b,c" {
		t.Errorf("names %v, want a_bucket,b,c", got)
	}
	if _, err := MetricNames(`rate(x[$window])`); err == nil {
		t.Error("an unknown dashboard variable passed")
	}
	if _, err := MetricNames(`sum(rate(x[5m])`); err == nil {
		t.Error("invalid PromQL passed")
	}
}
