package shutdown

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuffer collects a manager's log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) Contains(s string) bool { return strings.Contains(b.String(), s) }

type fixture struct {
	m   *Manager
	reg *prometheus.Registry
	log *logBuffer
	lc  *lifecycle
}

func newFixture(t *testing.T, cfg Config) fixture {
	t.Helper()
	f := fixture{reg: prometheus.NewRegistry(), log: &logBuffer{}, lc: &lifecycle{}}
	h := slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug})
	f.m = New(cfg, f.reg, slog.New(h))
	f.m.StopWith(f.lc.stop)
	return f
}

// component appends a component to the fixture's lifecycle: components
// are appended in start order and stop in reverse, as fx's do.
func (f fixture) component(name string, timeout time.Duration, stop func(context.Context) error) {
	f.lc.stops = append(f.lc.stops, f.m.Step(name, timeout, stop))
}

// lifecycle stands in for fx's: it calls the stops in reverse, keeps going
// after errors, and gives up once its context ends.
type lifecycle struct{ stops []func(context.Context) error }

func (lc *lifecycle) stop(ctx context.Context) error {
	var errs []error
	for i := len(lc.stops) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := lc.stops[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recorder records the order in which steps run.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) step(name string) func(context.Context) error {
	return func(context.Context) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls = append(r.calls, name)
		return nil
	}
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// ignoresContext returns a stop function that hangs whatever its context
// says, until the test ends (so the abandoned goroutine can exit and
// goleak and synctest see a clean finish).
func ignoresContext(t *testing.T) func(context.Context) error {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return func(context.Context) error {
		<-release
		return nil
	}
}

// waitDone fails the test instead of hanging it when a shutdown never ends.
// Outside a synctest bubble this is a watchdog, not a timing assertion.
func waitDone(t *testing.T, m *Manager) {
	t.Helper()
	select {
	case <-m.Done():
	case <-time.After(time.Minute):
		t.Fatal("shutdown never completed")
	}
}

func names(rs []StepReport) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Kind + ":" + r.Name
	}
	return out
}

// The Manager must satisfy health.CriticalHandler without importing it.
var _ interface {
	HandleCritical(reason string) (stopping bool)
} = (*Manager)(nil)
