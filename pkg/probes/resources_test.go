package probes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestResourcesFailsWhenOverAnyLimit(t *testing.T) {
	limits := ResourceLimits{MaxHeapBytes: 100, MaxRSSBytes: 200, MaxGoroutines: 10, MinFreeDiskBytes: 50}
	ok := Usage{HeapBytes: 50, RSSBytes: 100, Goroutines: 5, DiskFreeBytes: 500, DiskTotal: 1000}
	cases := []struct {
		name   string
		mutate func(*Usage)
		want   string // substring of the message; "" means healthy
	}{
		{"within limits", func(*Usage) {}, ""},
		{"heap", func(u *Usage) { u.HeapBytes = 101 }, "heap"},
		{"rss", func(u *Usage) { u.RSSBytes = 201 }, "rss"},
		{"goroutines", func(u *Usage) { u.Goroutines = 11 }, "goroutines 11 > 10"},
		{"disk", func(u *Usage) { u.DiskFreeBytes = 10 }, "free disk"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := ok
			c.mutate(&u)
			var util map[string]float64
			chk := Resources("", limits, func(string) (Usage, error) { return u, nil }, 15*time.Second, 2*time.Second,
				keyMetricFunc(func(name string, v any) {
					if name == "resource_utilization" {
						util = v.(map[string]float64)
					}
				}))
			if chk.Critical {
				t.Fatal("resources must not be critical: a node over a limit still serves")
			}
			r := chk.Checker(context.Background())
			if r.Healthy != (c.want == "") {
				t.Fatalf("healthy=%v, message %q", r.Healthy, r.Message)
			}
			if c.want != "" && !strings.Contains(r.Message, c.want) {
				t.Fatalf("message %q does not name %q", r.Message, c.want)
			}
			if util["memory"] != float64(u.RSSBytes)/200 || util["disk"] != 1-float64(u.DiskFreeBytes)/1000 {
				t.Fatalf("utilisation %v", util)
			}
		})
	}
}

func TestResourcesReportsReadError(t *testing.T) {
	chk := Resources("", DefaultResourceLimits(), func(string) (Usage, error) { return Usage{}, errors.New("no /proc") }, time.Second, time.Second, nil)
	r := chk.Checker(context.Background())
	if r.Healthy || r.Err == nil || !strings.Contains(r.Message, "no /proc") {
		t.Fatalf("got %+v", r)
	}
}

func TestReadUsageReadsThisProcess(t *testing.T) {
	u, err := ReadUsage(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u.RSSBytes == 0 || u.HeapBytes == 0 || u.Goroutines == 0 || u.DiskTotal == 0 {
		t.Fatalf("implausible usage %+v", u)
	}
}

func TestCPUMeterShare(t *testing.T) {
	var c cpuMeter
	t0 := time.Unix(0, 0)
	if got := c.share(1, t0); got != 0 {
		t.Fatalf("first reading %v, want 0", got)
	}
	if got := c.share(1.5, t0.Add(10*time.Second)); got != 0.05 {
		t.Fatalf("share %v, want 0.05", got)
	}
}
