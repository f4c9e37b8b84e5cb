//go:build !linux

package health

import "time"

func runQueueWait() (time.Duration, bool) { return 0, false }
