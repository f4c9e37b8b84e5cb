package testnet

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// dialInNetns opens a TCP connection from inside the named network
// namespace. A partitioned node's link is down, so the host cannot reach
// its HTTP endpoint through the bridge; from inside its namespace the
// node's own address is still local, and the testnet can watch it react to
// the partition. The socket keeps its namespace after the thread returns to
// the host's.
func dialInNetns(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := dialFromNetns(ctx, ns, network, addr)
		ch <- result{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.c != nil {
				r.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func dialFromNetns(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	// The namespace is a property of the OS thread: pin this goroutine to
	// it for the switch and the socket's creation.
	runtime.LockOSThread()
	host, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dial in netns %s: %w", ns, err)
	}
	defer host.Close()
	target, err := os.Open("/var/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dial in netns %s: %w", ns, err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("dial in netns %s: setns: %w", ns, err)
	}
	var d net.Dialer
	c, dialErr := d.DialContext(ctx, network, addr)
	if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWNET); err != nil {
		// Leave the thread locked: the runtime ends a thread whose
		// goroutine exits while locked, so no other goroutine inherits the
		// wrong namespace.
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("dial in netns %s: return to host namespace: %w", ns, err)
	}
	runtime.UnlockOSThread()
	return c, dialErr
}
