package sim

import (
	"github.com/meshhealth/meshhealth/pkg/status"
)

// View is one node as the mesh's observer sees it at one instant.
type View struct {
	Index   int
	Running bool
	Status  status.Status
	Leader  string
	Term    uint64
	// Code and Reason say why a stopped node stopped (3: a confirmed
	// critical failure, as the process's exit code).
	Code   int
	Reason string
}

// Observe reads every node's published health snapshot (never a running
// check), as a scrape of /health would.
func (m *Mesh) Observe() []View {
	out := make([]View, len(m.Nodes))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range m.Nodes {
		v := View{Index: i}
		if n.Attached == nil {
			out[i] = v
			continue
		}
		select {
		case <-n.Done():
			v.Code, v.Reason = n.Wait()
		default:
			v.Running = true
			s := n.Parts().Health.Snapshot()
			v.Status, v.Leader, v.Term = s.Status, s.Leader, s.Term
		}
		out[i] = v
	}
	return out
}

// Leaders counts the running nodes by the leader they follow ("" for none).
func Leaders(vs []View) map[string]int {
	out := map[string]int{}
	for _, v := range vs {
		if v.Running {
			out[v.Leader]++
		}
	}
	return out
}

// Converged says whether every running node in among (nil: all) is
// healthy and follows one same leader.
func Converged(vs []View, among []int) bool {
	leader := ""
	for _, v := range pick(vs, among) {
		if !v.Running || v.Status != status.Healthy || v.Leader == "" {
			return false
		}
		if leader == "" {
			leader = v.Leader
		} else if v.Leader != leader {
			return false
		}
	}
	return true
}

func pick(vs []View, among []int) []View {
	if among == nil {
		return vs
	}
	out := make([]View, 0, len(among))
	for _, i := range among {
		out = append(out, vs[i])
	}
	return out
}
