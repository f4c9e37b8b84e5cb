package loadtest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseWrkReadsTheScriptLine(t *testing.T) {
	out := []byte(`Running 10s test @ http://127.0.0.1:8081/health
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
Requests/sec:  20000.00
MESHBENCH {"requests":200000,"duration_us":10000000,"bytes":1,"connect":0,"read":1,"write":0,"status":7,"timeout":2,"p50_us":500.0,"p90_us":900.0,"p99_us":2500.0,"max_us":12000.0}
`)
	r, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Requests: 200000, Seconds: 10, RPS: 20000, P50ms: 0.5, P90ms: 0.9, P99ms: 2.5, MaxMs: 12, Non2xx: 7, Errors: 3}
	if r != want {
		t.Fatalf("parsed %+v, want %+v", r, want)
	}
	if _, err := parseWrk([]byte("Requests/sec: 1\n")); err == nil {
		t.Fatal("output without the script's line parsed")
	}
}

func TestGenCountsAnswersAndNon2xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(`{"status":"healthy"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		path      string
		allNon2xx bool
	}{{"/up", false}, {"/down", true}} {
		r, err := Gen{}.Run(Options{URL: srv.URL + tc.path, Duration: 200 * time.Millisecond, Connections: 2})
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests == 0 || r.RPS <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.MaxMs < r.P99ms {
			t.Fatalf("%s: implausible result %+v", tc.path, r)
		}
		if got := r.Non2xx == r.Requests; got != tc.allNon2xx {
			t.Fatalf("%s: non2xx %d of %d requests", tc.path, r.Non2xx, r.Requests)
		}
		if r.Errors != 0 {
			t.Fatalf("%s: %d errors", tc.path, r.Errors)
		}
	}
	srv.CloseClientConnections()
}

// The script and the parser must agree; run the real wrk when installed.
func TestWrkScriptAgainstRealWrk(t *testing.T) {
	w, ok := FindWrk(scriptPath(t))
	if !ok {
		t.Skip("wrk not installed")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	r, err := w.Run(Options{URL: srv.URL + "/", Duration: time.Second, Connections: 2, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.RPS <= 0 || r.Non2xx != 0 {
		t.Fatalf("wrk result %+v", r)
	}
	if _, err := exec.LookPath("wrk"); err != nil || w.Name() == "" {
		t.Fatalf("wrk name %q", w.Name())
	}
}

func scriptPath(t *testing.T) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	p := filepath.Join(filepath.Dir(file), "..", "..", "wrk", "report.lua")
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}
