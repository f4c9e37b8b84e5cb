package testnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Mode is how nodes are placed on the machine.
type Mode string

const (
	// ModeLocal runs every node on 127.0.0.1 with its own ports.
	ModeLocal Mode = "local"
	// ModeNetns runs every node in its own network namespace on a bridge.
	ModeNetns Mode = "netns"
)

// ParseMode accepts "local" or "netns".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeLocal, ModeNetns:
		return Mode(s), nil
	}
	return "", fmt.Errorf("mode %q: want local or netns", s)
}

// StateFile is the name of the state file inside the testnet directory.
const StateFile = "state.json"

const stateVersion = 1

// State is everything later commands need to find and drive the nodes
// started by up; the nodes are not their children.
type State struct {
	Version   int       `json:"version"`
	Dir       string    `json:"dir"`
	Mode      Mode      `json:"mode"`
	Prefix    string    `json:"prefix"`
	Subnet    string    `json:"subnet,omitempty"`
	NodeBin   string    `json:"node_bin"`
	NodeArgs  []string  `json:"node_args,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// AllowList is the mesh's allow-list file, which every member reads
	// (--allow-list); empty when the mesh admits everyone. AllowListVersion
	// counts its rotations (rotate-allow-list).
	AllowList        string `json:"allow_list,omitempty"`
	AllowListVersion int    `json:"allow_list_version,omitempty"`
	// OutsiderArgs are added to the outsiders' command lines.
	OutsiderArgs []string `json:"outsider_args,omitempty"`
	// ReadySeconds is how long up waited for every node to be ready; 0 if
	// they were not all ready before its timeout.
	ReadySeconds float64     `json:"ready_seconds,omitempty"`
	Nodes        []NodeState `json:"nodes"`
	// Prometheus is the server up --prometheus started, if any.
	Prometheus *PrometheusState `json:"prometheus,omitempty"`
}

// NodeState is one node: its process, its addresses and its identity.
type NodeState struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	PID   int    `json:"pid"`
	// StartTicks is the process start time from /proc/<pid>/stat; a pid
	// whose start time differs is another process that reused the number,
	// and is never signalled.
	StartTicks uint64    `json:"start_ticks,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	Args       []string  `json:"args"`
	DataDir    string    `json:"data_dir"`
	Log        string    `json:"log"`
	// LogOffset is where the current run's output begins in Log: a restart
	// appends, and its exit line must not be confused with an earlier one.
	LogOffset   int64    `json:"log_offset"`
	IP          string   `json:"ip"`
	P2PPort     int      `json:"p2p_port"`
	HTTP        string   `json:"http"`
	Listen      []string `json:"listen"`
	PeerID      string   `json:"peer_id,omitempty"`
	Namespace   string   `json:"namespace,omitempty"`
	HostVeth    string   `json:"host_veth,omitempty"`
	Partitioned bool     `json:"partitioned,omitempty"`
	Restarts    int      `json:"restarts,omitempty"`
	// Outsider: a node with a valid identity that is not on the mesh's
	// allow-list (up --outsiders); the members must refuse it.
	Outsider bool `json:"outsider,omitempty"`
}

// ErrNoTestnet means the directory holds no state: nothing is up there.
var ErrNoTestnet = errors.New("no testnet")

// LoadState reads dir's state file.
func LoadState(dir string) (*State, error) {
	path := filepath.Join(dir, StateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (no %s; run up first)", ErrNoTestnet, dir, StateFile)
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	if s.Version != stateVersion {
		return nil, fmt.Errorf("state %s: version %d, this testnet reads %d", path, s.Version, stateVersion)
	}
	return &s, nil
}

// Save writes the state atomically, so a crash mid-write never leaves a
// state file that down cannot read.
func (s *State) Save() error {
	s.Version = stateVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	tmp, err := os.CreateTemp(s.Dir, ".state-*.json")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(s.Dir, StateFile)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// UpdateState applies fn to dir's state under an exclusive lock and saves
// it, so a chaos command and a running scenario do not overwrite each
// other's changes.
func UpdateState(dir string, fn func(*State) error) (*State, error) {
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	if err := fn(s); err != nil {
		return s, err
	}
	return s, s.Save()
}

func lockDir(dir string) (func(), error) { return lockFile(filepath.Join(dir, ".lock")) }

// lockFile takes an exclusive flock on path, created if missing; the
// returned function releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// Node returns node i, or an error naming the valid range.
func (s *State) Node(i int) (*NodeState, error) {
	if i < 0 || i >= len(s.Nodes) {
		return nil, fmt.Errorf("node %d: the testnet has nodes 0 to %d", i, len(s.Nodes)-1)
	}
	return &s.Nodes[i], nil
}
