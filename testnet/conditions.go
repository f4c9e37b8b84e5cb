package testnet

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// label is a node a chaos step named with as:, and the leadership it saw
// just before the chaos.
type label struct {
	Node   int    `json:"node"`
	PeerID string `json:"peer_id"`
	Leader string `json:"leader,omitempty"`
	Term   uint64 `json:"term"`
}

// verdict is one condition's outcome, worded for someone reading a failed
// run: what was expected, what was seen.
type verdict struct {
	OK       bool
	Expected string
	Seen     string
}

// evalEnv is what conditions are evaluated against.
type evalEnv struct {
	nodes  []NodeStatus
	labels map[string]label
	now    time.Time
	// prom is Prometheus's view, read only when a condition asks it;
	// promErr why it could not be read.
	prom    *PromView
	promErr error
}

// eval evaluates every condition over the selected nodes; the first that
// fails gives the verdict.
func (e *evalEnv) eval(conds []string, idx []int, s *Step) verdict {
	var expected, seen []string
	for _, c := range conds {
		v := e.evalOne(c, idx, s)
		if !v.OK {
			return v
		}
		expected = append(expected, v.Expected)
		if !slices.Contains(seen, v.Seen) {
			seen = append(seen, v.Seen)
		}
	}
	return verdict{OK: true, Expected: strings.Join(expected, "; "), Seen: strings.Join(seen, "; ")}
}

func (e *evalEnv) evalOne(cond string, idx []int, s *Step) verdict {
	if len(idx) == 0 {
		return verdict{Expected: cond + " on at least one node", Seen: "the selection is empty"}
	}
	set := e.names(idx)
	switch cond {
	case CondReady:
		return e.each(idx, set+" ready (healthy or degraded)", NodeStatus.Ready)
	case CondHealthy:
		return e.each(idx, set+" healthy", func(n NodeStatus) bool { return n.Status == string(status.Healthy) })
	case CondNotHealthy:
		return e.each(idx, set+" not healthy", func(n NodeStatus) bool { return n.Status != string(status.Healthy) })
	case CondNotReady:
		return e.each(idx, set+" not ready (neither healthy nor degraded)", func(n NodeStatus) bool { return !n.Ready() })
	case CondPassing:
		return e.each(idx, set+" answering with every check passing", func(n NodeStatus) bool {
			return n.reporting() && len(n.Failing) == 0
		})
	case CondExited:
		want := set + " exited"
		if s != nil && s.Code != nil {
			want += fmt.Sprintf(" with exit code %d", *s.Code)
		}
		return e.each(idx, want, func(n NodeStatus) bool {
			if n.Status != StatusExited {
				return false
			}
			return s == nil || s.Code == nil || (n.Exit != nil && n.Exit.Code == *s.Code)
		})
	case CondPastGrace:
		v := verdict{OK: true, Expected: set + " up longer than their --startup-grace"}
		var seen []string
		for _, i := range idx {
			n := e.nodes[i]
			up := e.now.Sub(n.StartedAt).Truncate(time.Second)
			seen = append(seen, fmt.Sprintf("%s up %v of %v", n.Name, up, n.StartupGrace))
			if up <= n.StartupGrace {
				v.OK = false
			}
		}
		v.Seen = strings.Join(seen, ", ")
		return v
	case CondPromUp, CondAlertFiring, CondAlertInactive:
		return e.promCond(cond, idx, s)
	case CondMaxPeers:
		limit := 0
		if s != nil {
			limit = s.Peers
		}
		return e.maxPeers(idx, limit)
	case CondSaysRefused:
		return e.each(idx, set+" saying peers refused them", func(n NodeStatus) bool {
			return n.reporting() && strings.Contains(n.Message, "refused")
		})
	case CondOutsidersOut:
		return e.outsidersOut(idx)
	case CondOneLeader:
		return e.oneLeader(idx, nil)
	case CondConverged:
		if v := e.evalOne(CondReady, idx, s); !v.OK {
			return v
		}
		return e.oneLeader(idx, nil)
	case CondNewLeader:
		var since *label
		if s != nil {
			if l, ok := e.labels[s.Since]; ok {
				since = &l
			}
		}
		if since == nil {
			return verdict{Expected: "new-leader with since: @label", Seen: "no such label"}
		}
		return e.oneLeader(idx, since)
	}
	return verdict{Expected: "a known condition", Seen: fmt.Sprintf("%q", cond)}
}

// maxPeers: every selected node answers with between 1 and limit connected
// peers (its connected_peers key metric): the bounded degree, and nobody
// left alone by it.
func (e *evalEnv) maxPeers(idx []int, limit int) verdict {
	v := verdict{OK: true, Expected: fmt.Sprintf("%s with 1 to %d connected peers", e.names(idx), limit)}
	var seen []string
	most := 0
	for _, i := range idx {
		n := e.nodes[i]
		switch {
		case n.Peers == nil:
			v.OK = false
			seen = append(seen, n.Name+" "+statusWords(n)+" (peers unknown)")
		case *n.Peers < 1 || *n.Peers > limit:
			v.OK = false
			seen = append(seen, fmt.Sprintf("%s %d", n.Name, *n.Peers))
		default:
			most = max(most, *n.Peers)
		}
	}
	if v.OK {
		v.Seen = fmt.Sprintf("at most %d", most)
	} else {
		v.Seen = strings.Join(seen, ", ")
	}
	return v
}

// each is a condition that every selected node must meet on its own.
func (e *evalEnv) each(idx []int, expected string, ok func(NodeStatus) bool) verdict {
	v := verdict{OK: true, Expected: expected}
	var seen []string
	for _, i := range idx {
		n := e.nodes[i]
		if !ok(n) {
			v.OK = false
		}
		seen = append(seen, n.Name+"="+statusWords(n))
	}
	v.Seen = strings.Join(seen, ", ")
	return v
}

func statusWords(n NodeStatus) string {
	switch {
	case n.Status == StatusExited && n.Exit != nil:
		return fmt.Sprintf("exited (code %d: %s)", n.Exit.Code, n.Exit.Reason)
	case n.Status == StatusExited:
		return "exited (no exit line in its log)"
	case n.Process == ProcStopped:
		return "unreachable (SIGSTOP)"
	case len(n.Failing) > 0:
		return n.Status + " (failing: " + strings.Join(n.Failing, ",") + ")"
	}
	return n.Status
}

// oneLeader: every selected node names the same leader, that leader is one
// of them, and where /metrics was read exactly that node says it leads.
// With since, the leader must also differ from since's and hold a higher
// term.
func (e *evalEnv) oneLeader(idx []int, since *label) verdict {
	set := e.names(idx)
	want := "exactly one leader, among and agreed by " + set
	if since != nil {
		want = fmt.Sprintf("a new leader (not %s) with term > %d, among and agreed by %s", e.nameOf(since.Leader), since.Term, set)
	}
	v := verdict{Expected: want}
	var seen []string
	leaders := map[string]bool{}
	missing := false
	for _, i := range idx {
		n := e.nodes[i]
		switch {
		case !n.reporting():
			seen = append(seen, n.Name+" "+statusWords(n))
			missing = true
		case n.Leader == "":
			seen = append(seen, n.Name+"→none")
			missing = true
		default:
			leaders[n.Leader] = true
			seen = append(seen, fmt.Sprintf("%s→%s (term %d)", n.Name, e.nameOf(n.Leader), n.Term))
		}
	}
	var claim []string
	for _, i := range idx {
		if n := e.nodes[i]; n.IsLeader != nil && *n.IsLeader {
			claim = append(claim, n.Name)
		}
	}
	if len(claim) > 0 {
		seen = append(seen, "is_leader=1 on "+strings.Join(claim, ","))
	}
	v.Seen = strings.Join(seen, ", ")
	if missing || len(leaders) != 1 {
		return v
	}
	var leader string
	for l := range leaders {
		leader = l
	}
	if since != nil && leader == since.Leader {
		v.Seen += fmt.Sprintf("; still the old leader %s", e.nameOf(leader))
		return v
	}
	li := slices.IndexFunc(idx, func(i int) bool { return e.nodes[i].PeerID == leader })
	if li < 0 {
		v.Seen += "; the leader is not among them"
		return v
	}
	ln := e.nodes[idx[li]]
	if ln.IsLeader != nil && (!*ln.IsLeader || len(claim) != 1) {
		v.Seen += "; /metrics disagrees"
		return v
	}
	if since != nil {
		if ln.Term <= since.Term {
			v.Seen += fmt.Sprintf("; term %d not above %d", ln.Term, since.Term)
			return v
		}
	}
	v.OK = true
	v.Seen = fmt.Sprintf("leader %s, term %d", ln.Name, ln.Term)
	return v
}

// agreedLeader is the leader every reporting node names, if they agree.
func (e *evalEnv) agreedLeader() (int, bool) {
	leader := ""
	for _, n := range e.nodes {
		if !n.reporting() {
			continue
		}
		if n.Leader == "" || (leader != "" && n.Leader != leader) {
			return -1, false
		}
		leader = n.Leader
	}
	i := slices.IndexFunc(e.nodes, func(n NodeStatus) bool { return leader != "" && n.PeerID == leader })
	return i, i >= 0
}

func (e *evalEnv) names(idx []int) string {
	if len(idx) == len(e.nodes) {
		return "all nodes"
	}
	var n []string
	for _, i := range idx {
		n = append(n, e.nodes[i].Name)
	}
	return strings.Join(n, ",")
}

func (e *evalEnv) nameOf(peerID string) string {
	if peerID == "" {
		return "none"
	}
	return nameOf(e.nodes, peerID)
}

// promCond answers prom-up, alert-firing and alert-inactive from
// Prometheus's view, node by node (by the target's node label).
func (e *evalEnv) promCond(cond string, idx []int, s *Step) verdict {
	set := e.names(idx)
	if e.prom == nil {
		seen := "no answer from Prometheus"
		if e.promErr != nil {
			seen = e.promErr.Error()
		}
		return verdict{Expected: cond + " on " + set, Seen: seen}
	}
	alert := ""
	if s != nil {
		alert = s.Alert
	}
	v := verdict{OK: true}
	var seen []string
	for _, i := range idx {
		name := e.nodes[i].Name
		var ok bool
		switch cond {
		case CondPromUp:
			v.Expected = set + " up in Prometheus"
			up, known := e.prom.Up[name]
			ok = up
			switch {
			case !known:
				seen = append(seen, name+" not a target yet")
			case up:
				seen = append(seen, name+" up")
			default:
				seen = append(seen, name+" down")
			}
		case CondAlertFiring, CondAlertInactive:
			state := e.prom.alertState(alert, name)
			if cond == CondAlertFiring {
				v.Expected = fmt.Sprintf("%s firing for %s", alert, set)
				ok = state == "firing"
			} else {
				v.Expected = fmt.Sprintf("%s neither pending nor firing for %s", alert, set)
				ok = state == "inactive"
			}
			seen = append(seen, name+" "+state)
		}
		if !ok {
			v.OK = false
		}
	}
	v.Seen = strings.Join(seen, ", ")
	return v
}

// outsidersOut: no selected node counts an outsider among its members, and
// the selected refused at least one peer between them (an outsider that
// dialled only node0 is refused by node0 alone).
func (e *evalEnv) outsidersOut(idx []int) verdict {
	v := verdict{Expected: e.names(idx) + " listing no outsider as a member, having refused at least one peer"}
	outsiders := map[string]string{}
	for _, n := range e.nodes {
		if n.Outsider && n.PeerID != "" {
			outsiders[n.PeerID] = n.Name
		}
	}
	if len(outsiders) == 0 {
		v.Seen = "no outsider with a known peer ID in the testnet (up --outsiders)"
		return v
	}
	var seen []string
	var refused uint64
	ok := true
	for _, i := range idx {
		n := e.nodes[i]
		if n.Members == nil || n.Refused == nil {
			ok = false
			seen = append(seen, n.Name+": /health/mesh not read")
			continue
		}
		refused += *n.Refused
		var in []string
		for _, id := range n.Members {
			if name, bad := outsiders[id]; bad {
				in = append(in, name)
			}
		}
		if len(in) > 0 {
			ok = false
			seen = append(seen, fmt.Sprintf("%s counts %s", n.Name, strings.Join(in, ",")))
		}
	}
	seen = append(seen, fmt.Sprintf("%d refusals", refused))
	v.OK = ok && refused > 0
	v.Seen = strings.Join(seen, "; ")
	return v
}
