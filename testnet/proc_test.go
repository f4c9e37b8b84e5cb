package testnet

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseExitLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want ExitInfo
		ok   bool
	}{
		{
			name: "text, critical failure",
			line: `time=2026-01-01T00:00:00Z level=ERROR msg="node stopped" exit_code=3 reason="critical check p2p-connectivity: 0 peers, want 1"`,
			want: ExitInfo{Found: true, Code: 3, Reason: "critical check p2p-connectivity: 0 peers, want 1"},
			ok:   true,
		},
		{
			name: "text, quotes inside the reason",
			line: `time=x level=ERROR msg="node stopped" exit_code=1 reason="listen: \"addr\" in use"`,
			want: ExitInfo{Found: true, Code: 1, Reason: `listen: "addr" in use`},
			ok:   true,
		},
		{
			name: "text, bare reason",
			line: `time=x level=INFO msg="node stopped" exit_code=0 reason=signal`,
			want: ExitInfo{Found: true, Code: 0, Reason: "signal"},
			ok:   true,
		},
		{
			name: "json",
			line: `{"time":"x","level":"ERROR","msg":"node stopped","exit_code":3,"reason":"critical check pubsub-roundtrip: no ack"}`,
			want: ExitInfo{Found: true, Code: 3, Reason: "critical check pubsub-roundtrip: no ack"},
			ok:   true,
		},
		{name: "another message mentioning it", line: `time=x level=INFO msg="peer said node stopped" exit_code=3`},
		{name: "unrelated", line: `time=x level=INFO msg="probe ok"`},
		{name: "no code", line: `time=x level=INFO msg="node stopped"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseExitLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Errorf("parseExitLine = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestReadExitIgnoresEarlierRuns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.log")
	first := "level=ERROR msg=\"node stopped\" exit_code=3 reason=\"first run\"\n"
	second := "level=INFO msg=started\n"
	if err := os.WriteFile(path, []byte(first+second), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := readExit(path, int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Found {
		t.Errorf("a restarted node took its previous run's exit line: %+v", info)
	}
	info, _ = readExit(path, 0)
	if !info.Found || info.Code != 3 {
		t.Errorf("readExit from 0 = %+v, want code 3", info)
	}
}

func TestProcessStateOfThisProcessAndOfAReusedPid(t *testing.T) {
	_, ticks, err := procStat(os.Getpid())
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	me := &NodeState{PID: os.Getpid(), StartTicks: ticks}
	if got := processState(me); got != ProcRunning {
		t.Errorf("this process is %s, want running", got)
	}
	reused := &NodeState{PID: os.Getpid(), StartTicks: ticks + 1}
	if got := processState(reused); got != ProcExited {
		t.Errorf("a pid with another start time is %s, want exited (never signal a stranger)", got)
	}
	if got := processState(&NodeState{}); got != ProcExited {
		t.Errorf("no pid is %s, want exited", got)
	}
}

func TestStartupGraceFromArgs(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "30s"},
		{[]string{"--startup-grace", "5s"}, "5s"},
		{[]string{"--startup-grace=12s", "--x"}, "12s"},
		{[]string{"-startup-grace=1m"}, "1m0s"},
	}
	for _, tt := range tests {
		if got := startupGrace(tt.args).String(); got != tt.want {
			t.Errorf("startupGrace(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}
