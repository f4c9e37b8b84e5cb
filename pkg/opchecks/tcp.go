package opchecks

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// tcpChecker passes when a connection to addr opens; it closes it at once.
func tcpChecker(addr string) health.Checker {
	var d net.Dialer
	return func(ctx context.Context) health.Result {
		start := time.Now()
		conn, err := d.DialContext(ctx, "tcp", addr)
		lat := time.Since(start)
		if err != nil {
			return health.Result{Message: fmt.Sprintf("connect %s: %v", addr, err), Err: err, Latency: lat}
		}
		_ = conn.Close()
		return health.Result{Healthy: true, Message: "connected to " + addr, Latency: lat}
	}
}
