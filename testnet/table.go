package testnet

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// componentOrder is the node's built-in components in pkg/status's order;
// any other component a node reports follows in name order.
var componentOrder = func() []string {
	var out []string
	for _, c := range status.Components() {
		out = append(out, string(c))
	}
	return out
}()

// RenderTable writes the status table: node, peer ID, address, status,
// score, each component's score, peers, leader, term and a note.
func RenderTable(w io.Writer, nodes []NodeStatus) error {
	names := map[string]string{}
	extra := map[string]bool{}
	for _, s := range nodes {
		if s.PeerID != "" {
			names[s.PeerID] = s.Name
		}
		for c := range s.Components {
			if !slices.Contains(componentOrder, c) {
				extra[c] = true
			}
		}
	}
	comps := slices.Clone(componentOrder)
	var more []string
	for c := range extra {
		more = append(more, c)
	}
	slices.Sort(more)
	comps = append(comps, more...)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := []string{"NODE", "PEER ID", "ADDRESS", "STATUS", "SCORE"}
	for _, c := range comps {
		head = append(head, strings.ToUpper(c))
	}
	head = append(head, "PEERS", "LEADER", "TERM", "NOTE")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, s := range nodes {
		row := []string{s.Name, ShortID(s.PeerID), s.Address, s.Status, score(s, s.Score)}
		for _, c := range comps {
			if v, ok := s.Components[c]; ok && s.reporting() {
				row = append(row, strconv.FormatFloat(v, 'f', 2, 64))
			} else {
				row = append(row, "-")
			}
		}
		peers := "-"
		if s.Peers != nil {
			peers = strconv.Itoa(*s.Peers)
		}
		leader, term := "-", "-"
		if s.reporting() {
			if s.Leader != "" {
				leader = names[s.Leader]
				if leader == "" {
					leader = ShortID(s.Leader)
				}
			}
			if s.IsLeader != nil && *s.IsLeader {
				leader += " *"
			}
			term = strconv.FormatUint(s.Term, 10)
		}
		row = append(row, peers, leader, term, note(s))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, Summarize(nodes))
	return err
}

func (s NodeStatus) reporting() bool {
	return s.Status != StatusExited && s.Status != StatusUnreachable
}

func score(s NodeStatus, v float64) string {
	if !s.reporting() {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

const noteWidth = 60

func note(s NodeStatus) string {
	var parts []string
	if s.Partitioned {
		parts = append(parts, "partitioned")
	}
	switch {
	case s.Status == StatusExited, s.Process == ProcStopped:
		parts = append(parts, s.Message)
	case s.Status == StatusUnreachable:
		parts = append(parts, s.Error)
	case len(s.Failing) > 0:
		parts = append(parts, "failing: "+strings.Join(s.Failing, ","))
	}
	n := strings.Join(parts, "; ")
	if len(n) > noteWidth {
		n = n[:noteWidth-3] + "..."
	}
	return n
}

// ShortID keeps a peer ID recognisable in a table: every Ed25519 ID starts
// with 12D3KooW, so the tail is what tells two apart.
func ShortID(id string) string {
	if len(id) <= 12 {
		if id == "" {
			return "-"
		}
		return id
	}
	return id[:4] + "…" + id[len(id)-6:]
}

// Summarize says in one line how many nodes are ready and who leads.
func Summarize(nodes []NodeStatus) string {
	ready := 0
	votes := map[string]int{}
	for _, s := range nodes {
		if s.Ready() {
			ready++
		}
		if s.reporting() && s.Leader != "" {
			votes[s.Leader]++
		}
	}
	line := fmt.Sprintf("%d nodes, %d ready", len(nodes), ready)
	switch len(votes) {
	case 0:
		return line + ", no leader known"
	case 1:
		for id, n := range votes {
			return fmt.Sprintf("%s, leader %s agreed by %d", line, nameOf(nodes, id), n)
		}
	}
	var parts []string
	for id, n := range votes {
		parts = append(parts, fmt.Sprintf("%s by %d", nameOf(nodes, id), n))
	}
	slices.Sort(parts)
	return fmt.Sprintf("%s, leaders disagree: %s", line, strings.Join(parts, ", "))
}

func nameOf(nodes []NodeStatus, peerID string) string {
	for _, s := range nodes {
		if s.PeerID == peerID {
			return s.Name
		}
	}
	return ShortID(peerID)
}
