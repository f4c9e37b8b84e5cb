package testnet

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// TargetsFile is the Prometheus file_sd file up writes into the testnet
// directory; point a file_sd_configs entry at it.
const TargetsFile = "targets.json"

type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// targets is one group per node, so every series carries its node's name
// and peer ID.
func targets(st *State) []targetGroup {
	groups := make([]targetGroup, 0, len(st.Nodes))
	for _, n := range st.Nodes {
		labels := map[string]string{
			"job": "meshhealth", "node": n.Name, "testnet": st.Prefix, "mode": string(st.Mode),
		}
		if n.PeerID != "" {
			labels["peer_id"] = n.PeerID
		}
		groups = append(groups, targetGroup{Targets: []string{n.HTTP}, Labels: labels})
	}
	return groups
}

// writeTargets replaces the file atomically: Prometheus rereads it on
// change and must never see half a file.
func writeTargets(st *State) error {
	b, err := json.MarshalIndent(targets(st), "", "  ")
	if err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	path := filepath.Join(st.Dir, TargetsFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	return nil
}
