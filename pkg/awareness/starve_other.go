//go:build !linux

package awareness

import "time"

func runQueueWait() (time.Duration, bool) { return 0, false }
