package node

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/meshhealth/meshhealth/internal/fielderr"
	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/election"
	"github.com/meshhealth/meshhealth/pkg/health"
	"github.com/meshhealth/meshhealth/pkg/membership"
	"github.com/meshhealth/meshhealth/pkg/opchecks"
	"github.com/meshhealth/meshhealth/pkg/probes"
	"github.com/meshhealth/meshhealth/pkg/recovery"
	"github.com/meshhealth/meshhealth/pkg/shutdown"
	"github.com/meshhealth/meshhealth/pkg/status"
	"github.com/meshhealth/meshhealth/pkg/summary"
)

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

	// Debounce is the health manager's (health.Config.Debounce, applied
	// to every check registered without thresholds of its own). It is a
	// section of its own so that its keys keep their place at the top of
	// the file; Health.Debounce is not a setting, and healthSection
	// replaces it with this.
	Debounce health.Debounce `yaml:",inline"`

	// P2P is the libp2p host: listen addresses, the data directory (the
	// identity key; the restart-loop guard and the fault token live there
	// too), bootstrap peers, mDNS, the connection manager's watermarks.
	P2P p2p.Config `yaml:",inline"`
	// Membership is who may join the mesh: the allow-list file. Off by
	// default (every peer admitted, for a LAN testnet); the first thing
	// to turn on in production (docs/SECURITY.md).
	Membership membership.Config `yaml:",inline"`
	// Health is the health manager: grace periods, thresholds, weights,
	// the exit on a critical failure, the event-stream cap. Its NodeID and
	// Version are the node's, set when it is built.
	Health health.Config `yaml:",inline"`
	// Shutdown bounds the graceful shutdown; its DataDir is P2P.DataDir.
	Shutdown shutdown.Config `yaml:",inline"`
	// Recovery is how long a node cut off by its own fault repairs itself
	// before a confirmed critical failure makes it exit.
	Recovery recovery.Config `yaml:",inline"`
	// Summary is how often the node publishes its summary on
	// meshhealth/summary/v1 (peers keep the latest for 3 intervals).
	Summary summary.Config `yaml:",inline"`

	// Probes are the checks' schedules; probes.DefaultSchedules holds
	// their defaults.
	Probes    probes.Schedules      `yaml:"probes"`
	Election  election.Config       `yaml:"election"`
	Resources probes.ResourceLimits `yaml:"resources"`

	// Checks are the operator's own (pkg/opchecks): a list, so a file's
	// and not a flag's; the health manager runs them beside the probes.
	Checks opchecks.Specs `yaml:"checks,omitempty" flag:"-"`
}

// Default is a LAN node: probes tuned so a partitioned node is noticed in
// seconds (docs/ARCHITECTURE.md, "A partitioned node") while a loaded
// machine, whose slow answers stretch the adaptive timeouts, does not raise
// false alarms.
//
// Each package's section is its DefaultConfig (the probes' schedules
// probes.DefaultSchedules), whose values are stated once there with their
// reasons; the node sets only what is its own (the HTTP address and caps,
// logging) and the few package values a node wants otherwise (below, each
// with why).
func Default() Config {
	c := Config{
		HTTP:               "127.0.0.1:8081",
		MinPeers:           1,
		LogLevel:           "info",
		LogFormat:          "text",
		MaxHTTPConnections: 256,
		P2P:                p2p.DefaultConfig(),
		Membership:         membership.DefaultConfig(),
		Health:             health.DefaultConfig(),
		Shutdown:           shutdown.DefaultConfig(),
		Recovery:           recovery.DefaultConfig(),
		Summary:            summary.DefaultConfig(),
		Probes:             probes.DefaultSchedules(),
		Election:           election.DefaultConfig(),
		Resources:          probes.DefaultResourceLimits(),
	}
	c.Debounce = c.Health.Debounce
	// Every check the node registers uses one of the known components, so
	// a weight for any other is a typo.
	c.Health.Components = components
	// A node run by hand keeps its identity in the home directory, not in
	// whatever directory it was started from.
	if home, err := os.UserHomeDir(); err == nil {
		c.P2P.DataDir = filepath.Join(home, ".meshhealth")
	}
	return c
}

// Validate returns one error per problem, each a line an operator can act
// on that names the setting by its flag. Each package judges its own
// section (its Validate, keyed by field: fielderr); the node adds only its
// own rules (nodeRules), about its own settings or spanning sections. The
// sections are judged as the parts will get them, so nothing that passes
// here fails later at start-up with exit 1 instead of the configuration
// code.
func (c Config) Validate() error {
	var lines []error
	for _, r := range nodeRules {
		for _, msg := range r.check(c) {
			lines = append(lines, describe("", &fielderr.Error{Field: r.fields[0], Msg: msg}))
		}
	}
	for _, s := range c.sections() {
		for _, e := range fielderr.Split(s.err) {
			lines = append(lines, describe(s.path, e))
		}
	}
	return errors.Join(lines...)
}

// section is one package's part of the configuration: the Config field
// holding it and the package's verdict on it.
type section struct {
	path string
	err  error
}

func (c Config) sections() []section {
	return []section{
		{"P2P", c.P2P.Validate()},
		{"Membership", c.Membership.Validate()},
		// With the node's debounce, as the health manager gets it; so the
		// Debounce section is judged here.
		{"Health", c.healthSection().Validate()},
		{"Shutdown", c.Shutdown.Validate()},
		{"Recovery", c.Recovery.Validate()},
		{"Summary", c.Summary.Validate()},
		{"Probes", c.Probes.Validate()},
		{"Election", c.Election.Validate()},
		{"Resources", c.Resources.Validate()},
		{"Checks", c.Checks.Validate(builtinChecks...)},
	}
}

// builtinChecks are the names of the node's own checks, which the
// operator's may not take.
var builtinChecks = []string{probes.CheckPubSubRoundTrip, probes.CheckDHTIntegrity, probes.CheckElection,
	probes.CheckConnectivity, probes.CheckResources}

// healthSection is the health manager's configuration less what only
// exists once the node runs (its peer ID; healthConfig adds it).
func (c Config) healthSection() health.Config {
	h := c.Health
	h.Debounce = c.Debounce
	if h.Components != nil {
		// The operator's checks may bring components of their own, and
		// weights for them.
		h.Components = slices.Concat(h.Components, c.Checks.Components())
	}
	return h
}

// nodeRule is a rule of the node's own. fields are the Config paths it
// reads, the first the one its problems are reported against. A rule
// whose fields all lie in one package's section belongs in that
// package's Validate (TestNodeRulesAreTheNodesOwn).
type nodeRule struct {
	fields []string
	check  func(c Config) []string
}

var nodeRules = []nodeRule{
	{[]string{"HTTP"}, func(c Config) []string {
		if _, err := validHostPort(c.HTTP); err != nil {
			return []string{fmt.Sprintf("%q: %v", c.HTTP, err)}
		}
		return nil
	}},
	{[]string{"EnableFaultInjection", "HTTP"}, func(c Config) []string {
		host, err := validHostPort(c.HTTP)
		if c.EnableFaultInjection && err == nil && !faultInjectionAllowed(host) {
			return []string{fmt.Sprintf("refused because http %q is neither loopback nor a testnet address (198.18.0.0/15)", c.HTTP)}
		}
		return nil
	}},
	{[]string{"MinPeers"}, func(c Config) []string {
		if c.MinPeers < 0 {
			return []string{fmt.Sprintf("%d is negative", c.MinPeers)}
		}
		return nil
	}},
	{[]string{"LogLevel"}, func(c Config) []string {
		switch c.LogLevel {
		case "debug", "info", "warn", "error":
			return nil
		}
		return []string{fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}},
	{[]string{"LogFormat"}, func(c Config) []string {
		switch c.LogFormat {
		case "text", "json":
			return nil
		}
		return []string{fmt.Sprintf("%q is not one of text, json", c.LogFormat)}
	}},
	{[]string{"FaultToken"}, func(c Config) []string {
		if c.FaultToken != "" && len(c.FaultToken) < minFaultTokenLen {
			return []string{fmt.Sprintf("at least %d characters (leave it empty for a random one)", minFaultTokenLen)}
		}
		return nil
	}},
	{[]string{"MaxHTTPConnections"}, func(c Config) []string {
		if c.MaxHTTPConnections < 1 {
			return []string{fmt.Sprintf("must be >= 1, got %d", c.MaxHTTPConnections)}
		}
		return nil
	}},
	// The event streams and the probes' own requests share the HTTP
	// server's connections.
	{[]string{"Health.MaxEventStreams", "MaxHTTPConnections"}, func(c Config) []string {
		if s, h := c.Health.MaxEventStreams, c.MaxHTTPConnections; h >= 1 && s >= h {
			return []string{fmt.Sprintf("%d must be below max-http-connections (%d), or streams could hold every connection and starve the probes", s, h)}
		}
		return nil
	}},
}

// describe puts the setting's name, as the operator knows it, in front of
// a problem found in the section at path ("" for the node's own fields).
func describe(path string, err error) error {
	var fe *fielderr.Error
	if !errors.As(err, &fe) {
		return fmt.Errorf("%s: %w", strings.ToLower(path), err)
	}
	field := fe.Field
	if path != "" {
		field = path + "." + field
	}
	return fmt.Errorf("%s: %s", settingName(field, fe.Key), fe.Msg)
}

// settingName is the flag of the Config field at path (as bindFlags names
// it: the flag tags of the structs on the way are prefixes), with key in
// place of a map field's {placeholder}. A map field without a key is named
// by its YAML key; a field that is no setting by its Go path.
func settingName(path, key string) string {
	t := reflect.TypeFor[Config]()
	names := strings.Split(path, ".")
	prefix := ""
	for i, name := range names {
		f, ok := t.FieldByName(name)
		if !ok {
			return path
		}
		tag, tagged := f.Tag.Lookup("flag")
		if i < len(names)-1 {
			if tagged && tag != "-" {
				prefix += tag + "-"
			}
			t = f.Type
			continue
		}
		if !tagged || tag == "-" {
			return path
		}
		if open, end := strings.Index(tag, "{"), strings.Index(tag, "}"); open >= 0 && end > open {
			if key == "" {
				return yamlKey(f)
			}
			tag = tag[:open] + key + tag[end+1:]
		}
		return prefix + tag
	}
	return path
}

// components are the system score's components, the keys of the weights.
var components = func() []string {
	var out []string
	for _, c := range status.Components() {
		out = append(out, string(c))
	}
	return out
}()

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
