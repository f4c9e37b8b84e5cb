package node

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"gopkg.in/yaml.v3"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
	"github.com/meshhealth/meshhealth/pkg/status"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

// Probe is the schedule of one check. In its flags' usage, {name} is the
// check's name (the key under probes).
type Probe struct {
	Enabled  bool          `yaml:"enabled" flag:"enabled" usage:"run the {name} check"`
	Interval time.Duration `yaml:"interval" flag:"interval" usage:"{name} check interval"`
	Timeout  time.Duration `yaml:"timeout" flag:"timeout" usage:"{name} check timeout (the adaptive timeout's ceiling for network probes)"`
}

// Probes holds every check's schedule. Each one's flags are
// --probe-<name>-enabled, -interval and -timeout.
type Probes struct {
	PubSub       Probe `yaml:"pubsub" flag:"probe-pubsub"`
	DHT          Probe `yaml:"dht" flag:"probe-dht"`
	Election     Probe `yaml:"election" flag:"probe-election"`
	Connectivity Probe `yaml:"connectivity" flag:"probe-connectivity"`
	Resources    Probe `yaml:"resources" flag:"probe-resources"`
}

// Election holds the election's timing; see pkg/election for what each trades off.
type Election struct {
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval" flag:"election-heartbeat-interval" usage:"leader heartbeat period"`
	HeartbeatTimeout  time.Duration `yaml:"heartbeat_timeout" flag:"election-heartbeat-timeout" usage:"silence after which a follower stands (randomised up to +50%)"`
	BootstrapWait     time.Duration `yaml:"bootstrap_wait" flag:"election-bootstrap-wait" usage:"wait for a leader at start before standing"`
	ElectionWindow    time.Duration `yaml:"election_window" flag:"election-window" usage:"time a voter collects candidates before voting"`
	MemberTTL         time.Duration `yaml:"member_ttl" flag:"election-member-ttl" usage:"a member unheard this long no longer counts toward the majority"`
	MaxLeaderChanges  int           `yaml:"max_leader_changes" flag:"election-max-leader-changes" usage:"leadership changes in 10 min above which election-stability fails"`
}

// Config is everything a node can be told. The zero value is not useful;
// start from Default.
//
// Each field is declared once, here: its yaml tag is its key in the file
// and in --print-config, its flag tag its flag (and so its MESHHEALTH_*
// variable), its usage tag the flag's help (flagtree.go binds them).
// Nested structs without a flag tag add no prefix; with one, their flags
// are <prefix>-<flag>.
type Config struct {
	Listen               []string      `yaml:"listen" flag:"listen" usage:"libp2p listen multiaddr (repeatable or comma-separated)"`
	HTTP                 string        `yaml:"http" flag:"http" usage:"HTTP address for /health, /metrics and /debug/fault"`
	DataDir              string        `yaml:"data_dir" flag:"data-dir" usage:"directory for the identity key and the restart-loop guard"`
	Bootstrap            []string      `yaml:"bootstrap,omitempty" flag:"bootstrap" usage:"bootstrap peer multiaddr with /p2p/<id> (repeatable or comma-separated); never a public peer"`
	MDNS                 bool          `yaml:"mdns" flag:"mdns" usage:"discover peers on the LAN by mDNS"`
	MinPeers             int           `yaml:"min_peers" flag:"min-peers" usage:"connected peers below which p2p-connectivity fails (0 to run alone)"`
	ConnLow              int           `yaml:"conn_low" flag:"conn-low" usage:"connection manager low watermark"`
	ConnHigh             int           `yaml:"conn_high" flag:"conn-high" usage:"connection manager high watermark"`
	StartupGrace         time.Duration `yaml:"startup_grace" flag:"startup-grace" usage:"time before missing results count as failures and a critical failure may stop the node"`
	ShutdownOnCritical   bool          `yaml:"shutdown_on_critical" flag:"shutdown-on-critical" usage:"exit with code 3 when a critical check is confirmed failing"`
	ShutdownTimeout      time.Duration `yaml:"shutdown_timeout" flag:"shutdown-timeout" usage:"bound on the whole graceful shutdown"`
	LogLevel             string        `yaml:"log_level" flag:"log-level" usage:"debug, info, warn or error"`
	LogFormat            string        `yaml:"log_format" flag:"log-format" usage:"text or json"`
	EnableFaultInjection bool          `yaml:"enable_fault_injection" flag:"enable-fault-injection" usage:"serve POST /debug/fault (only on a loopback or testnet HTTP address)"`
	// FaultToken is the bearer token POST /debug/fault requires; empty
	// means a random one per start. Either way the token in use is written
	// to <data-dir>/fault-token (0600) for local tools such as the testnet.
	FaultToken string `yaml:"fault_token,omitempty" flag:"fault-token" usage:"bearer token for /debug/fault, at least 16 characters (default: random at each start); prefer MESHHEALTH_FAULT_TOKEN, flags show in ps. Written to <data-dir>/fault-token"`

	// MaxHTTPConnections caps open HTTP connections (keep-alive and
	// streams included); the ones beyond it get 503 with Retry-After and
	// are closed. 256: dozens of probers and scrapers with room to spare,
	// far below the file descriptors libp2p shares the process with.
	MaxHTTPConnections int `yaml:"max_http_connections" flag:"max-http-connections" usage:"open HTTP connections beyond which requests get 503 with Retry-After"`
	// MaxEventStreams caps concurrent event streams, /health/events and
	// /health/mesh/events together (each holds a goroutine, a connection
	// and a buffer while it lasts); beyond it a new stream gets 503 with
	// Retry-After. 64: a handful of dashboards and
	// watchers per node, with headroom.
	MaxEventStreams int `yaml:"max_event_streams" flag:"max-event-streams" usage:"concurrent event streams (/health/events and /health/mesh/events together) beyond which a new one gets 503 with Retry-After"`

	FailureThreshold  int           `yaml:"failure_threshold" flag:"failure-threshold" usage:"consecutive failures before a check is failing"`
	SuccessThreshold  int           `yaml:"success_threshold" flag:"success-threshold" usage:"consecutive successes before a failing check passes again"`
	RetryInterval     time.Duration `yaml:"retry_interval" flag:"retry-interval" usage:"re-run delay after a failed check"`
	ScoreHorizon      time.Duration `yaml:"score_horizon" flag:"score-horizon" usage:"results older than this no longer count toward a check's score (0: only the 20-result window)"`
	HealthyThreshold  float64       `yaml:"healthy_threshold" flag:"healthy-threshold" usage:"system score below which the node is degraded"`
	DegradedThreshold float64       `yaml:"degraded_threshold" flag:"degraded-threshold" usage:"system score below which the node is unhealthy"`
	// Weights of the components in the system score, one flag each:
	// --weight-<component>. An unknown component is a configuration error.
	Weights map[string]float64 `yaml:"weights" flag:"weight-{component}" usage:"weight of the {component} component in the system score"`

	// SummaryInterval is how often the node publishes its summary on
	// meshhealth/summary/v1 (peers keep the latest for 3 intervals).
	SummaryInterval time.Duration `yaml:"summary_interval" flag:"summary-interval" usage:"how often the node publishes its summary to its peers"`

	Probes    Probes                `yaml:"probes"`
	Election  Election              `yaml:"election"`
	Resources probes.ResourceLimits `yaml:"resources"`
}

// Default is a LAN node: probes tuned so a partitioned node is noticed in
// seconds (docs/ARCHITECTURE.md, "A partitioned node") while a loaded
// machine, whose slow answers stretch the adaptive timeouts, does not raise
// false alarms.
func Default() Config {
	// Each package's defaults, stated once there with their reasons; the
	// node adds only what is its own (addresses, logging, the HTTP caps,
	// the probes' schedules).
	hc, ec, pc, sc := health.DefaultConfig(), election.DefaultConfig(), p2p.DefaultConfig(), shutdown.DefaultConfig()
	dataDir := pc.DataDir
	if home, err := os.UserHomeDir(); err == nil {
		dataDir = filepath.Join(home, ".meshhealth")
	}
	return Config{
		Listen:             slices.Clone(pc.Listen),
		HTTP:               "127.0.0.1:8081",
		DataDir:            dataDir,
		MDNS:               pc.MDNS,
		MinPeers:           1,
		ConnLow:            pc.ConnLow,
		ConnHigh:           pc.ConnHigh,
		StartupGrace:       hc.StartupGrace,
		ShutdownOnCritical: hc.ShutdownOnCritical,
		ShutdownTimeout:    sc.Timeout,
		LogLevel:           "info",
		LogFormat:          "text",
		MaxHTTPConnections: 256,
		MaxEventStreams:    health.DefaultMaxEventStreams,
		FailureThreshold:   health.DefaultFailureThreshold,
		SuccessThreshold:   health.DefaultSuccessThreshold,
		RetryInterval:      hc.RetryInterval,
		ScoreHorizon:       hc.ScoreHorizon,
		HealthyThreshold:   hc.HealthyThreshold,
		DegradedThreshold:  hc.DegradedThreshold,
		Weights:            maps.Clone(hc.Weights),
		SummaryInterval:    summary.DefaultInterval,
		Probes: Probes{
			PubSub:       Probe{Enabled: true, Interval: 10 * time.Second, Timeout: 3 * time.Second},
			DHT:          Probe{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second},
			Election:     Probe{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
			Connectivity: Probe{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
			Resources:    Probe{Enabled: true, Interval: 15 * time.Second, Timeout: 2 * time.Second},
		},
		Election: Election{
			HeartbeatInterval: ec.HeartbeatInterval,
			HeartbeatTimeout:  ec.HeartbeatTimeout,
			BootstrapWait:     ec.BootstrapWait,
			ElectionWindow:    ec.ElectionWindow,
			MemberTTL:         ec.MemberTTL,
			MaxLeaderChanges:  ec.MaxLeaderChanges,
		},
		Resources: probes.DefaultResourceLimits(),
	}
}

// Validate returns one error per problem, each a line an operator can act on.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if len(c.Listen) == 0 {
		bad("listen: at least one multiaddr is needed")
	}
	for _, l := range c.Listen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			bad("listen %q: %v", l, err)
		}
	}
	for _, b := range c.Bootstrap {
		a, err := ma.NewMultiaddr(b)
		if err != nil {
			bad("bootstrap %q: %v", b, err)
			continue
		}
		if _, err := a.ValueForProtocol(ma.P_P2P); err != nil {
			bad("bootstrap %q: needs a /p2p/<peer-id> part", b)
		}
	}
	httpHost, err := validHostPort(c.HTTP)
	if err != nil {
		bad("http %q: %v", c.HTTP, err)
	}
	if c.EnableFaultInjection && err == nil && !faultInjectionAllowed(httpHost) {
		bad("enable-fault-injection: refused because http %q is neither loopback nor a testnet address (198.18.0.0/15)", c.HTTP)
	}
	if c.DataDir == "" {
		bad("data-dir: must not be empty (the identity key lives there)")
	}
	if c.MinPeers < 0 {
		bad("min-peers: %d is negative", c.MinPeers)
	}
	if c.ConnLow < 1 || c.ConnHigh < c.ConnLow {
		bad("conn-low/conn-high: need 1 <= conn-low (%d) <= conn-high (%d)", c.ConnLow, c.ConnHigh)
	}
	positive := map[string]time.Duration{
		"startup-grace": c.StartupGrace, "shutdown-timeout": c.ShutdownTimeout, "retry-interval": c.RetryInterval,
		"summary-interval": c.SummaryInterval,
	}
	for _, name := range []string{"startup-grace", "shutdown-timeout", "retry-interval", "summary-interval"} {
		if positive[name] <= 0 {
			bad("%s: must be > 0, got %v", name, positive[name])
		}
	}
	for _, p := range c.probeList() {
		if p.Interval <= 0 || p.Timeout <= 0 {
			bad("probe-%s: interval and timeout must be > 0 (got %v / %v)", p.name, p.Interval, p.Timeout)
		} else if p.Timeout > p.Interval {
			bad("probe-%s: timeout %v exceeds interval %v", p.name, p.Timeout, p.Interval)
		}
	}
	if c.ScoreHorizon < 0 {
		bad("score-horizon: must be >= 0, got %v", c.ScoreHorizon)
	}
	if c.FailureThreshold < 1 {
		bad("failure-threshold: must be >= 1, got %d", c.FailureThreshold)
	}
	if c.SuccessThreshold < 1 {
		bad("success-threshold: must be >= 1, got %d", c.SuccessThreshold)
	}
	if !(c.DegradedThreshold > 0 && c.DegradedThreshold <= c.HealthyThreshold && c.HealthyThreshold <= 1) {
		bad("thresholds: need 0 < degraded-threshold (%v) <= healthy-threshold (%v) <= 1", c.DegradedThreshold, c.HealthyThreshold)
	} else if h := health.DefaultConfig().Hysteresis; c.HealthyThreshold+h > 1 {
		// A node that fell below the threshold must climb the hysteresis
		// above it to be healthy again: above 1-h it never could.
		bad("healthy-threshold: %v leaves no room for the %v hysteresis above it: at most %v", c.HealthyThreshold, h, 1-h)
	}
	sum := 0.0
	for _, comp := range slices.Sorted(maps.Keys(c.Weights)) {
		w := c.Weights[comp]
		switch {
		case !slices.Contains(components, comp):
			// A misspelt component would otherwise weigh nothing, and the
			// real one would keep its default behind the operator's back.
			bad("weights: unknown component %q (known: %s)", comp, strings.Join(components, ", "))
		case math.IsNaN(w) || math.IsInf(w, 0):
			bad("weight-%s: %v is not a finite number", comp, w)
		case w < 0:
			bad("weight-%s: %v is negative", comp, w)
		default:
			sum += w
		}
	}
	if sum <= 0 {
		bad("weights: must sum to more than 0")
	}
	// The election owns its timing rules (and says why each holds).
	if err := electionConfig(c).Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Resources.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format: %q is not one of text, json", c.LogFormat)
	}
	if c.FaultToken != "" && len(c.FaultToken) < minFaultTokenLen {
		bad("fault-token: at least %d characters (leave it empty for a random one)", minFaultTokenLen)
	}
	for _, cp := range []struct {
		name string
		v    int
	}{{"max-http-connections", c.MaxHTTPConnections}, {"max-event-streams", c.MaxEventStreams}} {
		if cp.v < 1 {
			bad("%s: must be >= 1, got %d", cp.name, cp.v)
		}
	}
	if c.MaxEventStreams >= c.MaxHTTPConnections && c.MaxHTTPConnections >= 1 {
		bad("max-event-streams (%d) must be below max-http-connections (%d), or streams could hold every connection and starve the probes",
			c.MaxEventStreams, c.MaxHTTPConnections)
	}
	// The health manager and the libp2p node have rules of their own (the
	// hysteresis above the healthy threshold; conn-high strictly above
	// conn-low). Once our own checks pass, their verdicts are asked too, so
	// nothing that passes here fails later at start-up with exit 1 instead
	// of the configuration code.
	if len(errs) == 0 {
		for _, part := range []struct {
			name string
			err  error
		}{{"health", healthConfigOf(c).Validate()}, {"p2p", p2pConfig(c).Validate()}} {
			if part.err != nil {
				for _, e := range unjoin(part.err) {
					bad("%s: %v", part.name, e)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// components are the system score's components, the keys of Weights.
var components = func() []string {
	var out []string
	for _, c := range status.Components() {
		out = append(out, string(c))
	}
	return out
}()

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

type namedProbe struct {
	name string
	Probe
}

func (c Config) probeList() []namedProbe {
	return []namedProbe{
		{"pubsub", c.Probes.PubSub}, {"dht", c.Probes.DHT}, {"election", c.Probes.Election},
		{"connectivity", c.Probes.Connectivity}, {"resources", c.Probes.Resources},
	}
}

func validHostPort(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("port %q out of range 0-65535", port)
	}
	return host, nil
}

// testnetPrefix is the RFC 2544 benchmarking range the testnet's bridge
// lives in: never routed on the internet, so a fault endpoint there cannot
// be reached from outside the machine.
var testnetPrefix = netip.MustParsePrefix("198.18.0.0/15")

func faultInjectionAllowed(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return a.IsLoopback() || testnetPrefix.Contains(a.Unmap())
}

// LoadFile merges a YAML file over c. Unknown keys are errors: a typo in a
// config file must not silently leave a default in place (unknown weight
// components are Validate's to refuse, since weights are a map).
//
// An empty file, or one with only comments, sets nothing: a configuration
// tool that renders no settings means "the defaults", as an empty
// environment does. A second YAML document is an error rather than
// ignored: whatever it says would otherwise be silently lost.
func (c *Config) LoadFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(c); errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return fileErrors(path, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("config file %s: %w", path, err)
	default:
		return fmt.Errorf("config file %s: a second YAML document at line %d: put every setting in one document", path, next.Line)
	}
}

// fileErrors gives one line per problem: yaml.v3 puts every unknown key or
// bad value of a file in one error, a header line and an indented line each.
func fileErrors(path string, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	errs := make([]error, len(te.Errors))
	for i, e := range te.Errors {
		errs[i] = fmt.Errorf("config file %s: %s", path, e)
	}
	return errors.Join(errs...)
}

// YAML renders the effective configuration (--print-config). The fault
// token is left out: printed configurations end up in tickets and chats.
func (c Config) YAML() string {
	c.FaultToken = ""
	b, err := yaml.Marshal(c)
	if err != nil {
		return "# " + err.Error() + "\n"
	}
	return string(b)
}

// String lists are flags that may repeat or take commas.
type stringList struct {
	list *[]string
	set  bool
}

func (s *stringList) String() string {
	if s.list == nil {
		return ""
	}
	return strings.Join(*s.list, ",")
}

// Set replaces the default on first use and appends after that, so
// "--listen a --listen b" means exactly a and b.
func (s *stringList) Set(v string) error {
	if !s.set {
		*s.list = nil
		s.set = true
	}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s.list = append(*s.list, p)
		}
	}
	return nil
}
