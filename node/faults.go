package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
)

// Faults is POST /debug/fault: it breaks one component on purpose so each
// probe's detection can be measured end to end. Only present with
// --enable-fault-injection, and that flag is refused unless the HTTP address
// is loopback or a testnet address; faultGate stands in front of it (token,
// Host, Origin, Content-Type).
type Faults struct {
	log     *slog.Logger
	mu      sync.Mutex
	setters map[string]func(on bool)
	active  map[string]bool
}

// NewFaults returns an empty fault registry; components add what they can break.
func NewFaults(log *slog.Logger) *Faults {
	return &Faults{log: log, setters: map[string]func(bool){}, active: map[string]bool{}}
}

func faultKey(component, fault string) string { return component + "/" + fault }

// Add makes (component, fault) available; set(true) breaks, set(false) repairs.
func (f *Faults) Add(component, fault string, set func(on bool)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setters[faultKey(component, fault)] = set
}

// Clear repairs every active fault.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clearLocked()
}

func (f *Faults) clearLocked() {
	for k := range f.active {
		f.setters[k](false)
		f.log.Warn("fault cleared", "fault", k)
	}
	clear(f.active)
}

type faultRequest struct {
	Component string `json:"component"`
	Fault     string `json:"fault"`
	Clear     bool   `json:"clear"`
}

type faultResponse struct {
	Active    []string `json:"active"`
	Available []string `json:"available,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func (f *Faults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		f.reply(w, http.StatusOK, "")
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		f.reply(w, http.StatusMethodNotAllowed, "use POST with {\"component\":..., \"fault\":...} or {\"clear\":true}")
		return
	}
	var req faultRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		f.reply(w, http.StatusBadRequest, "bad body: "+err.Error())
		return
	}
	// One object and nothing after it: a body that only starts with valid
	// JSON is not the request its sender meant.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		f.reply(w, http.StatusBadRequest, "bad body: data after the JSON object")
		return
	}
	f.mu.Lock()
	if req.Clear {
		f.clearLocked()
		f.mu.Unlock()
		f.reply(w, http.StatusOK, "")
		return
	}
	k := faultKey(req.Component, req.Fault)
	set, ok := f.setters[k]
	if ok && !f.active[k] {
		set(true)
		f.active[k] = true
		f.log.Warn("fault injected", "fault", k)
	}
	f.mu.Unlock()
	if !ok {
		f.reply(w, http.StatusBadRequest, fmt.Sprintf("unknown fault %q", k))
		return
	}
	f.reply(w, http.StatusOK, "")
}

func (f *Faults) reply(w http.ResponseWriter, code int, msg string) {
	f.mu.Lock()
	resp := faultResponse{Active: []string{}, Error: msg}
	for k := range f.active {
		resp.Active = append(resp.Active, k)
	}
	if code != http.StatusOK {
		for k := range f.setters {
			resp.Available = append(resp.Available, k)
		}
	}
	f.mu.Unlock()
	slices.Sort(resp.Active)
	slices.Sort(resp.Available)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(resp)
}
