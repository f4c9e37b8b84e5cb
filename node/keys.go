package node

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p"
)

// Keys runs `meshhealth keys`, the operator's tool for the allow-list:
//
//	meshhealth keys id DATA_DIR...
//
// makes the identity key in each data directory that has none (as the node
// would at its first start, so the node started on that directory keeps
// that peer ID) and prints one allow-list line per directory: the peer ID,
// then the directory as a comment. The output is an allow-list as it
// stands (--allow-list). It returns the process's exit code.
func Keys(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "id" {
		fmt.Fprintln(stderr, "usage: meshhealth keys id DATA_DIR...")
		fmt.Fprintln(stderr, "  makes each data directory's identity key if it has none, and prints an allow-list naming them")
		return 2
	}
	for _, dir := range args[1:] {
		key, err := p2p.LoadOrCreateIdentity(dir)
		if err != nil {
			fmt.Fprintf(stderr, "meshhealth keys: %s: %v\n", dir, err)
			return 1
		}
		id, err := peer.IDFromPrivateKey(key)
		if err != nil {
			fmt.Fprintf(stderr, "meshhealth keys: %s: %v\n", dir, err)
			return 1
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			abs = dir
		}
		fmt.Fprintf(stdout, "%s  # %s\n", id, abs)
	}
	return 0
}
