// Package testkit holds the helpers the node's tests share: waiting for a
// condition with a deadline, and linting the metrics a registry exposes.
// Tests only; internal/importboss lets every test import it.
package testkit

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// poll is how often Eventually asks again: often enough that a test does
// not wait long after the condition holds, rarely enough to leave the
// machine to what is being waited for.
const poll = 20 * time.Millisecond

// Eventually polls cond until it holds, failing the test after within with
// what and the last thing cond saw. The deadline is a generous bound for a
// loaded machine, not a timing assertion: tests that assert timings use
// testing/synctest.
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; last seen: %s", what, within, seen)
		}
		time.Sleep(poll)
	}
}

// WaitFor is Eventually for a condition with nothing to say.
func WaitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(poll)
	}
}

// Lint gathers g, reports every promlint problem as a test error, and
// returns the names of the metric families it gathered.
func Lint(t testing.TB, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	names := make([]string, len(mfs))
	for i, mf := range mfs {
		names[i] = mf.GetName()
	}
	return names
}

// LintExposition lints a /metrics body, reporting the problems of the
// metrics whose names start with prefix (other libraries' metrics are
// theirs to fix).
func LintExposition(t testing.TB, body io.Reader, prefix string) {
	t.Helper()
	problems, err := promlint.New(body).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, prefix) {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
}
