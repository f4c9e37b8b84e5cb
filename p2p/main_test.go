package p2p

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// mocknet's streams wind down asynchronously after their connection
		// closes, so a goroutine blocked inside one (a DHT handler reading a
		// request) may outlive the last test by a moment under -race on a
		// busy machine. Only those, as in node/nodetest: a goroutine of ours
		// not parked in a mocknet stream is still a leak.
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).transport"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).Read"),
		goleak.IgnoreAnyFunction("github.com/libp2p/go-libp2p/p2p/net/mock.(*stream).Write"),
	)
}
