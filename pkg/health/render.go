package health

import (
	"bytes"
	"encoding/json"
	"time"
)

// healthDoc is the /health body. Uptime comes last so that the body can be
// rendered once per snapshot and finished per request with the uptime at
// that moment.
type healthDoc struct {
	Status     Status               `json:"status"`
	Message    string               `json:"message"`
	Score      float64              `json:"score"`
	Checks     map[string]CheckView `json:"checks"`
	Components map[string]float64   `json:"components"`
	StartTime  time.Time            `json:"start_time"`
	LastUpdate time.Time            `json:"last_update"`
	Version    string               `json:"version"`
	NodeID     string               `json:"node_id"`
	Leader     string               `json:"leader"`
	Term       uint64               `json:"term"`
	// Availability before Uptime: the body up to the uptime is rendered
	// once per snapshot.
	Availability Availability  `json:"availability"`
	Uptime       time.Duration `json:"uptime"`
}

type readyDoc struct {
	Ready   bool   `json:"ready"`
	Status  Status `json:"status"`
	Message string `json:"message"`
}

type liveDoc struct {
	Live    bool   `json:"live"`
	Status  Status `json:"status"`
	Uptime  string `json:"uptime"`
	Message string `json:"message,omitempty"` // why not live
}

type checksDoc struct {
	Checks    map[string]CheckView `json:"checks"`
	Total     int                  `json:"total"`
	Timestamp time.Time            `json:"timestamp"`
}

type checkDoc struct {
	CheckView
	History []ResultView `json:"history"`
}

type summaryDoc struct {
	Status          Status                     `json:"status"`
	Message         string                     `json:"message"`
	OverallScore    float64                    `json:"overall_score"`
	LastCheck       time.Time                  `json:"last_check"`
	TotalChecks     uint64                     `json:"total_checks"`
	ComponentScores map[string]float64         `json:"component_scores"`
	KeyMetrics      map[string]json.RawMessage `json:"key_metrics"`
	Leader          string                     `json:"leader"`
	Term            uint64                     `json:"term"`
	Transitions     []Transition               `json:"transitions"`
	Availability    Availability               `json:"availability"`
}

// uptimeKey ends a pre-rendered /health body; the request appends the value.
var uptimeKey = []byte(`,"uptime":`)

// doc is the /health body with the decision d and uptime at now.
func (s *Snapshot) doc(d evalOutput, now time.Time) healthDoc {
	doc := healthDoc{
		Status: d.Status, Message: d.Message, Score: d.Score, Checks: s.Checks, Components: d.Components,
		StartTime: s.StartTime, LastUpdate: s.LastUpdate, Version: s.Version, NodeID: s.NodeID,
		Leader: s.Leader, Term: s.Term, Availability: s.Availability,
	}
	if !s.StartTime.IsZero() {
		doc.Uptime = now.Sub(s.StartTime)
	}
	return doc
}

// decision is the snapshot's own status decision.
func (s *Snapshot) decision() evalOutput {
	return evalOutput{Status: s.Status, Message: s.Message, Score: s.Score, Components: s.Components}
}

// decide is the status decision without the excluded checks (?exclude).
func (s *Snapshot) decide(exclude map[string]bool) evalOutput {
	if len(exclude) == 0 {
		return s.decision()
	}
	in := s.eval.without(exclude)
	in.PrevScoreLevel = s.scoreLevel
	out := evaluate(in)
	out.Score = round4(out.Score)
	out.Components = roundAll(out.Components)
	return out
}

// render pre-encodes the bodies of the hot endpoints, so that serving them
// is a copy. A body that fails to encode is left nil and encoded per request
// (where the error is reported).
func (s *Snapshot) render() {
	doc := s.doc(s.decision(), s.StartTime)
	doc.Uptime = 0
	if b, err := json.Marshal(doc); err == nil {
		if cut, ok := bytes.CutSuffix(b, []byte(`0}`)); ok && bytes.HasSuffix(cut, uptimeKey) {
			s.healthBody = cut
		}
	}
	if b, err := json.Marshal(readyDoc{Ready: s.Status.Serving(), Status: s.Status, Message: s.Message}); err == nil {
		s.readyBody = append(b, '\n')
	}
}
