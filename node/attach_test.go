package node_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	"github.com/libp2p/go-libp2p/core/crypto"
	mocknet "github.com/libp2p/go-libp2p/p2p/net/mock"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// A node attached to an application's host that loses its last peer past
// the startup grace stops itself with code 3, as the process would exit,
// and leaves the application's host, GossipSub and DHT running.
func TestAttachedCriticalFailureStopsTheNodeNotTheApplication(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The application's GossipSub runs until its context ends.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		mn := mocknet.New()
		defer mn.Close()
		sk, _, err := crypto.GenerateEd25519Key(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		h, err := mn.AddPeer(sk, ma.StringCast("/ip4/100.64.0.1/tcp/4001"))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
		if err != nil {
			t.Fatal(err)
		}
		kad, err := dht.New(h, dht.Mode(dht.ModeServer), dht.ProtocolPrefix("/myapp"),
			dht.NamespacedValidator(node.RecordNamespace, node.RecordValidator()))
		if err != nil {
			t.Fatal(err)
		}
		defer kad.Close()

		cfg := node.Default()
		cfg.P2P.DataDir = t.TempDir()
		cfg.P2P.MDNS = false
		cfg.Health.ShutdownOnCritical = true // a lone node: connectivity fails
		a, err := node.Attach(ctx, cfg, node.Env{Host: h, PubSub: ps, DHT: kad}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/live", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("/health/live before any failure: %d, want 200", rec.Code)
		}

		select {
		case <-a.Done():
		case <-time.After(10 * time.Minute): // simulated: the bubble's clock
			t.Fatal("the lone node did not stop itself")
		}
		if code, reason := a.Wait(); code != shutdown.ExitCritical {
			t.Fatalf("stopped with code %d (%s), want %d", code, reason, shutdown.ExitCritical)
		}
		if err := a.Close(); err == nil {
			t.Error("Close after a critical stop: no error, want one saying it had stopped")
		}

		// The application's GossipSub and DHT still serve it.
		if _, err := ps.Join("myapp/still-here"); err != nil {
			t.Errorf("the application's GossipSub after the node stopped: %v", err)
		}
		if err := kad.PutValue(ctx, "/"+node.RecordNamespace+"/x", []byte("x")); err == nil {
			t.Error("an unsigned record was accepted: the validator is not in force")
		}
		if len(h.Network().Peers()) != 0 || len(h.Addrs()) == 0 {
			t.Errorf("the application's host: addrs %v", h.Addrs())
		}
	})
}
