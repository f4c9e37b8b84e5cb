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

// Config is everything a node can be told. The zero value is not useful;
// start from Default.
//
// Each setting is declared once: the node's own here, every package's in
// that package's Config type, which Config holds as a section. A field's
// yaml tag is its key in the file and in --print-config, its flag tag its
// flag (and so its MESHHEALTH_* variable), its usage tag the flag's help
// (flagtree.go binds them); a field tagged "-" is not a setting. A section
// without a flag tag adds no prefix to its flags, and with yaml ",inline"
// none to its keys: the p2p, health, shutdown and summary settings sit at
// the file's top level, the election's under election:, as they always
// have. With a flag tag, a section's flags are <prefix>-<flag> (probes).
type Config struct {
	HTTP                 string `yaml:"http" flag:"http" usage:"HTTP address for /health, /metrics and /debug/fault"`
	MinPeers             int    `yaml:"min_peers" flag:"min-peers" usage:"connected peers below which p2p-connectivity fails (0 to run alone)"`
	LogLevel             string `yaml:"log_level" flag:"log-level" usage:"debug, info, warn or error"`
	LogFormat            string `yaml:"log_format" flag:"log-format" usage:"text or json"`
	EnableFaultInjection bool   `yaml:"enable_fault_injection" flag:"enable-fault-injection" usage:"serve POST /debug/fault (only on a loopback or testnet HTTP address)"`
	// FaultToken is the bearer token POST /debug/fault requires; empty
	// means a random one per start. Either way the token in use is written
	// to <data-dir>/fault-token (0600) for local tools such as the testnet.
	FaultToken string `yaml:"fault_token,omitempty" flag:"fault-token" usage:"bearer token for /debug/fault, at least 16 characters (default: random at each start); prefer MESHHEALTH_FAULT_TOKEN, flags show in ps. Written to <data-dir>/fault-token"`

	// MaxHTTPConnections caps open HTTP connections (keep-alive and
	// streams included); the ones beyond it get 503 with Retry-After and
	// are closed. 256: dozens of probers and scrapers with room to spare,
	// far below the file descriptors libp2p shares the process with.
	MaxHTTPConnections int `yaml:"max_http_connections" flag:"max-http-connections" usage:"open HTTP connections beyond which requests get 503 with Retry-After"`

	// The debounce, applied to every check the node registers.
	FailureThreshold int `yaml:"failure_threshold" flag:"failure-threshold" usage:"consecutive failures before a check is failing"`
	SuccessThreshold int `yaml:"success_threshold" flag:"success-threshold" usage:"consecutive successes before a failing check passes again"`

	// P2P is the libp2p host: listen addresses, the data directory (the
	// identity key; the restart-loop guard and the fault token live there
	// too), bootstrap peers, mDNS, the connection manager's watermarks.
	P2P p2p.Config `yaml:",inline"`
	// Health is the health manager: grace periods, thresholds, weights,
	// the exit on a critical failure, the event-stream cap. Its NodeID and
	// Version are the node's, set when it is built.
	Health health.Config `yaml:",inline"`
	// Shutdown bounds the graceful shutdown; its DataDir is P2P.DataDir.
	Shutdown shutdown.Config `yaml:",inline"`
	// Summary is how often the node publishes its summary on
	// meshhealth/summary/v1 (peers keep the latest for 3 intervals).
	Summary summary.Config `yaml:",inline"`

	Probes    Probes                `yaml:"probes"`
	Election  election.Config       `yaml:"election"`
	Resources probes.ResourceLimits `yaml:"resources"`
}

// Default is a LAN node: probes tuned so a partitioned node is noticed in
// seconds (docs/ARCHITECTURE.md, "A partitioned node") while a loaded
// machine, whose slow answers stretch the adaptive timeouts, does not raise
// false alarms.
//
// Each package's section is its DefaultConfig, whose values are stated
// once there with their reasons; the node sets only what is its own (the
// HTTP address and caps, logging, the debounce, the probes' schedules) and
// the few package values a node wants otherwise (below, each with why).
func Default() Config {
	c := Config{
		HTTP:               "127.0.0.1:8081",
		MinPeers:           1,
		LogLevel:           "info",
		LogFormat:          "text",
		MaxHTTPConnections: 256,
		FailureThreshold:   health.DefaultFailureThreshold,
		SuccessThreshold:   health.DefaultSuccessThreshold,
		P2P:                p2p.DefaultConfig(),
		Health:             health.DefaultConfig(),
		Shutdown:           shutdown.DefaultConfig(),
		Summary:            summary.Config{Interval: summary.DefaultInterval},
		Probes: Probes{
			PubSub:       Probe{Enabled: true, Interval: 10 * time.Second, Timeout: 3 * time.Second},
			DHT:          Probe{Enabled: true, Interval: 30 * time.Second, Timeout: 10 * time.Second},
			Election:     Probe{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
			Connectivity: Probe{Enabled: true, Interval: 5 * time.Second, Timeout: time.Second},
			Resources:    Probe{Enabled: true, Interval: 15 * time.Second, Timeout: 2 * time.Second},
		},
		Election:  election.DefaultConfig(),
		Resources: probes.DefaultResourceLimits(),
	}
	// A node run by hand keeps its identity in the home directory, not in
	// whatever directory it was started from.
	if home, err := os.UserHomeDir(); err == nil {
		c.P2P.DataDir = filepath.Join(home, ".meshhealth")
	}
	// The cap is shown as the number it is (0 would mean the same).
	c.Health.MaxEventStreams = health.DefaultMaxEventStreams
	return c
}

// Validate returns one error per problem, each a line an operator can act on.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if len(c.P2P.Listen) == 0 {
		bad("listen: at least one multiaddr is needed")
	}
	for _, l := range c.P2P.Listen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			bad("listen %q: %v", l, err)
		}
	}
	for _, b := range c.P2P.Bootstrap {
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
	if c.P2P.DataDir == "" {
		bad("data-dir: must not be empty (the identity key lives there)")
	}
	if c.MinPeers < 0 {
		bad("min-peers: %d is negative", c.MinPeers)
	}
	if c.P2P.ConnLow < 1 || c.P2P.ConnHigh < c.P2P.ConnLow {
		bad("conn-low/conn-high: need 1 <= conn-low (%d) <= conn-high (%d)", c.P2P.ConnLow, c.P2P.ConnHigh)
	}
	h := c.Health
	positive := map[string]time.Duration{
		"startup-grace": h.StartupGrace, "shutdown-timeout": c.Shutdown.Timeout, "retry-interval": h.RetryInterval,
		"summary-interval": c.Summary.Interval,
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
	if h.ScoreHorizon < 0 {
		bad("score-horizon: must be >= 0, got %v", h.ScoreHorizon)
	}
	if c.FailureThreshold < 1 {
		bad("failure-threshold: must be >= 1, got %d", c.FailureThreshold)
	}
	if c.SuccessThreshold < 1 {
		bad("success-threshold: must be >= 1, got %d", c.SuccessThreshold)
	}
	if !(h.DegradedThreshold > 0 && h.DegradedThreshold <= h.HealthyThreshold && h.HealthyThreshold <= 1) {
		bad("thresholds: need 0 < degraded-threshold (%v) <= healthy-threshold (%v) <= 1", h.DegradedThreshold, h.HealthyThreshold)
	} else if h.HealthyThreshold+h.Hysteresis > 1 {
		// A node that fell below the threshold must climb the hysteresis
		// above it to be healthy again: above 1-h it never could.
		bad("healthy-threshold: %v leaves no room for the %v hysteresis above it: at most %v", h.HealthyThreshold, h.Hysteresis, 1-h.Hysteresis)
	}
	sum := 0.0
	for _, comp := range slices.Sorted(maps.Keys(h.Weights)) {
		w := h.Weights[comp]
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
	if err := c.Election.Validate(); err != nil {
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
	}{{"max-http-connections", c.MaxHTTPConnections}, {"max-event-streams", h.MaxEventStreams}} {
		if cp.v < 1 {
			bad("%s: must be >= 1, got %d", cp.name, cp.v)
		}
	}
	if h.MaxEventStreams >= c.MaxHTTPConnections && c.MaxHTTPConnections >= 1 {
		bad("max-event-streams (%d) must be below max-http-connections (%d), or streams could hold every connection and starve the probes",
			h.MaxEventStreams, c.MaxHTTPConnections)
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
		}{{"health", c.Health.Validate()}, {"p2p", c.P2P.Validate()}} {
			if part.err != nil {
				for _, e := range unjoin(part.err) {
					bad("%s: %v", part.name, e)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// components are the system score's components, the keys of the weights.
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
