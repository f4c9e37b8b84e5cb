package results

// Scale-curve runs (issue 11) are curve-<N>.json, one per mesh size.
const FileCurvePattern = "curve-*.json"

// Curve is one point of the scale curve: N netns nodes found by mDNS (the
// testnet's scale scenario), how long they took to become ready and to
// agree on a leader, then what each node costs in a steady-state window,
// and the same window over N bare libp2p hosts started afterwards.
type Curve struct {
	Header
	Nodes int    `json:"nodes"`
	Mode  string `json:"mode"`
	// ReadySeconds and LeaderSeconds count from the first node's start
	// (namespaces and processes included); nil when not reached before
	// the scenario's timeout.
	ReadySeconds  *float64 `json:"ready_seconds,omitempty"`
	LeaderSeconds *float64 `json:"leader_seconds,omitempty"`
	// Converged is false when the mesh was measured without having become
	// ready with one leader (the window then shows a mesh in trouble).
	Converged bool `json:"converged"`
	// SettleSeconds is the pause from convergence to the window: the
	// window measures the mesh at rest, not its start-up.
	SettleSeconds float64 `json:"settle_seconds"`
	// ConnLow and ConnHigh are the node's connection-manager watermarks
	// (its --print-config); the bare hosts ran with the same.
	ConnLow  int `json:"conn_low,omitempty"`
	ConnHigh int `json:"conn_high,omitempty"`
	// BarePeers is each bare host's connected-peer count at the end of
	// its window (-1: it reported none).
	BarePeers []int `json:"bare_peers,omitempty"`
	// WindowSeconds is the node window; BareWindowSeconds the bare one.
	WindowSeconds     float64 `json:"window_seconds"`
	BareWindowSeconds float64 `json:"bare_window_seconds,omitempty"`
	// Intake is every node's health-message intake over the window.
	Intake []NodeIntake `json:"intake"`
	// Procs are CPU and RSS over the window: Kind node for the nodes,
	// bare for the bare hosts.
	Procs []ProcSample `json:"procs"`
	// NodeLoad and BareLoad are the 1-minute load average at the start
	// and end of each window.
	NodeLoad [2]float64 `json:"node_load_avg"`
	BareLoad [2]float64 `json:"bare_load_avg"`
	// Hold is the false-alarm watch after the window, when one ran.
	Hold *CurveHold `json:"hold,omitempty"`
	// Scenario is where the scale scenario's own JSON report was written.
	Scenario string `json:"scenario_report,omitempty"`
}

// NodeIntake is one node's meshhealth_pubsub_messages_received_total over
// the window, per second: in total (every topic the node reports) and by
// topic. Missing is set when the node exported no such counter (a build
// before it) or did not answer. Peers and Term are its
// meshhealth_connected_peers and meshhealth_election_term at the end of
// the window; RxPackets its namespace's received packets per second (every
// copy, gossip and transport overhead included), nil when unread.
type NodeIntake struct {
	Node      string             `json:"node"`
	PerSecond float64            `json:"per_second"`
	ByTopic   map[string]float64 `json:"by_topic,omitempty"`
	Missing   bool               `json:"missing,omitempty"`
	Peers     *float64           `json:"peers,omitempty"`
	Term      *float64           `json:"term,omitempty"`
	RxPackets *float64           `json:"rx_packets_per_second,omitempty"`
}

// CurveHold is what the scale scenario's optional hold saw.
type CurveHold struct {
	Seconds       float64  `json:"seconds"`
	Polls         int      `json:"polls"`
	FailedPolls   int      `json:"failed_polls"`
	StatusChanges int      `json:"status_changes"`
	LeaderChanges int      `json:"leader_changes"`
	Exits         int      `json:"exits"`
	Changes       []string `json:"changes,omitempty"`
	Violations    []string `json:"violations,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// FalseAlarms is every change the hold counted; an exit is a status
// change too.
func (h *CurveHold) FalseAlarms() int {
	return h.StatusChanges + h.LeaderChanges
}

// Clean is a hold with no false alarm, no failed poll and no error.
func (h *CurveHold) Clean() bool {
	return h.FalseAlarms() == 0 && h.FailedPolls == 0 && h.Error == ""
}
