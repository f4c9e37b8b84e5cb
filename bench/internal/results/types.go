package results

import "time"

// File names inside the results directory, one per section.
const (
	FileRun       = "run.json"
	FileHTTP      = "http.json"
	FileDetect    = "detect-ours.json"
	FileDetectRef = "detect-reference.json"
	// FileDetectAtN is a detection run of ours at another size than 5
	// (fmt verb: N); FileDetectAtNPattern finds them.
	FileDetectAtN        = "detect-ours-n%d.json"
	FileDetectAtNPattern = "detect-ours-n*.json"
	FileSoak             = "soak.json"
	FileIdle             = "idle.json"
	FileGoBench          = "gobench.json"
	// Scale runs are scale-<N>.json, one per mesh size.
	FileScalePattern = "scale-*.json"
)

// Header is common to every section: what ran, when, and how busy the
// machine was around it (a 1-minute load average above the core count
// means the numbers shared the CPU with something else).
type Header struct {
	Section  string     `json:"section"`
	Command  string     `json:"command"`
	Started  time.Time  `json:"started"`
	Finished time.Time  `json:"finished"`
	LoadAvg  [2]float64 `json:"load_avg"` // 1-minute load average at start and at end
	Notes    []string   `json:"notes,omitempty"`
}

// Run describes the whole make bench invocation.
type Run struct {
	Mode     string    `json:"mode"` // quick or full
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Machine  Machine   `json:"machine"`
	Commit   string    `json:"commit"`
	Dirty    bool      `json:"dirty"`
	// Note is free text from BENCH_NOTE, such as "shared machine".
	Note string `json:"note,omitempty"`
	// Skipped names sections that did not run, with why.
	Skipped map[string]string `json:"skipped,omitempty"`
}

// Machine is where the numbers were taken.
type Machine struct {
	CPUs      int     `json:"cpus"`
	Model     string  `json:"model"`
	MemTotal  uint64  `json:"mem_total_bytes"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go_version"`
	Hostname  string  `json:"hostname,omitempty"`
	LoadAvg1  float64 `json:"load_avg_1m"`
}

// HTTP is section 1: /health throughput and latency against a static
// handler serving the same bytes.
type HTTP struct {
	Header
	Tool        string    `json:"tool"` // "wrk 4.1.0" or "meshbench loadgen"
	Duration    float64   `json:"duration_seconds"`
	Connections int       `json:"connections"`
	Threads     int       `json:"threads"`
	HangFault   string    `json:"hang_fault"`
	HangStatus  string    `json:"hang_status"` // the node's status while the fault held
	Runs        []HTTPRun `json:"runs"`
}

// HTTP phases and targets.
const (
	PhaseNormal = "normal"
	PhaseHang   = "hang"

	TargetNode   = "node"
	TargetStatic = "static"
)

// HTTPRun is one load-generator run.
type HTTPRun struct {
	Phase    string  `json:"phase"`
	Target   string  `json:"target"`
	Path     string  `json:"path"`
	Rep      int     `json:"rep"`
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P90ms    float64 `json:"p90_ms"`
	P99ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	Non2xx   int64   `json:"non_2xx"`
	Errors   int64   `json:"errors"` // connect, read, write and timeout errors
	Status   int     `json:"status"` // the status code the body was captured with
	Bytes    int     `json:"body_bytes"`
}

// Detect is section 2: detection of each fault in a netns testnet.
type Detect struct {
	Header
	Config   string   `json:"config"` // ours or reference
	Nodes    int      `json:"nodes"`
	Mode     string   `json:"mode"`
	NodeArgs []string `json:"node_args"`
	PollMs   int      `json:"poll_ms"`
	// WarmupSeconds is how long a follower had run before it was faulted.
	WarmupSeconds float64 `json:"warmup_seconds"`
	// Overlap: a fault could start while an earlier one's node was still
	// recovering (that node was then neither targeted nor counted).
	Overlap bool       `json:"overlap"`
	Runs    []FaultRun `json:"runs"`
}

// FaultRun is one repetition of one fault. Seconds are from the moment the
// fault was applied; nil means the event was not seen before the deadline
// (or does not apply to this fault).
type FaultRun struct {
	Fault  string `json:"fault"`
	Rep    int    `json:"rep"`
	Target string `json:"target"` // node name
	Role   string `json:"role"`   // leader or follower
	// NonHealthy: the target itself first reports a status other than
	// healthy (what it said is NonHealthyStatus).
	NonHealthy        *float64 `json:"non_healthy_s,omitempty"`
	NonHealthyStatus  string   `json:"non_healthy_status,omitempty"`
	NonHealthyMessage string   `json:"non_healthy_message,omitempty"`
	// Check: the expected check's effective state is failing (CheckName
	// says which, and on which node).
	Check        *float64 `json:"check_s,omitempty"`
	CheckName    string   `json:"check_name,omitempty"`
	CheckMessage string   `json:"check_message,omitempty"`
	// Failover: every other node agrees on a new leader with a higher term.
	Failover *float64 `json:"failover_s,omitempty"`
	// Watched says which of the three events this fault is judged on.
	Watched []string `json:"watched"`
	// OthersNonHealthy names nodes other than the target that left healthy
	// during the detection window: collateral alarms.
	OthersNonHealthy []string `json:"others_non_healthy,omitempty"`
	// ProbeTimeout is the target's pubsub probe timeout just before the
	// fault (meshhealth_pubsub_probe_timeout_seconds): the adaptive wait
	// each failed attempt will take. 0 when it could not be read.
	ProbeTimeout float64 `json:"probe_timeout_s,omitempty"`
	// Recovered is the time from undoing the fault until the faulted node
	// is ready again (healthy or degraded) and follows the others' leader.
	// Its score window may keep it degraded for a while longer.
	Recovered *float64 `json:"recovered_s,omitempty"`
	// Healthy is the time from undoing the fault until the node says
	// healthy again (and follows the others' leader): back in service.
	Healthy  *float64 `json:"healthy_s,omitempty"`
	Deadline float64  `json:"deadline_s"`
	Error    string   `json:"error,omitempty"`
}

// Events a fault can be judged on.
const (
	EventNonHealthy = "non_healthy"
	EventCheck      = "check"
	EventFailover   = "failover"
)

// Soak is section 3: status changes after convergence.
type Soak struct {
	Header
	Nodes           int          `json:"nodes"`
	Mode            string       `json:"mode"`
	DurationSeconds float64      `json:"duration_seconds"`
	PollMs          int          `json:"poll_ms"`
	Polls           int          `json:"polls"`
	StatusChanges   int          `json:"status_changes"`
	LeaderChanges   int          `json:"leader_changes"`
	Unreachable     int          `json:"unreachable_polls"` // polls where a node did not answer in time
	Transitions     []Transition `json:"transitions,omitempty"`
}

// Transition is one change seen during a soak.
type Transition struct {
	AtSeconds float64 `json:"at_s"`
	Node      string  `json:"node"`
	Kind      string  `json:"kind"` // status or leader
	From      string  `json:"from"`
	To        string  `json:"to"`
	Message   string  `json:"message,omitempty"`
}

// Idle is section 4: CPU and memory of idle processes.
type Idle struct {
	Header
	DurationSeconds float64      `json:"duration_seconds"`
	Procs           []ProcSample `json:"procs"`
}

// Idle process kinds.
const (
	KindNode = "node"
	KindBare = "bare"
)

// ProcSample is one process measured over the idle window.
type ProcSample struct {
	Kind     string  `json:"kind"`
	Name     string  `json:"name"`
	CPUShare float64 `json:"cpu_share"` // fraction of one core
	RSSMeanB float64 `json:"rss_mean_bytes"`
	RSSMaxB  uint64  `json:"rss_max_bytes"`
	Samples  int     `json:"samples"`
}

// Scale is section 5 for one mesh size.
type Scale struct {
	Header
	Nodes int    `json:"nodes"`
	Mode  string `json:"mode"`
	// UpSeconds is how long testnet up took, namespaces included.
	UpSeconds float64 `json:"up_seconds"`
	// ReadySeconds and ConvergeSeconds count from the first node's start:
	// every node ready; every node ready and agreeing on one leader.
	ReadySeconds    float64  `json:"ready_seconds"`
	ConvergeSeconds *float64 `json:"converge_seconds,omitempty"`
	// Rates per node per minute over RateSeconds after convergence,
	// one entry per node.
	RateSeconds float64     `json:"rate_seconds"`
	PerNode     []NodeRates `json:"per_node,omitempty"`
}

// NodeRates is one node's traffic per minute. ProbeTopicIn is derived from
// the probe-topic publish counters of all the other nodes (GossipSub
// delivers each message once to every subscriber); Received is the node's
// own received-message counter when it exports one.
type NodeRates struct {
	Node           string   `json:"node"`
	ProbePublished float64  `json:"probe_published_per_min"`
	ProbeTopicIn   float64  `json:"probe_topic_in_per_min"`
	Received       *float64 `json:"received_per_min,omitempty"`
	RxPackets      float64  `json:"rx_packets_per_min"`
	RxBytes        float64  `json:"rx_bytes_per_min"`
}

// GoBench is section 6: go test -bench of the health hot paths.
type GoBench struct {
	Header
	Results   []GoBenchResult `json:"results"`
	Benchstat string          `json:"benchstat,omitempty"`
	Raw       string          `json:"raw"`
}

// GoBenchResult is one line of go test -bench output.
type GoBenchResult struct {
	Name        string  `json:"name"`
	Iterations  int64   `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}
