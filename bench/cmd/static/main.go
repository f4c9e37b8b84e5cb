// Command static is the baseline of the /health throughput benchmark: a
// plain net/http server that answers each configured path with fixed bytes
// (captured from a node's /health a moment before), the same status and
// the same headers, and does nothing else. Whatever the node spends beyond
// this is the cost of its health layer.
//
// Usage: static -manifest FILE [-addr 127.0.0.1:0]. It prints
// "listening ADDR" on stdout once bound and serves until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Manifest maps each path to its canned response.
type Manifest struct {
	Routes map[string]Response `json:"routes"`
}

// Response is one canned answer.
type Response struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"body"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	manifest := flag.String("manifest", "", "JSON file of {routes: {path: {status, headers, body}}}")
	flag.Parse()
	if err := run(*addr, *manifest); err != nil {
		fmt.Fprintln(os.Stderr, "static:", err)
		os.Exit(1)
	}
}

func run(addr, manifest string) error {
	b, err := os.ReadFile(manifest)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("manifest %s: %w", manifest, err)
	}
	if len(m.Routes) == 0 {
		return fmt.Errorf("manifest %s: no routes", manifest)
	}
	mux := http.NewServeMux()
	for path, r := range m.Routes {
		mux.Handle(path, handler(r))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The node's server timeouts, so the two differ only in the handler.
	srv := &http.Server{
		Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 15 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10,
	}
	fmt.Printf("listening %s\n", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}

func handler(r Response) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		for k, v := range r.Headers {
			h.Set(k, v)
		}
		w.WriteHeader(r.Status)
		w.Write(r.Body)
	})
}
