package shutdown

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
)

func TestFirstReasonWinsAndSetsTheExitCode(t *testing.T) {
	type trigger struct {
		critical bool // HandleCritical instead of Shutdown
		reason   string
		code     int
	}
	sigterm := trigger{reason: "signal: SIGTERM", code: ExitOK}
	critical := trigger{critical: true, reason: "critical check dht-integrity: no remote answer"}
	fatal := trigger{reason: "start p2p: listen: address in use", code: ExitFatal}

	tests := []struct {
		name       string
		triggers   []trigger
		wantCode   int
		wantReason string
		wantReturn []bool
	}{
		{"signal exits 0", []trigger{sigterm}, ExitOK, sigterm.reason, []bool{true}},
		{"fatal start-up error exits 1", []trigger{fatal}, ExitFatal, fatal.reason, []bool{true}},
		{"critical failure exits 3", []trigger{critical}, ExitCritical, critical.reason, []bool{true}},
		// HandleCritical answers true: the node is stopping, just not for it.
		{"critical after SIGTERM keeps exit 0", []trigger{sigterm, critical}, ExitOK, sigterm.reason, []bool{true, true}},
		{"SIGTERM after critical keeps exit 3", []trigger{critical, sigterm}, ExitCritical, critical.reason, []bool{true, false}},
		{"critical after fatal keeps exit 1", []trigger{fatal, critical}, ExitFatal, fatal.reason, []bool{true, true}},
		{"second shutdown changes nothing", []trigger{fatal, sigterm}, ExitFatal, fatal.reason, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFixture(t, Config{DataDir: t.TempDir()})
				var returned []bool
				for _, tr := range tt.triggers {
					if tr.critical {
						returned = append(returned, f.m.HandleCritical(tr.reason))
					} else {
						returned = append(returned, f.m.Shutdown(tr.reason, tr.code))
					}
				}
				code, reason := f.m.Wait()
				if code != tt.wantCode || reason != tt.wantReason {
					t.Errorf("Wait() = %d %q, want %d %q", code, reason, tt.wantCode, tt.wantReason)
				}
				if !slices.Equal(returned, tt.wantReturn) {
					t.Errorf("triggers returned %v, want %v", returned, tt.wantReturn)
				}
				if n := strings.Count(f.log.String(), `msg="shutting down"`); n != 1 {
					t.Errorf(`"shutting down" logged %d times, want once:\n%s`, n, f.log)
				}
				if !f.log.Contains(`msg="shutdown complete" reason="` + tt.wantReason) {
					t.Errorf("end of shutdown not logged with its reason:\n%s", f.log)
				}
			})
		})
	}
}

func TestCriticalDuringShutdownIsNotCountedByTheGuard(t *testing.T) {
	dir := t.TempDir()
	f := newFixture(t, Config{DataDir: dir})
	f.m.Shutdown("signal: SIGTERM", ExitOK)
	f.m.HandleCritical("critical check p2p-connectivity: 0 peers")
	waitDone(t, f.m)
	if _, err := os.Stat(filepath.Join(dir, GuardFile)); !os.IsNotExist(err) {
		t.Fatalf("guard history written for a shutdown that was not health-triggered (stat: %v)", err)
	}
}
