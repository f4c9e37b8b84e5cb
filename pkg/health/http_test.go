package health

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func wantKeys(t *testing.T, what string, got map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if k := keys(got); !slices.Equal(k, want) {
		t.Errorf("%s keys = %v, want %v", what, k, want)
	}
}

// twoChecks is a started manager with a passing critical p2p check and a
// passing dht check, both with a result.
func twoChecks(t *testing.T) (*Manager, *toggle, *toggle) {
	m, _ := newManager(t, testConfig())
	p2p, dht := newToggle(true), newToggle(true)
	p2p.set(true, "3 peers connected")
	mustRegister(t, m, Check{Name: "p2p-connectivity", Component: "p2p", Critical: true, Interval: 5 * time.Second,
		Timeout: time.Second, FailureThreshold: 1, Checker: p2p.check})
	mustRegister(t, m, Check{Name: "dht-integrity", Component: "dht", Critical: true, Interval: 30 * time.Second,
		Timeout: 10 * time.Second, Checker: dht.check})
	start(t, m)
	synctest.Wait()
	return m, p2p, dht
}

var checkViewKeys = []string{"name", "component", "healthy", "message", "details", "latency", "timestamp", "error", "state",
	"consecutive_failures", "consecutive_successes", "score", "critical", "stale", "local_stall", "last_success"}

func TestEndpointShapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := twoChecks(t)
		defer m.Stop()
		m.SetLeader("12D3KooWLeader", 7)
		m.SetKeyMetric("connected_peers", 3)
		m.SetKeyMetric("resource_utilization", map[string]float64{"cpu": 0.25})
		advance(62 * time.Second)
		h := m.Handler()

		rec, body := get(t, h, "/health")
		if rec.Code != 200 || body["status"] != "healthy" || body["score"] != 1.0 || body["leader"] != "12D3KooWLeader" || body["term"] != 7.0 {
			t.Fatalf("/health = %d %v", rec.Code, body)
		}
		wantKeys(t, "/health", body, "status", "message", "score", "checks", "components", "uptime", "start_time",
			"last_update", "version", "node_id", "leader", "term", "availability")
		if body["uptime"] != float64(62*time.Second) || body["node_id"] != "node-1" || body["version"] != "v-test" {
			t.Errorf("/health uptime/node/version = %v %v %v", body["uptime"], body["node_id"], body["version"])
		}
		check := body["checks"].(map[string]any)["p2p-connectivity"].(map[string]any)
		wantKeys(t, "/health check", check, checkViewKeys...)
		if check["state"] != "passing" || check["message"] != "3 peers connected" || check["critical"] != true {
			t.Errorf("check view = %v", check)
		}
		if comps := body["components"].(map[string]any); comps["p2p"] != 1.0 || comps["election"] != 1.0 {
			t.Errorf("components = %v, want p2p 1 and election 1 (no checks)", comps)
		}

		rec, body = get(t, h, "/health/ready")
		wantKeys(t, "/health/ready", body, "ready", "status", "message")
		if rec.Code != 200 || body["ready"] != true {
			t.Errorf("/health/ready = %d %v", rec.Code, body)
		}

		rec, body = get(t, h, "/health/live")
		wantKeys(t, "/health/live", body, "live", "status", "uptime")
		if rec.Code != 200 || body["uptime"] != "1m2s" {
			t.Errorf("/health/live = %d %v, want uptime 1m2s", rec.Code, body)
		}

		rec, body = get(t, h, "/health/checks")
		wantKeys(t, "/health/checks", body, "checks", "total", "timestamp")
		if rec.Code != 200 || body["total"] != 2.0 {
			t.Errorf("/health/checks = %d %v", rec.Code, body)
		}

		rec, body = get(t, h, "/health/checks/p2p-connectivity")
		wantKeys(t, "/health/checks/{name}", body, append(slices.Clone(checkViewKeys), "history")...)
		hist := body["history"].([]any)
		if rec.Code != 200 || len(hist) != 13 { // runs at 0, 5, ..., 60s
			t.Errorf("/health/checks/p2p-connectivity = %d with %d history entries, want 13", rec.Code, len(hist))
		}

		rec, body = get(t, h, "/health/summary")
		wantKeys(t, "/health/summary", body, "status", "message", "overall_score", "last_check", "total_checks",
			"component_scores", "key_metrics", "leader", "term", "transitions", "availability")
		km := body["key_metrics"].(map[string]any)
		if rec.Code != 200 || km["connected_peers"] != 3.0 || km["resource_utilization"].(map[string]any)["cpu"] != 0.25 {
			t.Errorf("/health/summary = %d %v", rec.Code, body)
		}
		if body["total_checks"] != 16.0 { // 13 p2p + 3 dht
			t.Errorf("total_checks = %v, want 16", body["total_checks"])
		}
	})
}

func TestEveryResponseIsTypedAndUncached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := twoChecks(t)
		defer m.Stop()
		for _, path := range []string{"/health", "/health/", "/health/ready", "/health/live", "/health/checks",
			"/health/checks/dht-integrity", "/health/summary", "/health/nope", "/health/checks/nope"} {
			rec, _ := get(t, m.Handler(), path)
			if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != contentJSON {
				t.Errorf("%s: Cache-Control %q, Content-Type %q", path, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
			}
		}
		req := httptest.NewRequest(http.MethodHead, "/health", nil)
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
			t.Errorf("HEAD /health = %d, body %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
	})
}

func TestUnknownCheckIs404(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := twoChecks(t)
		defer m.Stop()
		rec, body := get(t, m.Handler(), "/health/checks/no-such-check")
		if rec.Code != 404 || body["error"] != `unknown check "no-such-check"` {
			t.Fatalf("unknown check = %d %v, want 404 with an error", rec.Code, body)
		}
	})
}

func TestOnlyGetAndHeadWithoutBody(t *testing.T) {
	m, _ := newManager(t, testConfig())
	h := m.Handler()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "/health", nil))
		if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /health = %d, Allow %q; want 405, GET, HEAD", method, rec.Code, rec.Header().Get("Allow"))
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health/ready", strings.NewReader(`{"x":1}`)))
	if rec.Code != 413 {
		t.Errorf("GET with a body = %d, want 413", rec.Code)
	}
	req := httptest.NewRequest(http.MethodGet, "/health/live", strings.NewReader("x"))
	req.ContentLength = -1 // chunked
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 413 {
		t.Errorf("GET with a chunked body = %d, want 413", rec.Code)
	}
}

func TestExcludeAndVerboseLikeReadyz(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, p2p, _ := twoChecks(t)
		defer m.Stop()
		p2p.set(false, "0 peers < min 1")
		advance(5 * time.Second)
		h := m.Handler()

		if rec, body := get(t, h, "/health"); rec.Code != 503 || body["status"] != "unhealthy" {
			t.Fatalf("/health with p2p failing = %d %v", rec.Code, body)
		}
		rec, body := get(t, h, "/health?exclude=p2p-connectivity")
		if rec.Code != 200 || body["status"] != "healthy" {
			t.Errorf("/health?exclude=p2p-connectivity = %d %v, want 200 healthy", rec.Code, body)
		}
		if rec, body := get(t, h, "/health/ready?exclude=p2p-connectivity"); rec.Code != 200 || body["ready"] != true {
			t.Errorf("/health/ready?exclude = %d %v", rec.Code, body)
		}

		rec, _ = get(t, h, "/health/ready?verbose")
		want := "[+]dht-integrity ok\n[-]p2p-connectivity failed: 0 peers < min 1\nready check failed\n"
		if rec.Code != 503 || rec.Body.String() != want || rec.Header().Get("Content-Type") != contentText {
			t.Errorf("/health/ready?verbose = %d %q\n%q", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		rec, _ = get(t, h, "/health?verbose&exclude=p2p-connectivity&exclude=nope")
		want = "[+]dht-integrity ok\n[+]p2p-connectivity excluded: ok\n" +
			`warn: some health checks cannot be excluded: no matches for "nope"` + "\nhealth check passed\n"
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("/health?verbose&exclude = %d\n%s\nwant\n%s", rec.Code, rec.Body, want)
		}
	})
}

func TestHealthJSONFormat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, p2p, _ := twoChecks(t)
		defer m.Stop()
		h := m.Handler()
		accept := "application/health+json, application/json;q=0.5"

		rec, body := get(t, h, "/health", "Accept", accept)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != contentHealthJSON || body["status"] != "pass" {
			t.Fatalf("health+json = %d %q %v", rec.Code, rec.Header().Get("Content-Type"), body)
		}
		if body["serviceId"] != "node-1" || body["releaseId"] != "v-test" {
			t.Errorf("serviceId/releaseId = %v/%v", body["serviceId"], body["releaseId"])
		}
		checks := body["checks"].(map[string]any)
		entry := checks["p2p:p2p-connectivity"].([]any)[0].(map[string]any)
		if entry["status"] != "pass" || entry["observedUnit"] != "ms" || entry["time"] == nil || entry["output"] != nil {
			t.Errorf("p2p:p2p-connectivity = %v", entry)
		}
		if _, ok := entry["observedValue"].(float64); !ok {
			t.Errorf("observedValue = %v, want a number", entry["observedValue"])
		}

		p2p.set(false, "0 peers < min 1")
		advance(5 * time.Second)
		rec, body = get(t, h, "/health/checks", "Accept", accept)
		entry = body["checks"].(map[string]any)["p2p:p2p-connectivity"].([]any)[0].(map[string]any)
		if rec.Code != 503 || body["status"] != "fail" || entry["status"] != "fail" || entry["output"] != "0 peers < min 1" {
			t.Errorf("failing health+json = %d %v", rec.Code, body)
		}
		if rec, _ := get(t, h, "/health", "Accept", "application/health+json;q=0, application/json"); rec.Header().Get("Content-Type") != contentJSON {
			t.Errorf("q=0 should refuse health+json, got %q", rec.Header().Get("Content-Type"))
		}
	})
}

func TestDegradedStillServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newManager(t, testConfig())
		el := newToggle(false)
		mustRegister(t, m, Check{Name: "election-stability", Component: "election", Interval: 5 * time.Second,
			Timeout: time.Second, FailureThreshold: 1, Checker: el.check})
		start(t, m)
		defer m.Stop()
		synctest.Wait()
		for _, path := range []string{"/health", "/health/ready"} {
			if rec, body := get(t, m.Handler(), path); rec.Code != 200 || body["status"] != "degraded" {
				t.Errorf("%s when degraded = %d %v, want 200 degraded", path, rec.Code, body)
			}
		}
	})
}
