package health

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// seriesOf lists the label values of every gathered series that carries
// label with value.
func seriesWith(t *testing.T, reg *prometheus.Registry, label, value string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if hasLabel(m, label, value) {
				out = append(out, mf.GetName())
			}
		}
	}
	return out
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestUnregisteredCheckLeavesHealthMetricsAndScoreAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, reg := newManager(t, testConfig())
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Interval: 5 * time.Second,
			Timeout: time.Second, Checker: newToggle(true).check})
		web := newToggle(false)
		mustRegister(t, m, Check{Name: "web", Component: "web", Interval: 5 * time.Second,
			Timeout: time.Second, Checker: web.check})
		start(t, m)
		defer m.Stop()
		advance(2 * time.Second) // three failures: web is failing
		if st := m.Status(); st != StatusDegraded {
			t.Fatalf("status with web failing = %s, want degraded", st)
		}
		if len(seriesWith(t, reg, "check", "web")) == 0 || len(seriesWith(t, reg, "component", "web")) == 0 {
			t.Fatal("web has no series before it is unregistered")
		}

		if err := m.Unregister("web"); err != nil {
			t.Fatal(err)
		}
		snap := m.Snapshot()
		if _, ok := snap.Checks["web"]; ok {
			t.Error("web still in the snapshot")
		}
		if _, ok := snap.Components["web"]; ok {
			t.Error("component web still scored")
		}
		if snap.Status != StatusHealthy || snap.Score != 1 {
			t.Errorf("after unregistering web: %s %v, want healthy 1", snap.Status, snap.Score)
		}
		if s := seriesWith(t, reg, "check", "web"); len(s) > 0 {
			t.Errorf("series of web left: %v", s)
		}
		if s := seriesWith(t, reg, "component", "web"); len(s) > 0 {
			t.Errorf("component series of web left: %v", s)
		}
		rec, _ := get(t, m.Handler(), "/health/checks/web")
		if rec.Code != 404 {
			t.Errorf("/health/checks/web = %d, want 404", rec.Code)
		}
		if err := m.Unregister("web"); err == nil {
			t.Error("a second Unregister succeeded")
		}

		// The name is free again, and the new check starts afresh.
		mustRegister(t, m, Check{Name: "web", Component: "web", Interval: 5 * time.Second,
			Timeout: time.Second, Checker: newToggle(true).check})
		advance(time.Second)
		if v := checkView(t, m, "web"); v.State != StatePassing || v.LastFailure != (time.Time{}) {
			t.Errorf("re-registered web = %s, last failure %v; want passing with no failure", v.State, v.LastFailure)
		}
	})
}

// A run under way when its check is unregistered ends unseen: neither the
// old check nor a new one of the same name gets its result.
func TestRunOfAnUnregisteredCheckIsIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		b := newBlocker()
		mustRegister(t, m, Check{Name: "slow", Component: "web", Interval: 5 * time.Second, Timeout: time.Second, Checker: b.check})
		start(t, m)
		defer m.Stop()
		<-b.entered
		if err := m.Unregister("slow"); err != nil {
			t.Fatal(err)
		}
		tg := newToggle(false)
		mustRegister(t, m, Check{Name: "slow", Component: "web", Interval: 5 * time.Second, Timeout: time.Second,
			FailureThreshold: 1, Checker: tg.check})
		advance(100 * time.Millisecond)
		b.free() // the old run returns "released", healthy
		advance(100 * time.Millisecond)
		v := checkView(t, m, "slow")
		if v.State != StateFailing || v.Message != "broken" || len(m.Snapshot().History("slow")) != 1 {
			t.Errorf("new check = %s %q with %d results; the old run's result must not count",
				v.State, v.Message, len(m.Snapshot().History("slow")))
		}
	})
}

func TestCheckHistoryKeepsLastSuccessFailureAndRecentResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		tg := newToggle(true)
		mustRegister(t, m, Check{Name: "web", Component: "web", Interval: 5 * time.Second, Timeout: time.Second,
			FailureThreshold: 1, Checker: tg.check})
		t0 := time.Now()
		start(t, m)
		defer m.Stop()
		advance(time.Second) // pass at 0
		tg.set(false, "connection refused")
		advance(5 * time.Second) // fail at 5: failing
		tg.set(true, "200 OK")
		advance(5 * time.Second) // pass at 10

		v := checkView(t, m, "web")
		if !v.LastSuccess.Equal(t0.Add(10*time.Second)) || !v.LastFailure.Equal(t0.Add(5*time.Second)) {
			t.Errorf("last success %v, last failure %v; want +10s and +5s", v.LastSuccess.Sub(t0), v.LastFailure.Sub(t0))
		}
		h := m.Handler()
		rec, body := get(t, h, "/health/checks/web?history=2")
		hist, _ := body["history"].([]any)
		if rec.Code != 200 || len(hist) != 2 {
			t.Fatalf("?history=2: %d with %d results, want 200 and 2", rec.Code, len(hist))
		}
		first, last := hist[0].(map[string]any), hist[1].(map[string]any)
		if first["message"] != "connection refused" || first["result"] != "failure" || last["message"] != "200 OK" {
			t.Errorf("?history=2 = %v, want the failure then the recovery, oldest first", hist)
		}
		for _, k := range []string{"timestamp", "latency", "result", "message"} {
			if _, ok := last[k]; !ok {
				t.Errorf("history entry lacks %s: %v", k, last)
			}
		}
		if _, body := get(t, h, "/health/checks/web"); len(body["history"].([]any)) != 3 {
			t.Errorf("without ?history: %d results, want all 3", len(body["history"].([]any)))
		}
		if _, body := get(t, h, "/health/checks/web?history=0"); len(body["history"].([]any)) != 0 {
			t.Errorf("?history=0: %d results, want none", len(body["history"].([]any)))
		}
		for _, bad := range []string{"-1", "x", ""} {
			if rec, _ := get(t, h, "/health/checks/web?history="+bad); rec.Code != 400 {
				t.Errorf("?history=%s = %d, want 400", bad, rec.Code)
			}
		}
		_, body = get(t, h, "/health")
		check := body["checks"].(map[string]any)["web"].(map[string]any)
		if ls, _ := check["last_success"].(string); !strings.HasPrefix(ls, t0.Add(10*time.Second).UTC().Format("2006-01-02T15:04:05")) {
			t.Errorf("/health's web last_success = %q", ls)
		}
	})
}

func TestAvailabilityIsTheShareOfJudgedTimeUp(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	a := newAvailability()
	up := []evalCheck{{Name: "web", Component: "web"}, {Name: "db", Component: "db"}}
	webDown := []evalCheck{{Name: "web", Component: "web", Failing: true}, {Name: "db", Component: "db"}}
	dbMissing := []evalCheck{{Name: "web", Component: "web"}, {Name: "db", Component: "db", Missing: true}}

	a.record(at(0), StatusStarting, dbMissing)            // not judged: starting
	a.record(at(time.Minute), StatusHealthy, up)          // judging starts here
	a.record(at(16*time.Minute), StatusDegraded, webDown) // 15 min up
	a.record(at(31*time.Minute), StatusHealthy, up)       // 15 min down
	got := a.record(at(61*time.Minute), StatusHealthy, up)

	if h := got.Node.LastHour; h == nil || *h != 0.75 {
		t.Errorf("node last hour = %v, want 0.75 (45 of 60 judged minutes)", ptr(h))
	}
	if d := got.Node.LastDay; d == nil || *d != 0.75 {
		t.Errorf("node last day = %v, want 0.75", ptr(d))
	}
	if w := got.Components["web"].LastHour; w == nil || *w != 0.75 {
		t.Errorf("web last hour = %v, want 0.75", ptr(w))
	}
	if d := got.Components["db"].LastHour; d == nil || *d != 1 {
		t.Errorf("db last hour = %v, want 1 (up whenever judged)", ptr(d))
	}

	// A day later the outage has left the hour but not the day.
	got = a.record(at(23*time.Hour), StatusHealthy, up)
	if h := got.Node.LastHour; h == nil || *h != 1 {
		t.Errorf("node last hour a day on = %v, want 1", ptr(h))
	}
	if d := got.Node.LastDay; d == nil || *d >= 1 || *d < 0.98 {
		t.Errorf("node last day = %v, want just below 1", ptr(d))
	}
	// A component whose checks left is forgotten.
	got = a.record(at(23*time.Hour+time.Second), StatusHealthy, up[:1])
	if _, ok := got.Components["db"]; ok {
		t.Error("db still reported after its checks left")
	}
	// Nothing judged yet: no share at all rather than 0 or 1.
	fresh := newAvailability()
	if got := fresh.record(t0, StatusStarting, nil); got.Node.LastHour != nil {
		t.Errorf("share before anything was judged = %v, want none", *got.Node.LastHour)
	}
}

func TestTimelineMemoryIsBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tl timeline
	for i := range 3 * maxSpans {
		tl = tl.add(t0.Add(time.Duration(i)*time.Second), judged(1+i%2))
	}
	if len(tl) > maxSpans {
		t.Errorf("%d spans kept, want at most %d", len(tl), maxSpans)
	}
	tl = tl.add(t0.Add(48*time.Hour), judgedUp)
	if len(tl) > 2 {
		t.Errorf("%d spans kept two days on, want those of the last day only", len(tl))
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestCustomComponentsShareWhatTheWeightsLeave(t *testing.T) {
	builtin := map[string]float64{"pubsub": 0.3, "dht": 0.25, "p2p": 0.25, "election": 0.1, "resources": 0.1}
	lowered := map[string]float64{"pubsub": 0.2, "dht": 0.2, "p2p": 0.2, "election": 0.1, "resources": 0.1}
	for _, tc := range []struct {
		name       string
		configured map[string]float64
		comps      []string
		want       map[string]float64
	}{
		{"the defaults leave nothing: the mean weight", builtin, []string{"p2p", "web"}, map[string]float64{"web": 0.2, "p2p": 0.25}},
		{"two share the rest equally", lowered, []string{"web", "db", "db", "p2p"}, map[string]float64{"web": 0.1, "db": 0.1, "p2p": 0.2}},
		{"a configured weight is kept", map[string]float64{"p2p": 0.5, "web": 0.1}, []string{"web", "db"}, map[string]float64{"web": 0.1, "db": 0.4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := effectiveWeights(tc.configured, tc.comps)
			for comp, w := range tc.want {
				if d := got[comp] - w; d > 1e-9 || d < -1e-9 {
					t.Errorf("weight of %s = %v, want %v", comp, got[comp], w)
				}
			}
		})
	}
}

// A custom component with a share of the weights moves the system score.
func TestCustomComponentWeighsInTheScore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig()
		cfg.Weights = map[string]float64{"p2p": 0.5}
		m, _ := newManager(t, cfg)
		mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Interval: 5 * time.Second,
			Timeout: time.Second, Checker: newToggle(true).check})
		web := newToggle(false)
		mustRegister(t, m, Check{Name: "web", Component: "web", Interval: 5 * time.Second,
			Timeout: time.Second, Checker: web.check})
		start(t, m)
		defer m.Stop()
		advance(2 * time.Second)
		if s := m.Snapshot().Score; s != 0.5 {
			t.Errorf("score with web (weight 0.5) failing = %v, want 0.5", s)
		}
	})
}
