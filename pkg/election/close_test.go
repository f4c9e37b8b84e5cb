package election

import (
	"log/slog"
	"testing"
	"time"

	"github.com/meshhealth/meshhealth/p2p/wire"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCloseFreesTheTopic(t *testing.T) {
	c := newCluster(t, 0, 1, fastConfig())
	raw := c.raw()[0]
	// The raw peer joined the topic; leave it so the election can.
	if err := raw.topic.Close(); err != nil {
		t.Fatal(err)
	}
	e, err := New(fastConfig(), raw.ps, raw.host.ID(), newFakeView(), wire.NewMetrics(nil), prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	c.eventually("a one-node mesh leads itself", 10*time.Second, func() bool { return e.State().IsLeader })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	e2, err := New(fastConfig(), raw.ps, raw.host.ID(), newFakeView(), nil, nil, nil)
	if err != nil {
		t.Fatalf("topic still held after Close: %v", err)
	}
	_ = e2.Close()
}
