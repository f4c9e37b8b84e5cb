package health

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Handler serves /health, /health/ready, /health/live, /health/checks,
// /health/checks/{name}, /health/summary and /health/events (mount it on
// both "/health" and "/health/"). Every response is built from the published
// snapshot: no handler runs or waits for a check. Only GET and HEAD are
// accepted, without a body.
func (m *Manager) Handler() http.Handler { return http.HandlerFunc(m.serveHTTP) }

const (
	contentJSON       = "application/json"
	contentHealthJSON = "application/health+json"
	contentText       = "text/plain; charset=utf-8"
)

func (m *Manager) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use GET or HEAD", r.Method))
		return
	}
	if r.ContentLength != 0 { // -1: a body of unknown length is coming
		h.Set("Connection", "close") // do not read it to reuse the connection
		writeError(w, r, http.StatusRequestEntityTooLarge, "request bodies are not accepted")
		return
	}
	path := r.URL.Path
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	switch path {
	case "/health":
		m.serveHealth(w, r)
	case "/health/ready":
		m.serveReady(w, r)
	case "/health/live":
		m.serveLive(w, r)
	case "/health/checks":
		m.serveChecks(w, r)
	case "/health/summary":
		m.serveSummary(w, r)
	case "/health/events":
		m.serveEvents(w, r)
	default:
		if name, ok := strings.CutPrefix(path, "/health/checks/"); ok && !strings.Contains(name, "/") {
			m.serveCheck(w, r, name)
			return
		}
		writeError(w, r, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}
}

func statusCode(s Status) int {
	if s.Serving() {
		return http.StatusOK
	}
	return http.StatusServiceUnavailable
}

// probeQuery reads ?verbose and ?exclude=<check> (repeatable) as the
// Kubernetes API server's /readyz does.
func probeQuery(u *url.URL) (verbose bool, exclude map[string]bool) {
	if u.RawQuery == "" {
		return false, nil
	}
	q := u.Query()
	_, verbose = q["verbose"]
	for _, name := range q["exclude"] {
		if exclude == nil {
			exclude = map[string]bool{}
		}
		exclude[name] = true
	}
	return verbose, exclude
}

func (m *Manager) serveHealth(w http.ResponseWriter, r *http.Request) {
	snap := m.Snapshot()
	verbose, exclude := probeQuery(r.URL)
	d := snap.decide(exclude)
	switch {
	case wantsHealthJSON(r):
		writeBody(w, r, statusCode(d.Status), contentHealthJSON, mustJSON(snap.ietf(d)))
	case verbose:
		writeVerbose(w, r, "health", snap, d, exclude)
	case exclude == nil && snap.healthBody != nil:
		body := make([]byte, 0, len(snap.healthBody)+24)
		body = append(body, snap.healthBody...)
		var up time.Duration
		if !snap.StartTime.IsZero() {
			up = time.Since(snap.StartTime)
		}
		body = strconv.AppendInt(body, int64(up), 10)
		body = append(body, "}\n"...)
		writeBody(w, r, statusCode(d.Status), contentJSON, body)
	default:
		writeJSON(w, r, statusCode(d.Status), snap.doc(d, time.Now()))
	}
}

func (m *Manager) serveReady(w http.ResponseWriter, r *http.Request) {
	snap := m.Snapshot()
	verbose, exclude := probeQuery(r.URL)
	d := snap.decide(exclude)
	switch {
	case verbose:
		writeVerbose(w, r, "ready", snap, d, exclude)
	case exclude == nil && snap.readyBody != nil:
		writeBody(w, r, statusCode(d.Status), contentJSON, snap.readyBody)
	default:
		writeJSON(w, r, statusCode(d.Status), readyDoc{Ready: d.Status.Serving(), Status: d.Status, Message: d.Message})
	}
}

// serveLive answers 200 unless the node is stopping or the scheduler has
// missed 3 ticks: a restart fixes a deadlock, not a partition, so liveness
// ignores the checks' results.
func (m *Manager) serveLive(w http.ResponseWriter, r *http.Request) {
	snap := m.Snapshot()
	doc := liveDoc{Live: true, Status: snap.Status, Uptime: "0s"}
	if !snap.StartTime.IsZero() {
		doc.Uptime = time.Since(snap.StartTime).Round(time.Second).String()
	}
	switch stalled, age := m.stalled(); {
	case snap.Status == StatusStopping:
		doc.Live, doc.Message = false, snap.Message
	case m.phase.Load() == phaseStopped:
		doc.Live, doc.Message = false, "health manager stopped"
	case stalled:
		doc.Live, doc.Message = false, fmt.Sprintf("scheduler stalled: no tick for %s", age.Round(time.Millisecond))
	}
	code := http.StatusOK
	if !doc.Live {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, r, code, doc)
}

func (m *Manager) serveChecks(w http.ResponseWriter, r *http.Request) {
	snap := m.Snapshot()
	if wantsHealthJSON(r) {
		d := snap.decision()
		writeBody(w, r, statusCode(d.Status), contentHealthJSON, mustJSON(snap.ietf(d)))
		return
	}
	writeJSON(w, r, http.StatusOK, checksDoc{Checks: snap.Checks, Total: len(snap.Checks), Timestamp: time.Now()})
}

func (m *Manager) serveCheck(w http.ResponseWriter, r *http.Request, name string) {
	snap := m.Snapshot()
	v, ok := snap.Checks[name]
	if !ok {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("unknown check %q", name))
		return
	}
	n := -1
	if q := r.URL.Query(); q.Has("history") {
		var err error
		if n, err = strconv.Atoi(q.Get("history")); err != nil || n < 0 {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("history=%q: want the number of recent results, 0 or more", q.Get("history")))
			return
		}
	}
	writeJSON(w, r, http.StatusOK, checkDoc{CheckView: v, History: snap.Recent(name, n)})
}

func (m *Manager) serveSummary(w http.ResponseWriter, r *http.Request) {
	snap := m.Snapshot()
	writeJSON(w, r, http.StatusOK, summaryDoc{
		Status: snap.Status, Message: snap.Message, OverallScore: snap.Score, LastCheck: snap.LastCheck,
		TotalChecks: snap.TotalChecks, ComponentScores: snap.Components, KeyMetrics: snap.KeyMetrics,
		Leader: snap.Leader, Term: snap.Term, Transitions: snap.Transitions, Availability: snap.Availability,
	})
}

// writeVerbose writes the Kubernetes /readyz?verbose text: one line per
// check, then "<name> check passed|failed".
func writeVerbose(w http.ResponseWriter, r *http.Request, name string, snap *Snapshot, d evalOutput, exclude map[string]bool) {
	var b strings.Builder
	failedLine := false
	unmatched := make(map[string]bool, len(exclude))
	for k := range exclude {
		unmatched[k] = true
	}
	for _, c := range snap.eval.Checks {
		v := snap.Checks[c.Name]
		switch {
		case exclude[c.Name]:
			delete(unmatched, c.Name)
			fmt.Fprintf(&b, "[+]%s excluded: ok\n", c.Name)
		case c.Failing:
			failedLine = true
			fmt.Fprintf(&b, "[-]%s failed: %s\n", c.Name, oneLine(v.Message))
		case c.Missing:
			failedLine = true
			fmt.Fprintf(&b, "[-]%s failed: no result yet\n", c.Name)
		default:
			fmt.Fprintf(&b, "[+]%s ok\n", c.Name)
		}
	}
	if len(unmatched) > 0 {
		names := make([]string, 0, len(unmatched))
		for k := range unmatched {
			names = append(names, strconv.Quote(k))
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "warn: some health checks cannot be excluded: no matches for %s\n", strings.Join(names, ","))
	}
	if !d.Status.Serving() && !failedLine {
		fmt.Fprintf(&b, "[-]status failed: %s: %s\n", d.Status, oneLine(d.Message))
	}
	verdict := "passed"
	if !d.Status.Serving() {
		verdict = "failed"
	}
	fmt.Fprintf(&b, "%s check %s\n", name, verdict)
	writeBody(w, r, statusCode(d.Status), contentText, []byte(b.String()))
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "encoding response: "+err.Error())
		return
	}
	writeBody(w, r, code, contentJSON, append(b, '\n'))
}

func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	writeBody(w, r, code, contentJSON, append(b, '\n'))
}

func writeBody(w http.ResponseWriter, r *http.Request, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client went away; nothing to do
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"error": "encoding response: " + err.Error()})
	}
	return append(b, '\n')
}
