// Command fakenode stands in for bin/meshhealth in the testnet's own tests:
// it takes the node's command line, serves /health, /health/summary,
// /metrics and /debug/fault the way the contract says, and ends with the
// node's `node stopped` log line. It has no mesh: its peer ID comes from
// its data dir, and its leader is the peer it bootstraps from (itself when
// it has none), so a local-mode testnet of fake nodes converges at once.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

func main() { os.Exit(run()) }

func run() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fs := flag.NewFlagSet("fakenode", flag.ContinueOnError)
	addr := fs.String("http", "127.0.0.1:8081", "")
	dataDir := fs.String("data-dir", "", "")
	var listen, bootstrap list
	fs.Var(&listen, "listen", "")
	fs.Var(&bootstrap, "bootstrap", "")
	fs.Bool("mdns", true, "")
	faults := fs.Bool("enable-fault-injection", false, "")
	fs.Duration("startup-grace", 30*time.Second, "")
	fs.Bool("shutdown-on-critical", true, "")
	if err := fs.Parse(os.Args[1:]); err != nil {
		// 78: the node's configuration-error exit code (EX_CONFIG).
		log.Error("node stopped", "exit_code", 78, "reason", err.Error())
		return 78
	}
	// The node writes the token /debug/fault requires to its data dir.
	const token = "fakenode-token-0123456789"
	if *faults {
		if err := os.WriteFile(filepath.Join(*dataDir, "fault-token"), []byte(token+"\n"), 0o600); err != nil {
			log.Error("node stopped", "exit_code", 1, "reason", err.Error())
			return 1
		}
	}
	id := "12D3KooWfake" + strings.ToUpper(filepath.Base(*dataDir))
	leader := id
	if len(bootstrap) > 0 {
		_, leader, _ = strings.Cut(bootstrap[0], "/p2p/")
	}
	var mu sync.Mutex
	status := "healthy"
	stop := make(chan string, 1)
	start := time.Now()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := status
		mu.Unlock()
		code := http.StatusOK
		if st != "healthy" && st != "degraded" {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{
			"status": st, "message": "fake", "score": 1.0, "node_id": id, "leader": leader, "term": 1,
			"components": map[string]float64{"pubsub": 1, "dht": 1, "p2p": 1, "election": 1, "resources": 1},
			"uptime":     time.Since(start).String(), "checks": map[string]any{},
		})
	})
	mux.HandleFunc("GET /health/summary", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"status": "healthy", "key_metrics": map[string]any{"connected_peers": len(bootstrap)}})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		isLeader := 0
		if leader == id {
			isLeader = 1
		}
		fmt.Fprintf(w, "# TYPE meshhealth_election_is_leader gauge\nmeshhealth_election_is_leader %d\nmeshhealth_election_term 1\n", isLeader)
	})
	if *faults {
		mux.HandleFunc("POST /debug/fault", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer "+token {
				http.Error(w, `{"error":"missing or wrong bearer token"}`, http.StatusUnauthorized)
				return
			}
			var req struct {
				Component, Fault string
				Clear            bool
			}
			json.NewDecoder(r.Body).Decode(&req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case req.Clear:
				status = "healthy"
			case req.Component == "network" && req.Fault == "isolate":
				status = "unhealthy"
				// A confirmed critical failure a moment later, as the real
				// node's debounce would.
				time.AfterFunc(300*time.Millisecond, func() { stop <- "critical check p2p-connectivity: 0 peers, want 1" })
			default:
				http.Error(w, "unknown fault", http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"active": []string{}})
		})
	}
	srv := &http.Server{Addr: *addr, Handler: mux}
	go func() {
		if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			stop <- "http: " + err.Error()
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	code, reason := 0, ""
	select {
	case s := <-sig:
		reason = "signal " + s.String()
	case reason = <-stop:
		code = 3
	}
	srv.Shutdown(context.Background())
	level := slog.LevelInfo
	if code != 0 {
		level = slog.LevelError
	}
	log.Log(context.Background(), level, "node stopped", "exit_code", code, "reason", reason)
	return code
}
