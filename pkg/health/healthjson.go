package health

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ietfDoc is the response format of draft-inadarei-api-health-check
// ("application/health+json").
type ietfDoc struct {
	Status      string                 `json:"status"` // pass, warn or fail
	Version     string                 `json:"version"`
	ReleaseID   string                 `json:"releaseId,omitempty"`
	ServiceID   string                 `json:"serviceId,omitempty"`
	Description string                 `json:"description"`
	Output      string                 `json:"output,omitempty"`
	Notes       []string               `json:"notes,omitempty"`
	Checks      map[string][]ietfCheck `json:"checks"`
}

type ietfCheck struct {
	ComponentID   string   `json:"componentId"`
	ComponentType string   `json:"componentType"`
	ObservedValue *float64 `json:"observedValue,omitempty"`
	ObservedUnit  string   `json:"observedUnit,omitempty"`
	Status        string   `json:"status"`
	Time          string   `json:"time,omitempty"`
	Output        string   `json:"output,omitempty"`
}

// ietfStatus maps our status: degraded still serves, so it is "warn".
func ietfStatus(s Status) string {
	switch s {
	case StatusHealthy:
		return "pass"
	case StatusDegraded:
		return "warn"
	default:
		return "fail"
	}
}

// ietf renders the snapshot with decision d. Each check is keyed
// "component:check"; its observed value is the last run's latency.
func (s *Snapshot) ietf(d evalOutput) ietfDoc {
	doc := ietfDoc{
		Status:      ietfStatus(d.Status),
		Version:     "1",
		ReleaseID:   s.Version,
		ServiceID:   s.NodeID,
		Description: "meshhealth node",
		Notes:       []string{fmt.Sprintf("status %s, score %.4f", d.Status, d.Score)},
		Checks:      make(map[string][]ietfCheck, len(s.Checks)),
	}
	if d.Status != StatusHealthy {
		doc.Output = d.Message
	}
	for name, v := range s.Checks {
		if v.Disabled {
			continue
		}
		c := ietfCheck{ComponentID: name, ComponentType: "component"}
		if v.Component == ComponentResources {
			c.ComponentType = "system"
		}
		switch {
		case v.State == StateFailing:
			c.Status = "fail"
		case v.Timestamp.IsZero():
			c.Status = "warn" // no result yet
		case v.Healthy && v.State == StatePassing:
			c.Status = "pass"
		default:
			c.Status = "warn" // failed, but not (yet) confirmed
		}
		if !v.Timestamp.IsZero() {
			ms := float64(v.Latency) / float64(time.Millisecond)
			c.ObservedValue, c.ObservedUnit = &ms, "ms"
			c.Time = v.Timestamp.UTC().Format(time.RFC3339Nano)
		}
		if c.Status != "pass" {
			c.Output = v.Message
		}
		key := v.Component + ":" + name
		doc.Checks[key] = append(doc.Checks[key], c)
	}
	return doc
}

// wantsHealthJSON reports whether the client accepts application/health+json
// (and did not give it q=0).
func wantsHealthJSON(r *http.Request) bool {
	for _, accept := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(accept, ",") {
			mediaType, params, _ := strings.Cut(part, ";")
			if !strings.EqualFold(strings.TrimSpace(mediaType), contentHealthJSON) {
				continue
			}
			if !refused(params) {
				return true
			}
		}
	}
	return false
}

// refused reports whether media-type parameters carry q=0.
func refused(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}
