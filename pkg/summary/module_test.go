package summary

import (
	"context"
	"testing"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/meshhealth/meshhealth/p2p/wire"
)

func TestModuleProvidesAStartedBook(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mn := mocknet.New()
	defer mn.Close()
	h, err := mn.GenPeer()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pubsub.NewGossipSub(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	topic, err := ps.Join(wire.TopicSummary)
	if err != nil {
		t.Fatal(err)
	}
	var b *Book
	app := fxtest.New(t,
		fx.Supply(
			fx.Annotate(topic, fx.As(new(Topic))),
			h.ID(),
			Source(healthyValues),
			fx.Annotate(prometheus.NewRegistry(), fx.As(new(prometheus.Registerer))),
		),
		Module,
		fx.Populate(&b),
	)
	app.RequireStart()
	if b == nil || b.self != h.ID() {
		t.Fatal("no book")
	}
	app.RequireStop()
}
