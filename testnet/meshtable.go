package testnet

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/meshhealth/meshhealth/pkg/meshview"
)

// MeshVia reads the mesh as node i sees it (its GET /health/mesh): one
// request, where Observe asks every node.
func (t *Testnet) MeshVia(ctx context.Context, i int) (meshview.Mesh, *State, error) {
	st, err := t.State()
	if err != nil {
		return meshview.Mesh{}, nil, err
	}
	n, err := st.Node(i)
	if err != nil {
		return meshview.Mesh{}, nil, err
	}
	var m meshview.Mesh
	if err := getJSON(ctx, t.obs.client(n.Namespace), "http://"+n.HTTP+"/health/mesh", &m); err != nil {
		return meshview.Mesh{}, st, fmt.Errorf("%s: %w", n.Name, err)
	}
	return m, st, nil
}

// RenderMeshTable writes one node's view of the mesh: a row a member, with
// the testnet's node names where it knows the peer IDs, then the totals.
func RenderMeshTable(w io.Writer, st *State, via string, m meshview.Mesh) error {
	names := map[string]string{}
	if st != nil {
		for _, n := range st.Nodes {
			if n.PeerID != "" {
				names[n.PeerID] = n.Name
			}
		}
	}
	name := func(id string) string {
		if id == "" {
			return "-"
		}
		if n, ok := names[id]; ok {
			return n
		}
		return ShortID(id)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tPEER ID\tSTATE\tSTATUS\tSCORE\tLEADER\tTERM\tSUMMARY AGE\tEVIDENCE\tCONNECTED\tGOSSIP MESH\tDISAGREEMENT")
	for _, x := range m.Members {
		member := name(x.ID)
		if x.Self {
			member += " (via)"
		}
		score, leader, term, age := "-", "-", "-", "-"
		if s := x.Says; s != nil {
			score, leader, term = strconv.FormatFloat(s.Score, 'f', 2, 64), name(s.Leader), strconv.FormatUint(s.Term, 10)
			age = fmt.Sprintf("%.0fs", s.AgeSeconds)
			if !s.Current {
				age += " (expired)"
			}
		}
		evidence, conn := "-", "-"
		if e := x.Seen; e != nil {
			evidence = fmt.Sprintf("%s %.0fs ago", e.Evidence, e.EvidenceAgeSeconds)
			conn = map[bool]string{true: "yes", false: "no"}[e.Connected]
		}
		gossip := "-"
		if !x.Self {
			gossip = "none"
			if len(x.GossipTopics) > 0 {
				gossip = strings.ReplaceAll(strings.Join(x.GossipTopics, ","), "meshhealth/", "")
			}
		}
		dis := x.Disagreement
		if dis == "" {
			dis = "-"
		}
		fmt.Fprintln(tw, strings.Join([]string{member, ShortID(x.ID), x.State, x.Status, score, leader, term, age, evidence, conn, gossip, dis}, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	t := m.Totals
	_, err := fmt.Fprintf(w, "via %s: %d members (%s; %s), leader %s agreed by %d of %d reporting, %d disagreements\n",
		via, t.Members, counts(t.ByState), counts(t.ByStatus), name(t.Leader), t.LeaderAgree, t.LeaderReporting, t.Disagreements)
	return err
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
