package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPServer serves /health*, /metrics and, when enabled, /debug/fault.
type HTTPServer struct {
	// MaxConns caps open connections (0: no cap); set it before Start.
	// The ones beyond it are answered 503 with Retry-After and closed,
	// rather than left waiting in the accept queue as a blocking limit
	// would: a prober that gets an answer knows to come back.
	MaxConns int

	// NoListen leaves the address unbound: an attached node's application
	// serves Handler itself (Attach).
	NoListen bool

	srv         *http.Server
	mux         *http.ServeMux
	log         *slog.Logger
	closeStream func()
	ln          net.Listener
	open        atomic.Int64
	rejected    atomic.Uint64
}

// overCapDeadline bounds how long a connection over the cap may take to
// send its request and read the 503: a flood of them cannot pile up.
const overCapDeadline = 2 * time.Second

type overCapKey struct{}

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
	s := &HTTPServer{
		mux:         mux,
		log:         log,
		closeStream: closeStreams,
	}
	s.srv = &http.Server{
		Addr:    addr,
		Handler: s.capped(mux),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if tc, ok := c.(*countedConn); ok && tc.over {
				return context.WithValue(ctx, overCapKey{}, true)
			}
			return ctx
		},
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		// Streams on /health/events lift this deadline for themselves.
		WriteTimeout:   15 * time.Second,
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s
}

// capped answers every request on a connection over the cap with 503.
func (s *HTTPServer) capped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Context().Value(overCapKey{}) == nil {
			next.ServeHTTP(w, r)
			return
		}
		s.rejected.Add(1)
		h := w.Header()
		h.Set("Retry-After", "1")
		h.Set("Connection", "close")
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "{\"error\":\"too many HTTP connections (at most %d): retry later\"}\n", s.MaxConns)
	})
}

// RegisterMetrics exports the connection cap's effect.
func (s *HTTPServer) RegisterMetrics(reg prometheus.Registerer) error {
	return errors.Join(
		reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "meshhealth_http_open_connections",
			Help: "Open connections to the HTTP server (health, metrics, fault injection).",
		}, func() float64 { return float64(s.open.Load()) })),
		reg.Register(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "meshhealth_http_connections_rejected_total",
			Help: "Requests answered 503 because their connection was over --max-http-connections.",
		}, func() float64 { return float64(s.rejected.Load()) })),
	)
}

// countedListener counts open connections and marks those over the cap.
type countedListener struct {
	net.Listener
	s *HTTPServer
}

func (l countedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &countedConn{Conn: c, s: l.s}
	if n := l.s.open.Add(1); l.s.MaxConns > 0 && n > int64(l.s.MaxConns) {
		tc.over = true
		_ = c.SetDeadline(time.Now().Add(overCapDeadline))
	}
	return tc, nil
}

type countedConn struct {
	net.Conn
	s      *HTTPServer
	over   bool
	closed sync.Once
}

func (c *countedConn) Close() error {
	c.closed.Do(func() { c.s.open.Add(-1) })
	return c.Conn.Close()
}

// Handle adds a route; call it before Start.
func (s *HTTPServer) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Start binds the address now, so a port in use is a start-up error (exit 1)
// rather than a log line from a goroutine, then serves in the background.
func (s *HTTPServer) Start() error {
	if s.NoListen {
		return nil
	}
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.srv.Addr, err)
	}
	s.ln = ln
	s.log.Info("http listening", "addr", ln.Addr().String())
	go func() {
		if err := s.srv.Serve(countedListener{ln, s}); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server", "err", err)
		}
	}()
	return nil
}

// Handler serves what the listener serves (/health, /health/*, /,
// /metrics, /debug/fault when enabled), without the listener's
// connection cap: an application that mounts it caps its own server.
func (s *HTTPServer) Handler() http.Handler { return s.mux }

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
