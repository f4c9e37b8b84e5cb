package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPServer serves /health*, /metrics and, when enabled, /debug/fault.
type HTTPServer struct {
	srv         *http.Server
	log         *slog.Logger
	closeStream func()
	ln          net.Listener
}

// NewHTTPServer builds the server; faults may be nil (fault injection off).
// closeStreams ends long-lived /health/events responses at the start of the
// drain so they never hold shutdown until its timeout.
func NewHTTPServer(addr string, health http.Handler, closeStreams func(), gatherer prometheus.Gatherer, faults http.Handler, log *slog.Logger) *HTTPServer {
	mux := http.NewServeMux()
	mux.Handle("/health", health)
	mux.Handle("/health/", health)
	mux.Handle("/metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{ErrorLog: slogPromLogger{log}}))
	if faults != nil {
		mux.Handle("/debug/fault", faults)
	}
	return &HTTPServer{
		log:         log,
		closeStream: closeStreams,
		srv: &http.Server{
			Addr:              addr,
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			// Streams on /health/events lift this deadline for themselves.
			WriteTimeout:   15 * time.Second,
			IdleTimeout:    60 * time.Second,
			MaxHeaderBytes: 16 << 10,
			ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		},
	}
}

// Start binds the address now, so a port in use is a start-up error (exit 1)
// rather than a log line from a goroutine, then serves in the background.
func (s *HTTPServer) Start() error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.srv.Addr, err)
	}
	s.ln = ln
	s.log.Info("http listening", "addr", ln.Addr().String())
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// Addr is the bound address (useful with port 0).
func (s *HTTPServer) Addr() string {
	if s.ln == nil {
		return s.srv.Addr
	}
	return s.ln.Addr().String()
}

// Stop drains in-flight requests within ctx.
func (s *HTTPServer) Stop(ctx context.Context) error {
	if s.closeStream != nil {
		s.closeStream()
	}
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
		return fmt.Errorf("http drain: %w", err)
	}
	return nil
}

type slogPromLogger struct{ log *slog.Logger }

func (l slogPromLogger) Println(v ...any) { l.log.Warn("metrics", "err", fmt.Sprint(v...)) }
