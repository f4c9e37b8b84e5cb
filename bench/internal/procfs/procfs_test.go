package procfs

import (
	"os"
	"testing"
)

func TestStatTicksAddUserAndSystemTime(t *testing.T) {
	// A command name with spaces and a parenthesis, as a process may set.
	stat := []byte("4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1234 0 0 0 150 27 0 0 20 0 9 0 12345 1000000 2000 18446744073709551615\n")
	got, err := parseStatTicks(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 177 {
		t.Fatalf("ticks = %d, want 150+27", got)
	}
	if _, err := parseStatTicks([]byte("4242 (short) S 1")); err == nil {
		t.Fatal("a truncated stat line parsed")
	}
}

func TestVmRSSInBytes(t *testing.T) {
	got, err := parseVmRSS("Name:\tmeshhealth\nVmPeak:\t  900 kB\nVmRSS:\t   31480 kB\nThreads: 9\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != 31480*1024 {
		t.Fatalf("rss = %d", got)
	}
	if _, err := parseVmRSS("Name: x\n"); err == nil {
		t.Fatal("status without VmRSS parsed")
	}
}

func TestNetDevSumsInterfacesButLoopback(t *testing.T) {
	text := `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  999999     999    0    0    0     0          0         0   999999     999    0    0    0     0       0          0
mh1n0: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0
  eth1:  500 5 0 0 0 0 0 0 0 0 0 0 0 0 0 0
`
	got, err := parseNetDev(text)
	if err != nil {
		t.Fatal(err)
	}
	if got != (NetCounters{RxBytes: 1500, RxPackets: 15}) {
		t.Fatalf("counters = %+v", got)
	}
}

func TestOwnProcessIsReadable(t *testing.T) {
	pid := os.Getpid()
	if _, err := CPUTime(pid); err != nil {
		t.Fatalf("cpu time of self: %v", err)
	}
	rss, err := RSS(pid)
	if err != nil || rss == 0 {
		t.Fatalf("rss of self = %d, %v", rss, err)
	}
	if _, err := NetDev(pid); err != nil {
		t.Fatalf("net/dev of self: %v", err)
	}
}
