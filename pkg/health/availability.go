package health

import "time"

// Availability is how much of the recent past the node was healthy and
// each component had no failing check, from the spans the core records as
// it publishes snapshots (kept in memory for a day, lost at restart).
type Availability struct {
	Node       Uptime            `json:"node"`
	Components map[string]Uptime `json:"components"`
}

// Uptime is the share of the judged time that was up, over the last hour
// and the last day (or since start, when that is shorter). Time not judged
// (the node starting or stopping, a component whose checks have no result
// yet) counts neither way; a share is absent while there is none.
type Uptime struct {
	LastHour *float64 `json:"last_hour,omitempty"`
	LastDay  *float64 `json:"last_day,omitempty"`
}

const (
	availHour = time.Hour
	availDay  = 24 * time.Hour
	// maxSpans bounds one timeline's memory against a check flapping all
	// day: past it the oldest spans go, and the day's share covers less.
	maxSpans = 4096
)

type judged int8

const (
	notJudged judged = iota
	judgedUp
	judgedDown
)

// span is a stretch of time in one state, from its start to the next
// span's start (or now).
type span struct {
	from  time.Time
	state judged
}

// timeline is one subject's spans, oldest first, reaching back a day.
type timeline []span

func (t timeline) add(now time.Time, s judged) timeline {
	if n := len(t); n > 0 && t[n-1].state == s {
		return t
	}
	t = append(t, span{now, s})
	// Drop spans that ended before the day began, and the oldest past
	// the cap.
	cut := 0
	for cut+1 < len(t) && !t[cut+1].from.After(now.Add(-availDay)) {
		cut++
	}
	cut = max(cut, len(t)-maxSpans)
	if cut > 0 {
		t = append(timeline(nil), t[cut:]...)
	}
	return t
}

// share is the up fraction of the judged time in (now-window, now]; nil
// when none of it was judged.
func (t timeline) share(now time.Time, window time.Duration) *float64 {
	begin := now.Add(-window)
	var up, judgedTime time.Duration
	for i, s := range t {
		end := now
		if i+1 < len(t) {
			end = t[i+1].from
		}
		from := s.from
		if from.Before(begin) {
			from = begin
		}
		if !end.After(from) || s.state == notJudged {
			continue
		}
		judgedTime += end.Sub(from)
		if s.state == judgedUp {
			up += end.Sub(from)
		}
	}
	if judgedTime <= 0 {
		return nil
	}
	r := round4(float64(up) / float64(judgedTime))
	return &r
}

func (t timeline) uptime(now time.Time) Uptime {
	return Uptime{LastHour: t.share(now, availHour), LastDay: t.share(now, availDay)}
}

// availability is the core's record of the node's and the components'
// spans.
type availability struct {
	node  timeline
	comps map[string]timeline
}

func newAvailability() availability { return availability{comps: map[string]timeline{}} }

// record notes the node's status and its enabled checks' part in it at
// now, and returns the shares as of now. The node is up while healthy; a
// component while none of its checks is failing. A component none of
// whose checks is registered any more is forgotten with them.
func (a *availability) record(now time.Time, st Status, checks []evalCheck) Availability {
	node := notJudged
	switch st {
	case StatusHealthy:
		node = judgedUp
	case StatusDegraded, StatusUnhealthy:
		node = judgedDown
	}
	a.node = a.node.add(now, node)

	states := map[string]judged{}
	for _, c := range checks {
		s, seen := states[c.Component]
		switch {
		case c.Failing:
			s = judgedDown
		case c.Missing:
			if !seen {
				s = notJudged
			}
		case s != judgedDown:
			s = judgedUp
		}
		states[c.Component] = s
	}
	next := make(map[string]timeline, len(states))
	out := Availability{Node: a.node.uptime(now), Components: make(map[string]Uptime, len(states))}
	for comp, s := range states {
		t := a.comps[comp].add(now, s)
		next[comp] = t
		out.Components[comp] = t.uptime(now)
	}
	a.comps = next
	return out
}
