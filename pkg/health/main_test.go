package health

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/meshhealth/meshhealth/pkg/awareness"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is DefaultConfig without jitter, so that runs fall on exact
// instants of the fake clock.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.NodeID, cfg.Version, cfg.Jitter = "node-1", "v-test", 0
	// No grace, so a rule's test sees every failure counted from the first
	// run; the start-up tests set a grace of their own (graceConfig).
	cfg.StartupGrace = 0
	return cfg
}

func graceConfig() Config {
	cfg := testConfig()
	cfg.StartupGrace = 30 * time.Second
	return cfg
}

func newManager(t *testing.T, cfg Config) (*Manager, *prometheus.Registry) {
	t.Helper()
	// An awareness that is never started never finds this process
	// stalled: the kernel's run-queue wait is real time, while inside a
	// synctest bubble the clock is fake, so a loaded machine would look
	// starved and turn failures into local stalls at random. Stalls have
	// their own tests (core_test.go, pkg/awareness), and
	// TestLocalStallFailureIsRecordedButNotCounted starves one on purpose.
	return newManagerAware(t, cfg, quietAwareness(t))
}

func newManagerAware(t *testing.T, cfg Config, aw *awareness.Awareness) (*Manager, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewManager(cfg, aw, reg, nil)
	if err != nil {
		t.Fatalf("NewManager: %v", err)
	}
	return m, reg
}

func quietAwareness(t *testing.T) *awareness.Awareness {
	t.Helper()
	aw, err := awareness.New(awareness.Config{RunQueueWait: func() (time.Duration, bool) { return 0, false }}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return aw
}

func mustRegister(t *testing.T, m *Manager, c Check) {
	t.Helper()
	if err := m.Register(c); err != nil {
		t.Fatalf("Register(%s): %v", c.Name, err)
	}
}

func start(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// advance moves the fake clock of the synctest bubble by d and lets every
// goroutine settle. Inside a bubble time.Sleep does not sleep: it waits for
// the bubble to be idle and jumps the clock.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// toggle is a checker whose verdict the test sets.
type toggle struct {
	ok      atomic.Bool
	calls   atomic.Int64
	msg     atomic.Pointer[string]
	latency atomic.Int64 // reported latency, ns; 0: let the manager measure
}

func newToggle(ok bool) *toggle {
	tg := &toggle{}
	tg.ok.Store(ok)
	return tg
}

func (tg *toggle) set(ok bool, msg string) {
	tg.ok.Store(ok)
	tg.msg.Store(&msg)
}

func (tg *toggle) check(context.Context) Result {
	tg.calls.Add(1)
	r := Result{Healthy: tg.ok.Load(), Latency: time.Duration(tg.latency.Load())}
	if p := tg.msg.Load(); p != nil {
		r.Message = *p
	} else if r.Healthy {
		r.Message = "fine"
	} else {
		r.Message = "broken"
	}
	return r
}

// blocker is a checker that ignores its context and blocks until released.
type blocker struct {
	entered chan struct{} // receives once per call that starts
	release chan struct{}
	once    sync.Once
	calls   atomic.Int64
}

func newBlocker() *blocker {
	return &blocker{entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (b *blocker) check(context.Context) Result {
	b.calls.Add(1)
	b.entered <- struct{}{}
	<-b.release
	return Result{Healthy: true, Message: "released"}
}

func (b *blocker) free() { b.once.Do(func() { close(b.release) }) }

// get serves one request through the handler and decodes a JSON body into
// a map (nil for non-JSON bodies).
func get(t *testing.T, h http.Handler, target string, hdr ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if ct := rec.Header().Get("Content-Type"); ct == contentJSON || ct == contentHealthJSON {
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET %s: body is not JSON: %v\n%s", target, err, rec.Body)
		}
	}
	return rec, body
}

func checkView(t *testing.T, m *Manager, name string) CheckView {
	t.Helper()
	v, ok := m.Snapshot().Checks[name]
	if !ok {
		t.Fatalf("check %s not in snapshot", name)
	}
	return v
}
