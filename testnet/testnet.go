package testnet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
)

// Testnet drives the nodes recorded in one directory. It rereads the state
// file for every operation, so it sees what other commands (a chaos
// restart in another terminal) changed.
type Testnet struct {
	dir string
	log *slog.Logger
	ip  IPRunner
	obs observer
}

// Options are the dependencies a Testnet needs besides its directory.
type Options struct {
	// Log receives the testnet's own diagnostics; nil discards them.
	Log *slog.Logger
	// IP runs iproute2's ip; nil means the real command.
	IP IPRunner
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.IP == nil {
		o.IP = ExecIP
	}
	return o
}

// Open attaches to the testnet that up started in dir.
func Open(dir string, opts Options) (*Testnet, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("testnet dir %q: %w", dir, err)
	}
	if _, err := LoadState(abs); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Testnet{dir: abs, log: opts.Log, ip: opts.IP}, nil
}

// Dir is the testnet's directory.
func (t *Testnet) Dir() string { return t.dir }

// State reads the current state file.
func (t *Testnet) State() (*State, error) { return LoadState(t.dir) }

// Observe reads every node at once.
func (t *Testnet) Observe(ctx context.Context, what Scrape) ([]NodeStatus, error) {
	st, err := t.State()
	if err != nil {
		return nil, err
	}
	obs := t.obs.observeAll(ctx, st, what)
	t.learnPeerIDs(st, obs)
	return obs, nil
}

// learnPeerIDs records peer IDs the state lacks (up may return before
// every node has answered), so a node that dies later keeps its identity
// in tables and reports.
func (t *Testnet) learnPeerIDs(st *State, obs []NodeStatus) {
	missing := false
	for i, s := range obs {
		if i < len(st.Nodes) && st.Nodes[i].PeerID == "" && s.PeerID != "" {
			missing = true
		}
	}
	if !missing {
		return
	}
	_, err := UpdateState(t.dir, func(st *State) error {
		for i, s := range obs {
			if i < len(st.Nodes) && st.Nodes[i].PeerID == "" && s.PeerID != "" {
				st.Nodes[i].PeerID = s.PeerID
			}
		}
		return writeTargets(st)
	})
	if err != nil {
		t.log.Warn("record peer IDs", "err", err)
	}
}

// Close drops idle HTTP connections to the nodes.
func (t *Testnet) Close() { t.obs.close() }

func (t *Testnet) netns(st *State) (netns, error) {
	plan, err := ParseSubnet(st.Subnet)
	if err != nil {
		return netns{}, err
	}
	return netns{ip: t.ip, names: Names{Prefix: st.Prefix}, plan: plan}, nil
}
