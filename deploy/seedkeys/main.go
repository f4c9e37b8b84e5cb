// Command seedkeys makes the identities of a Kubernetes mesh's seed pods, so
// their peer IDs are known before they start and every pod can bootstrap
// from them by DNS name (deploy/k8s, docs/DEPLOY.md):
//
//	go run ./deploy/seedkeys -out seeds -n 3
//	kubectl create secret generic meshhealth-seeds --from-file=seeds/keys
//	kubectl create configmap meshhealth-bootstrap --from-env-file=seeds/bootstrap.env
//
// With -members M it makes the identities of the StatefulSet's first M pods
// (the seeds among them) and writes seeds/allow-list, the mesh's
// membership naming exactly those pods (docs/SECURITY.md):
//
//	go run ./deploy/seedkeys -out seeds -n 3 -members 5
//	kubectl create configmap meshhealth-members --from-file=allow-list=seeds/allow-list
//
// Each key is written by the node's own p2p.LoadOrCreateIdentity, in the
// format the node reads from its data directory; the seed-identity init
// container copies it there on the pod's first start.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/p2p"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("seedkeys", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "seeds", "directory for keys/<pod>.key and bootstrap.env")
	n := fs.Int("n", 3, "number of seed pods (the StatefulSet's first n)")
	name := fs.String("statefulset", "meshhealth", "StatefulSet name: pods are <name>-0, <name>-1, ...")
	service := fs.String("service", "meshhealth", "headless Service name: pods resolve as <pod>.<service>")
	port := fs.Int("port", 4001, "the pods' libp2p port (--listen)")
	members := fs.Int("members", 0, "also make the identities of the first `M` pods (M >= n; the StatefulSet's replicas) and write allow-list naming them; 0: no allow-list")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *n < 1 || fs.NArg() > 0 || (*members != 0 && *members < *n) {
		fmt.Fprintln(stderr, "seedkeys: -n must be at least 1, -members 0 or at least -n, and no arguments")
		return 2
	}
	keys := filepath.Join(*out, "keys")
	if err := os.MkdirAll(keys, 0o700); err != nil {
		fmt.Fprintln(stderr, "seedkeys:", err)
		return 1
	}
	var boot []string
	var list strings.Builder
	list.WriteString("# meshhealth allow-list: the peer IDs admitted to the mesh (go run ./deploy/seedkeys)\n")
	for i := range max(*n, *members) {
		pod := fmt.Sprintf("%s-%d", *name, i)
		addr, id, err := seed(keys, pod, *service, *port)
		if err != nil {
			fmt.Fprintln(stderr, "seedkeys:", err)
			return 1
		}
		fmt.Fprintf(&list, "%s  # %s\n", id, pod)
		if i < *n {
			boot = append(boot, addr)
			fmt.Fprintln(stdout, addr)
		}
	}
	if *members > 0 {
		if err := os.WriteFile(filepath.Join(*out, "allow-list"), []byte(list.String()), 0o644); err != nil {
			fmt.Fprintln(stderr, "seedkeys:", err)
			return 1
		}
	}
	env := "MESHHEALTH_BOOTSTRAP=" + strings.Join(boot, ",") + "\n"
	if err := os.WriteFile(filepath.Join(*out, "bootstrap.env"), []byte(env), 0o644); err != nil {
		fmt.Fprintln(stderr, "seedkeys:", err)
		return 1
	}
	return 0
}

// seed makes (or, when keys/<pod>.key exists, keeps) pod's identity and
// returns its bootstrap multiaddr and peer ID. An existing key is kept:
// running again must not change a deployed pod's peer ID.
func seed(keys, pod, service string, port int) (string, peer.ID, error) {
	tmp, err := os.MkdirTemp(keys, ".gen-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	path := filepath.Join(keys, pod+".key")
	if b, err := os.ReadFile(path); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, p2p.IdentityFile), b, 0o600); err != nil {
			return "", "", err
		}
	}
	key, err := p2p.LoadOrCreateIdentity(tmp)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", pod, err)
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", pod, err)
	}
	b, err := os.ReadFile(filepath.Join(tmp, p2p.IdentityFile))
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("/dns4/%s.%s/tcp/%d/p2p/%s", pod, service, port, id), id, nil
}
