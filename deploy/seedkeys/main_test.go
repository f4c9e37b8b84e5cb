package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/node"
	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/membership"
)

// The keys are the node's identities and bootstrap.env is a bootstrap list
// the node accepts; running again keeps every peer ID.
func TestSeedsAreNodeIdentitiesAndAValidBootstrapList(t *testing.T) {
	out := t.TempDir()
	var first strings.Builder
	if code := run([]string{"-out", out, "-n", "3"}, &first, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	env, err := os.ReadFile(filepath.Join(out, "bootstrap.env"))
	if err != nil {
		t.Fatal(err)
	}
	k, v, _ := strings.Cut(strings.TrimSpace(string(env)), "=")
	cfg, _, err := node.Parse([]string{"--data-dir", t.TempDir()}, func(name string) string {
		if name == k {
			return v
		}
		return ""
	}, io.Discard)
	if err != nil || len(cfg.P2P.Bootstrap) != 3 {
		t.Fatalf("the node read %v from %s: %v", cfg.P2P.Bootstrap, env, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the node refuses the bootstrap list: %v", err)
	}
	for i, b := range cfg.P2P.Bootstrap {
		pod := fmt.Sprintf("meshhealth-%d", i)
		if !strings.HasPrefix(b, "/dns4/"+pod+".meshhealth/tcp/4001/p2p/12D3") {
			t.Errorf("bootstrap %d = %s", i, b)
		}
		// The node started with this key as its identity has this peer ID.
		data := t.TempDir()
		key, _ := os.ReadFile(filepath.Join(out, "keys", pod+".key"))
		os.WriteFile(filepath.Join(data, p2p.IdentityFile), key, 0o600)
		priv, err := p2p.LoadOrCreateIdentity(data)
		if err != nil {
			t.Fatal(err)
		}
		id, err := peer.IDFromPrivateKey(priv)
		if err != nil || !strings.HasSuffix(b, "/p2p/"+id.String()) {
			t.Errorf("%s: the key gives peer ID %s, not the one in %s", pod, id, b)
		}
	}
	var second strings.Builder
	if code := run([]string{"-out", out, "-n", "3"}, &second, io.Discard); code != 0 || second.String() != first.String() {
		t.Errorf("a second run changed the seeds:\n%s\nthen\n%s", first.String(), second.String())
	}
}

// With -members, every pod of the StatefulSet gets its identity and the
// allow-list names exactly their peer IDs, in a form the node reads.
func TestMembersGetKeysAndAnAllowListTheNodeReads(t *testing.T) {
	out := t.TempDir()
	var printed strings.Builder
	if code := run([]string{"-out", out, "-n", "2", "-members", "4"}, &printed, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if got := strings.Count(printed.String(), "\n"); got != 2 {
		t.Errorf("%d bootstrap addresses printed, want the 2 seeds'", got)
	}
	list, err := membership.LoadList(filepath.Join(out, "allow-list"))
	if err != nil {
		t.Fatal(err)
	}
	if list.Len() != 4 {
		t.Fatalf("allow-list names %d peers, want 4", list.Len())
	}
	for i := range 4 {
		data := t.TempDir()
		key, err := os.ReadFile(filepath.Join(out, "keys", fmt.Sprintf("meshhealth-%d.key", i)))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(data, p2p.IdentityFile), key, 0o600)
		priv, err := p2p.LoadOrCreateIdentity(data)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := peer.IDFromPrivateKey(priv); !list.Has(id) {
			t.Errorf("meshhealth-%d (%s) is not on the allow-list", i, id)
		}
	}
	if code := run([]string{"-out", out, "-n", "3", "-members", "2"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("-members below -n: exit %d, want 2", code)
	}
}
