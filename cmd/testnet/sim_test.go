package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSimBinary is a stand-in for sim.test that prints its arguments, one
// a line.
func fakeSimBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sim.test")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// A scenario file reaches the simulator as an absolute path (the test
// binary may run elsewhere), with the node flags after --.
func TestSimPassesAScenarioFileAndNodeFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.yaml")
	os.WriteFile(file, []byte("name: mine\nsteps:\n  - wait: converged\n"), 0o644)
	t.Chdir(dir)
	code, stdout, stderr := runCLI("sim", "--sim-binary", fakeSimBinary(t), "--scenario", "mine.yaml", "--", "--min-peers=2")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	args := strings.Split(strings.TrimSpace(stdout), "\n")
	if !strings.Contains(stdout, "-sim.scenario\n"+file+"\n") {
		t.Errorf("args %q: want -sim.scenario %s", args, file)
	}
	if n := len(args); n < 2 || args[n-2] != "--" || args[n-1] != "--min-peers=2" {
		t.Errorf("args %q: want the node flags last, after --", args)
	}
}

// A name that is no scenario fails at once, naming both kinds, and
// starts nothing; node flags do not apply to the simulator's own.
func TestSimRefusesWhatItCannotRun(t *testing.T) {
	bin := fakeSimBinary(t)
	code, stdout, stderr := runCLI("sim", "--sim-binary", bin, "--scenario", "no-such")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, `"no-such"`) || !strings.Contains(stderr, "zone-outage") {
		t.Errorf("exit %d, stdout %q, stderr %q: want a usage error naming the scenario and the simulator's own", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI("sim", "--sim-binary", bin, "--scenario", "zone-outage", "--", "--min-peers=2")
	if code != exitUsage || stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q: want a usage error", code, stdout, stderr)
	}
}
