package procfs

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// UserHZ is the unit of the CPU times in /proc/<pid>/stat: fixed at 100 by
// the kernel's user-space ABI whatever CONFIG_HZ is.
const UserHZ = 100

// CPUTime is the user plus system CPU time a process has used.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatTicks(b)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(ticks) * time.Second / UserHZ, nil
}

// parseStatTicks is utime + stime (fields 14 and 15) of a stat line. The
// command name (field 2) may hold spaces and parentheses; the fields after
// the last ')' are plain.
func parseStatTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command field")
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3; utime (14) is f[11], stime (15) is f[12].
	if len(f) < 13 {
		return 0, fmt.Errorf("%d fields", len(f)+2)
	}
	u, err := strconv.ParseUint(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime: %w", err)
	}
	s, err := strconv.ParseUint(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime: %w", err)
	}
	return u + s, nil
}

// RSS is the resident set size of a process in bytes (VmRSS).
func RSS(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	v, err := parseVmRSS(string(b))
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/status: %w", pid, err)
	}
	return v, nil
}

func parseVmRSS(status string) (uint64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS: %w", err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// NetCounters is received traffic summed over a namespace's interfaces,
// loopback excluded.
type NetCounters struct {
	RxBytes, RxPackets uint64
}

// NetDev reads the receive counters of the network namespace that pid
// lives in (/proc/<pid>/net/dev shows the process's own namespace).
func NetDev(pid int) (NetCounters, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return NetCounters{}, err
	}
	c, err := parseNetDev(string(b))
	if err != nil {
		return NetCounters{}, fmt.Errorf("/proc/%d/net/dev: %w", pid, err)
	}
	return c, nil
}

func parseNetDev(text string) (NetCounters, error) {
	var c NetCounters
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.Contains(name, "|") {
			continue // the two header lines
		}
		if strings.TrimSpace(name) == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return c, fmt.Errorf("interface %s: %d fields", strings.TrimSpace(name), len(f))
		}
		bytes, err1 := strconv.ParseUint(f[0], 10, 64)
		pkts, err2 := strconv.ParseUint(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			return c, fmt.Errorf("interface %s: bad counters", strings.TrimSpace(name))
		}
		c.RxBytes += bytes
		c.RxPackets += pkts
	}
	return c, sc.Err()
}
