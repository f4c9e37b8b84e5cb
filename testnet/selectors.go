package testnet

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// resolveSet turns node selectors into node indexes, in order.
func (e *evalEnv) resolveSet(nodes, except []string) ([]int, error) {
	pick := func(sels []string) (map[int]bool, error) {
		set := map[int]bool{}
		for _, sel := range sels {
			switch {
			case sel == "all":
				for i := range e.nodes {
					set[i] = true
				}
			case strings.HasPrefix(sel, "@"):
				l, ok := e.labels[sel]
				if !ok {
					return nil, fmt.Errorf("node selector %s: not defined yet", sel)
				}
				set[l.Node] = true
			case strings.HasPrefix(sel, "node:"):
				i, err := strconv.Atoi(sel[5:])
				if err != nil || i < 0 || i >= len(e.nodes) {
					return nil, fmt.Errorf("node selector %s: the testnet has nodes 0 to %d", sel, len(e.nodes)-1)
				}
				set[i] = true
			default:
				return nil, fmt.Errorf("node selector %q: want all, node:N or @label", sel)
			}
		}
		return set, nil
	}
	if len(nodes) == 0 {
		nodes = []string{"all"}
	}
	in, err := pick(nodes)
	if err != nil {
		return nil, err
	}
	out, err := pick(except)
	if err != nil {
		return nil, err
	}
	var idx []int
	for i := range e.nodes {
		if in[i] && !out[i] {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// target picks one node. any-follower is the highest-numbered ready node
// that does not lead: repeatable, and it spares node 0, which local mode's
// nodes bootstrap from.
func (e *evalEnv) target(sel string) (int, error) {
	switch sel {
	case "leader":
		if i, ok := e.agreedLeader(); ok {
			return i, nil
		}
		v := e.oneLeader(allIdx(e.nodes), nil)
		return -1, fmt.Errorf("node: leader: no leader all nodes agree on; seen %s", v.Seen)
	case "any-follower":
		leader, _ := e.agreedLeader()
		for i := len(e.nodes) - 1; i >= 0; i-- {
			n := e.nodes[i]
			if i != leader && n.Ready() && (n.IsLeader == nil || !*n.IsLeader) {
				return i, nil
			}
		}
		return -1, errors.New("node: any-follower: no ready node besides the leader")
	}
	idx, err := e.resolveSet([]string{sel}, nil)
	if err != nil {
		return -1, err
	}
	return idx[0], nil
}

// Resolve turns a node selector as the CLI takes it (2, node2, node:2,
// leader, any-follower) into a node index.
func (t *Testnet) Resolve(ctx context.Context, sel string) (int, error) {
	st, err := t.State()
	if err != nil {
		return -1, err
	}
	if i, ok := parseNodeIndex(sel); ok {
		if _, err := st.Node(i); err != nil {
			return -1, err
		}
		return i, nil
	}
	if sel != "leader" && sel != "any-follower" {
		return -1, fmt.Errorf("node %q: want a number, nodeN, leader or any-follower", sel)
	}
	obs, err := t.Observe(ctx, Scrape{Metrics: true})
	if err != nil {
		return -1, err
	}
	env := &evalEnv{nodes: obs}
	return env.target(sel)
}

func parseNodeIndex(sel string) (int, bool) {
	s := strings.TrimPrefix(strings.TrimPrefix(sel, "node"), ":")
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0
}

func allIdx(nodes []NodeStatus) []int {
	idx := make([]int, len(nodes))
	for i := range idx {
		idx[i] = i
	}
	return idx
}
