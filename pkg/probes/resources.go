package probes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshhealth/meshhealth/internal/fielderr"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// CheckResources is the name of the process resources check.
const CheckResources = "resources"

// ResourceLimits bounds what a healthy node may use. A node over a limit is
// degraded, not dead: the check is not critical.
type ResourceLimits struct {
	MaxHeapBytes  uint64 `yaml:"max_heap_bytes" flag:"max-heap-bytes" usage:"heap above which the resources check fails"`
	MaxRSSBytes   uint64 `yaml:"max_rss_bytes" flag:"max-rss-bytes" usage:"RSS above which the resources check fails"`
	MaxGoroutines int    `yaml:"max_goroutines" flag:"max-goroutines" usage:"goroutines above which the resources check fails"`
	// MinFreeDiskBytes guards the data directory: the identity key and the
	// restart-loop guard are written there, and a full disk makes both fail.
	MinFreeDiskBytes uint64 `yaml:"min_free_disk_bytes" flag:"min-free-disk-bytes" usage:"free space in the data dir below which the resources check fails"`
}

// DefaultResourceLimits are generous: an idle node uses tens of MB and a few
// hundred goroutines, so crossing these means a leak, not load.
func DefaultResourceLimits() ResourceLimits {
	return ResourceLimits{
		MaxHeapBytes:     1 << 30,
		MaxRSSBytes:      2 << 30,
		MaxGoroutines:    20000,
		MinFreeDiskBytes: 100 << 20,
	}
}

// Validate returns one fielderr.Error per bad limit.
func (l ResourceLimits) Validate() error {
	var errs fielderr.List
	if l.MaxHeapBytes == 0 {
		errs.Add("MaxHeapBytes", "must be > 0")
	}
	if l.MaxRSSBytes == 0 {
		errs.Add("MaxRSSBytes", "must be > 0")
	}
	if l.MaxGoroutines < 1 {
		errs.Add("MaxGoroutines", "must be >= 1, got %d", l.MaxGoroutines)
	}
	return errs.Err()
}

// Usage is one reading of the process's resources.
type Usage struct {
	HeapBytes     uint64
	RSSBytes      uint64
	Goroutines    int
	DiskFreeBytes uint64
	DiskTotal     uint64
	CPUSeconds    float64 // user+system CPU time of the process so far
}

// UsageReader reads the current usage; the real one reads runtime metrics,
// /proc and statfs, tests substitute their own numbers.
type UsageReader func(dataDir string) (Usage, error)

// Resources builds the resources check. Each run shows the utilisation
// fractions as the key metric resource_utilization on km (nil: nowhere).
func Resources(dataDir string, limits ResourceLimits, read UsageReader, interval, timeout time.Duration, km KeyMetrics) health.Check {
	if read == nil {
		read = ReadUsage
	}
	cpu := &cpuMeter{}
	return health.Check{
		Name:        CheckResources,
		Component:   health.ComponentResources,
		Description: "heap, RSS, goroutines and free disk of the data dir within limits",
		Interval:    interval,
		Timeout:     timeout,
		Checker: func(ctx context.Context) health.Result {
			u, err := read(dataDir)
			if err != nil {
				return health.Result{Message: "reading resource usage: " + err.Error(), Err: err}
			}
			var over []string
			if u.HeapBytes > limits.MaxHeapBytes {
				over = append(over, fmt.Sprintf("heap %s > %s", mib(u.HeapBytes), mib(limits.MaxHeapBytes)))
			}
			if u.RSSBytes > limits.MaxRSSBytes {
				over = append(over, fmt.Sprintf("rss %s > %s", mib(u.RSSBytes), mib(limits.MaxRSSBytes)))
			}
			if u.Goroutines > limits.MaxGoroutines {
				over = append(over, fmt.Sprintf("goroutines %d > %d", u.Goroutines, limits.MaxGoroutines))
			}
			if u.DiskTotal > 0 && u.DiskFreeBytes < limits.MinFreeDiskBytes {
				over = append(over, fmt.Sprintf("free disk %s < %s", mib(u.DiskFreeBytes), mib(limits.MinFreeDiskBytes)))
			}
			util := map[string]float64{
				"cpu":    cpu.share(u.CPUSeconds, time.Now()),
				"memory": ratio(u.RSSBytes, limits.MaxRSSBytes),
				"disk":   0,
			}
			if u.DiskTotal > 0 {
				util["disk"] = 1 - float64(u.DiskFreeBytes)/float64(u.DiskTotal)
			}
			if km != nil {
				km.SetKeyMetric("resource_utilization", util)
			}
			r := health.Result{
				Healthy: len(over) == 0,
				Details: map[string]any{
					"heap_bytes":      u.HeapBytes,
					"rss_bytes":       u.RSSBytes,
					"goroutines":      u.Goroutines,
					"disk_free_bytes": u.DiskFreeBytes,
					"cpu_share":       util["cpu"],
				},
			}
			if r.Healthy {
				r.Message = fmt.Sprintf("heap %s, rss %s, %d goroutines, %s free", mib(u.HeapBytes), mib(u.RSSBytes), u.Goroutines, mib(u.DiskFreeBytes))
			} else {
				r.Message = "over limit: " + strings.Join(over, ", ")
			}
			return r
		},
	}
}

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// cpuMeter turns cumulative CPU seconds into the share of one core used
// since the previous reading.
type cpuMeter struct {
	mu       sync.Mutex
	lastCPU  float64
	lastWall time.Time
}

func (c *cpuMeter) share(cpuSeconds float64, now time.Time) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() { c.lastCPU, c.lastWall = cpuSeconds, now }()
	if c.lastWall.IsZero() {
		return 0
	}
	wall := now.Sub(c.lastWall).Seconds()
	if wall <= 0 {
		return 0
	}
	return (cpuSeconds - c.lastCPU) / wall
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

// ReadUsage reads the real process's usage. runtime/metrics rather than
// ReadMemStats, which stops the world.
func ReadUsage(dataDir string) (Usage, error) {
	var u Usage
	s := make([]metrics.Sample, len(heapSample))
	copy(s, heapSample)
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		u.HeapBytes = s[0].Value.Uint64()
	}
	u.Goroutines = runtime.NumGoroutine()
	rss, cpu, err := readProcSelf()
	if err != nil {
		return u, err
	}
	u.RSSBytes, u.CPUSeconds = rss, cpu
	if dataDir != "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dataDir, &st); err != nil {
			return u, fmt.Errorf("statfs %s: %w", dataDir, err)
		}
		u.DiskFreeBytes = st.Bavail * uint64(st.Bsize)
		u.DiskTotal = st.Blocks * uint64(st.Bsize)
	}
	return u, nil
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

func readProcSelf() (rss uint64, cpuSeconds float64, err error) {
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, fmt.Errorf("reading /proc/self/statm: %w", err)
	}
	f := strings.Fields(string(statm))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("unexpected /proc/self/statm %q", statm)
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parsing /proc/self/statm: %w", err)
	}
	rss = pages * uint64(os.Getpagesize())

	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return rss, 0, fmt.Errorf("reading /proc/self/stat: %w", err)
	}
	// The command name may contain spaces; fields start after its ')'.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return rss, 0, fmt.Errorf("unexpected /proc/self/stat")
	}
	fs := strings.Fields(s[i+1:])
	// utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
	if len(fs) < 13 {
		return rss, 0, fmt.Errorf("unexpected /proc/self/stat: %d fields", len(fs))
	}
	ut, err1 := strconv.ParseUint(fs[11], 10, 64)
	st, err2 := strconv.ParseUint(fs[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return rss, 0, fmt.Errorf("parsing /proc/self/stat: %w", err)
	}
	return rss, float64(ut+st) / clockTicks, nil
}
