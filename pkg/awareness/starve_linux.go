package awareness

import (
	"bytes"
	"os"
	"strconv"
	"time"
)

// runQueueWait sums the run-queue wait of every thread of this process
// (/proc/self/task/*/schedstat, second field, nanoseconds). Threads that
// exited take their share with them, which only underestimates.
func runQueueWait() (time.Duration, bool) {
	d, err := os.Open("/proc/self/task")
	if err != nil {
		return 0, false
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return 0, false
	}
	var total int64
	for _, n := range names {
		b, err := os.ReadFile("/proc/self/task/" + n + "/schedstat")
		if err != nil {
			continue
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			continue
		}
		total += v
	}
	return time.Duration(total), true
}
