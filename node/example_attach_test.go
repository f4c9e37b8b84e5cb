package node_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
	pubsub "github.com/libp2p/go-libp2p-pubsub"

	"github.com/meshhealth/meshhealth/node"
)

// A go-libp2p application attaches meshhealth to its own host, GossipSub
// and DHT, and serves its health endpoints on its own HTTP mux.
func ExampleAttach() {
	ctx := context.Background()

	// The application's own libp2p stack.
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"))
	if err != nil {
		log.Fatal(err)
	}
	defer h.Close()
	// Strict signing: meshhealth takes a message's origin to be its author.
	ps, err := pubsub.NewGossipSub(ctx, h, pubsub.WithMessageSignaturePolicy(pubsub.StrictSign))
	if err != nil {
		log.Fatal(err)
	}
	// The DHT accepts meshhealth's probe records, signed by their origin.
	kad, err := dht.New(h, dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix("/myapp"),
		dht.NamespacedValidator(node.RecordNamespace, node.RecordValidator()))
	if err != nil {
		log.Fatal(err)
	}
	defer kad.Close()

	dir, err := os.MkdirTemp("", "meshhealth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg := node.Default()
	cfg.P2P.DataDir = dir // the restart-loop guard's history
	cfg.P2P.MDNS = false  // discovery is the application's

	mh, err := node.Attach(ctx, cfg, node.Env{Host: h, PubSub: ps, DHT: kad}, nil)
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/health", mh.Handler())
	mux.Handle("/health/", mh.Handler())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/live", nil))
	fmt.Println("/health/live:", rec.Code)

	if err := mh.Close(); err != nil {
		log.Fatal(err)
	}
	code, reason := mh.Wait()
	fmt.Println("stopped:", code, reason)
	// Output:
	// /health/live: 200
	// stopped: 0 closed by the application
}
