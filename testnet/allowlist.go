package testnet

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// keysWait bounds `meshhealth keys id`: it writes a few small key files.
const keysWait = 30 * time.Second

// writeAllowList (re)writes the mesh's allow-list: every member's peer ID,
// and for each rotation so far one more (a spare identity, the next
// generation of a key being installed before the old one goes). The
// members' identities are made by the node binary itself (meshhealth keys
// id), in their data directories, before they start. The file is replaced
// by a rename, so a node never reads half of it.
func writeAllowList(ctx context.Context, st *State) error {
	var dirs []string
	for _, n := range st.Nodes {
		if !n.Outsider {
			dirs = append(dirs, n.DataDir)
		}
	}
	for v := 1; v <= st.AllowListVersion; v++ {
		d := filepath.Join(st.Dir, fmt.Sprintf("spare-%d", v))
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("allow-list: %w", err)
		}
		dirs = append(dirs, d)
	}
	ctx, cancel := context.WithTimeout(ctx, keysWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, st.NodeBin, append([]string{"keys", "id"}, dirs...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("allow-list: %s keys id: %w: %s", st.NodeBin, err, strings.TrimSpace(stderr.String()))
	}
	tmp := st.AllowList + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return fmt.Errorf("allow-list: %w", err)
	}
	if err := os.Rename(tmp, st.AllowList); err != nil {
		return fmt.Errorf("allow-list: %w", err)
	}
	return nil
}
