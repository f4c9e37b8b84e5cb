package testnet

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	want := &State{
		Dir: dir, Mode: ModeNetns, Prefix: "mhabcdef", Subnet: DefaultSubnet, NodeBin: "/bin/meshhealth",
		NodeArgs: []string{"--log-level", "debug"}, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), ReadySeconds: 12.5,
		Nodes: []NodeState{{
			Index: 0, Name: "node0", PID: 42, StartTicks: 7, StartedAt: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
			Args: []string{"--http", "198.18.0.1:8081"}, DataDir: dir + "/node0", Log: dir + "/node0/node.log", LogOffset: 99,
			IP: "198.18.0.1", P2PPort: 4001, HTTP: "198.18.0.1:8081", Listen: []string{"/ip4/198.18.0.1/tcp/4001"},
			PeerID: "12D3KooWabc", Namespace: "mhabcdef-0", HostVeth: "mhabcdefh0", Partitioned: true, Restarts: 2,
		}},
	}
	if err := want.Save(); err != nil {
		t.Fatal(err)
	}
	got, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip changed the state:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadStateWithoutTestnetSaysSo(t *testing.T) {
	_, err := LoadState(t.TempDir())
	if !errors.Is(err, ErrNoTestnet) {
		t.Errorf("err = %v, want ErrNoTestnet", err)
	}
}

func TestUpdateStateSavesTheChange(t *testing.T) {
	dir := t.TempDir()
	(&State{Dir: dir, Nodes: []NodeState{{Name: "node0"}}}).Save()
	if _, err := UpdateState(dir, func(s *State) error { s.Nodes[0].Partitioned = true; return nil }); err != nil {
		t.Fatal(err)
	}
	s, _ := LoadState(dir)
	if !s.Nodes[0].Partitioned {
		t.Error("the update was not saved")
	}
}

func TestStateNodeRejectsUnknownIndex(t *testing.T) {
	s := &State{Nodes: make([]NodeState, 3)}
	if _, err := s.Node(3); err == nil {
		t.Error("node 3 of 3 accepted")
	}
}
