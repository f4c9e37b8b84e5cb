package health

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"time"
)

// Snapshot is the node's health at one moment. It is immutable: the manager
// builds a new one whenever something changes and publishes it atomically,
// so readers never lock or wait.
type Snapshot struct {
	Status     Status               `json:"status"`
	Message    string               `json:"message"`
	Score      float64              `json:"score"`
	Checks     map[string]CheckView `json:"checks"`
	Components map[string]float64   `json:"components"`
	Uptime     time.Duration        `json:"uptime"` // at LastUpdate; /health reports it at request time
	StartTime  time.Time            `json:"start_time"`
	LastUpdate time.Time            `json:"last_update"`
	Version    string               `json:"version"`
	NodeID     string               `json:"node_id"`
	Leader     string               `json:"leader"`
	Term       uint64               `json:"term"`

	// For /health/summary.
	LastCheck          time.Time                  `json:"-"`
	TotalChecks        uint64                     `json:"-"` // runs recorded since start
	KeyMetrics         map[string]json.RawMessage `json:"-"`
	Transitions        []Transition               `json:"-"` // oldest first, at most 100
	ShutdownSuppressed bool                       `json:"-"`

	eval       evalInput
	scoreLevel Status
	history    map[string][]*sample
	healthBody []byte // /health without its uptime: `{...,"uptime":`
	readyBody  []byte
}

// CheckView is one check as /health and /health/checks show it: the last
// result's fields plus its effective state.
type CheckView struct {
	Name                 string          `json:"name"`
	Component            string          `json:"component"`
	Description          string          `json:"description,omitempty"`
	Healthy              bool            `json:"healthy"`
	Message              string          `json:"message"`
	Details              json.RawMessage `json:"details"`
	Latency              time.Duration   `json:"latency"`
	Timestamp            time.Time       `json:"timestamp"`
	Error                string          `json:"error"`
	State                State           `json:"state"`
	ConsecutiveFailures  int             `json:"consecutive_failures"`
	ConsecutiveSuccesses int             `json:"consecutive_successes"`
	Score                float64         `json:"score"`
	Critical             bool            `json:"critical"`
	Stale                bool            `json:"stale"`
	LocalStall           bool            `json:"local_stall"`
	Disabled             bool            `json:"disabled,omitempty"`
}

// ResultView is one entry of a check's history.
type ResultView struct {
	Healthy    bool            `json:"healthy"`
	Message    string          `json:"message"`
	Details    json.RawMessage `json:"details"`
	Latency    time.Duration   `json:"latency"`
	Timestamp  time.Time       `json:"timestamp"`
	Error      string          `json:"error"`
	Result     string          `json:"result"` // success, failure, timeout, panic, local_stall
	LocalStall bool            `json:"local_stall"`
}

// History returns the named check's recent results, oldest first.
func (s *Snapshot) History(name string) []ResultView {
	h := s.history[name]
	out := make([]ResultView, len(h))
	for i, smp := range h {
		out[i] = smp.view()
	}
	return out
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// viewLocked computes one check's view and its part in the status decision
// at now. deadline is when its view would next change by time alone (zero:
// never).
func (m *Manager) viewLocked(c *checkState, now time.Time) (v CheckView, e evalCheck, deadline time.Time) {
	d := c.def
	v = CheckView{Name: d.Name, Component: d.Component, Description: d.Description, Critical: d.Critical,
		State: StateUnknown, ConsecutiveFailures: c.deb.Fail, ConsecutiveSuccesses: c.deb.Succ}
	if d.Disabled {
		v.Disabled, v.Message = true, "disabled"
		return v, e, deadline
	}
	e = evalCheck{Name: d.Name, Component: d.Component, Critical: d.Critical}
	if s := c.last; s != nil {
		v.Healthy, v.Message, v.Details = s.Healthy, s.Message, s.details
		v.Latency, v.Timestamp, v.Error, v.LocalStall = s.Latency, s.Timestamp, s.errText, s.localStall
		v.State = c.deb.State
		e.Reason = s.Message
		ref := s.at
		if m.resumedAt.After(ref) {
			ref = m.resumedAt // a result does not age while this process is paused
		}
		if age, limit := now.Sub(ref), c.staleAfter(); age > limit {
			v.Stale, v.Healthy, v.State = true, false, StateFailing
			v.Message = fmt.Sprintf("stale: no result for %s (limit %s); last: %s",
				age.Round(time.Millisecond), limit, s.Message)
			e.Reason = v.Message
		} else {
			deadline = ref.Add(limit + time.Nanosecond)
			e.Degraded = s.Healthy && s.Degraded
			if s.warmup {
				// Only uncounted start-up failures so far: as good as no
				// result, so the node stays "starting" rather than scored.
				e.Missing = true
			}
		}
	} else {
		// A check registered after Start gets its own grace.
		base := m.startTime
		if c.registered.After(base) {
			base = c.registered
		}
		graceEnd := base.Add(m.cfg.StartupGrace)
		switch {
		case !m.started:
			v.Message, e.Missing = "not started", true
		case now.Before(graceEnd):
			v.Message, e.Missing = "no result yet", true
			deadline = graceEnd
		case c.running:
			// Its first run will end with a result by its timeout; only a
			// check the scheduler failed to run is overdue.
			v.Message, e.Missing = "first run in progress", true
		case now.Before(c.next.Add(d.Timeout + abandonGrace + m.cfg.TickPeriod)):
			// Due, and the scheduler has had no time to run it yet.
			v.Message, e.Missing = "first run due", true
			deadline = c.next.Add(d.Timeout + abandonGrace + m.cfg.TickPeriod)
		default:
			v.State = StateFailing
			v.Message = fmt.Sprintf("no result within the startup grace (%s)", m.cfg.StartupGrace)
			e.Reason = v.Message
		}
	}
	e.Failing = v.State == StateFailing
	if !e.Failing && !e.Missing {
		v.Score = c.score
		e.Pace = c.pace
	}
	e.Score = v.Score
	v.Score = round4(v.Score)
	return v, e, deadline
}

// refreshLocked recomputes and publishes the snapshot, and acts on what
// changed: transitions, the critical hand-off, metrics.
func (m *Manager) refreshLocked(now time.Time) {
	if m.pausedLocked(now) {
		m.resumedLocked(now)
	}
	views := make(map[string]CheckView, len(m.checks))
	evals := make([]evalCheck, 0, len(m.checks))
	history := make(map[string][]*sample, len(m.checks))
	var next time.Time
	for _, c := range m.checks {
		v, e, deadline := m.viewLocked(c, now)
		views[c.def.Name] = v
		if c.histSnap == nil {
			c.histSnap = c.hist.slice()
		}
		history[c.def.Name] = c.histSnap
		if !c.def.Disabled {
			evals = append(evals, e)
		}
		if !deadline.IsZero() && (next.IsZero() || deadline.Before(next)) {
			next = deadline
		}
		if v.State != c.effective {
			m.transitionLocked(Transition{Time: now, Kind: "check", Check: c.def.Name,
				From: string(c.effective), To: string(v.State), Cause: v.Message})
			c.effective = v.State
		}
		m.metrics.setCheck(c.def.Name, v)
	}
	pastGrace := m.started && now.Sub(m.startTime) >= m.cfg.StartupGrace
	if m.started && !pastGrace {
		if end := m.startTime.Add(m.cfg.StartupGrace); next.IsZero() || end.Before(next) {
			next = end
		}
	}
	m.handOffLocked(views, pastGrace)

	in := evalInput{
		Checks:            evals,
		Weights:           m.cfg.Weights,
		HealthyThreshold:  m.cfg.HealthyThreshold,
		DegradedThreshold: m.cfg.DegradedThreshold,
		Hysteresis:        m.cfg.Hysteresis,
		PrevScoreLevel:    m.scoreLevel,
		Stopping:          m.stopping,
		StopReason:        m.stopReason,
		Started:           m.started,
		InGrace:           !pastGrace,
		Suppressed:        m.suppressed,
	}
	out := evaluate(in)
	m.scoreLevel = out.ScoreLevel
	if out.Status != m.status {
		from := m.status
		if from == "" {
			from = StatusStarting
		}
		if from != out.Status {
			m.transitionLocked(Transition{Time: now, Kind: "status", From: string(from), To: string(out.Status), Cause: out.Message})
		}
		m.status = out.Status
		m.metrics.setStatus(out.Status)
	}
	m.metrics.setScores(out.Score, out.Components)

	snap := &Snapshot{
		Status:             out.Status,
		Message:            out.Message,
		Score:              round4(out.Score),
		Checks:             views,
		Components:         roundAll(out.Components),
		StartTime:          m.startTime,
		LastUpdate:         now,
		Version:            m.cfg.Version,
		NodeID:             m.cfg.NodeID,
		Leader:             m.leader,
		Term:               m.term,
		LastCheck:          m.lastCheck,
		TotalChecks:        m.totalRuns,
		KeyMetrics:         m.keyMetrics,
		Transitions:        m.transitions,
		ShutdownSuppressed: m.suppressed,
		eval:               in,
		scoreLevel:         out.ScoreLevel,
		history:            history,
	}
	if m.started {
		snap.Uptime = now.Sub(m.startTime)
	}
	snap.render()
	m.snap.Store(snap)
	if next.IsZero() {
		m.nextDeadline.Store(0)
	} else {
		m.nextDeadline.Store(max(m.mono(next), 1))
	}
}

func roundAll(in map[string]float64) map[string]float64 {
	out := maps.Clone(in)
	for k, v := range out {
		out[k] = round4(v)
	}
	return out
}
