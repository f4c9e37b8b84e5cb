package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/awareness"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
)

// startTimeout bounds fx's start phase: binding ports, joining topics.
const startTimeout = time.Minute

// part is one component of the node's lifecycle: how it starts, and how it
// stops within its timeout.
type part struct {
	name    string // its step in the shutdown's logs and metrics
	start   func(context.Context) error
	stop    func(context.Context) error
	timeout time.Duration
}

// lifecycle gives every component's start and stop to fx, once, in start
// order: fx starts them in this order and stops them in reverse, each stop
// wrapped as a step of the shutdown (its timeout, log line and metrics).
// The shutdown manager drives that stop (StartApp), after its pre-shutdown
// phase has turned /health to 503, resigned leadership and said goodbye.
//
// GossipSub stops first, in a hook of the shutdown phase that runs before
// the parts' stops, so that none of them leaves a topic while it runs. Then
// in reverse: probing and the summaries; the election; the health manager;
// the HTTP server, which answered 503 throughout; the awareness, which
// every part above judges its evidence by until it stops; the rest of
// libp2p last, since the checks above it dial and ping through it until
// then.
func lifecycle(lc fx.Lifecycle, sm *shutdown.Manager, n *p2p.Node, aw *awareness.Awareness, s *HTTPServer, hm *health.Manager, e *election.Election, m *Mesh) {
	for _, p := range []part{
		// Started by its constructor: the others are built on it.
		{"libp2p", nil, func(context.Context) error { return n.Close() }, 5 * time.Second},
		{"awareness", aw.Start, func(context.Context) error { aw.Stop(); return nil }, time.Second},
		{"http", func(context.Context) error { return s.Start() }, s.Stop, 5 * time.Second},
		{"health", hm.Start, func(context.Context) error { hm.Stop(); return nil }, 2 * time.Second},
		{"election", e.Start, func(context.Context) error { return e.Close() }, 2 * time.Second},
		{"probes", m.Start, m.Stop, 2 * time.Second},
	} {
		lc.Append(fx.Hook{OnStart: p.start, OnStop: sm.Step(p.name, p.timeout, p.stop)})
	}
	// Before any part leaves its topics: leaving would leave each peer a
	// GossipSub backoff for this node's ID that outlives the process and
	// keeps it out of their mesh once restarted (p2p.Node.StopGossip). The
	// pre-shutdown phase has published the node's last messages; this waits
	// for them to be written, then GossipSub stops.
	sm.AddHook(shutdown.PhaseShutdown, "gossipsub", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		return n.StopGossip(ctx)
	})
}

// opened holds how to close what each constructor has opened (the libp2p
// node, joined topics, listeners' goroutines); each constructor adds a
// close right after it opens something. fx runs the stop hooks only of
// the parts that started, so when a later constructor fails (fx.New
// returns an error) nothing else would close them, and when a start fails
// nothing would close the parts after it: a test or a program embedding
// the node would keep a running host or goroutines. StartApp closes them
// then, newest first; each close may find its part stopped already. Once
// the node has started, the lifecycle owns every stop (lifecycle).
type opened struct {
	mu     sync.Mutex
	closes []func() error
}

func (o *opened) add(close func() error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closes = append(o.closes, close)
}

// closeAll closes everything added, newest first, and forgets it.
func (o *opened) closeAll() error {
	o.mu.Lock()
	closes := o.closes
	o.closes = nil
	o.mu.Unlock()
	var errs []error
	for i := len(closes) - 1; i >= 0; i-- {
		errs = append(errs, closes[i]())
	}
	return errors.Join(errs...)
}

// StartApp builds the node's fx app from opts and starts it, having first
// given its stop to sm: every stop, whatever its reason, goes through the
// shutdown manager, which calls app.Stop in its shutdown phase. A stop
// asked for while the app is still being built or started waits for that
// to end, so it stops whatever started. On an error nothing is left
// running: fx stops the parts that had started, and StartApp closes what
// the constructors opened (opened). The caller still shuts sm down, for
// its reason and exit code.
func StartApp(ctx context.Context, sm *shutdown.Manager, opts ...fx.Option) (*fx.App, error) {
	var app *fx.App
	ready := make(chan struct{})
	sm.StopWith(func(ctx context.Context) error {
		select {
		case <-ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		return app.Stop(ctx)
	})
	defer close(ready)
	built := &opened{}
	app = fx.New(append(opts, fx.Supply(built))...)
	err := app.Err()
	if err == nil {
		startCtx, cancel := context.WithTimeout(ctx, startTimeout)
		defer cancel()
		err = app.Start(startCtx)
	}
	if err != nil {
		if cerr := built.closeAll(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("closing what the constructors opened: %w", cerr))
		}
	}
	return app, err
}
