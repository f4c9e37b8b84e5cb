package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Action is what the command line asked for besides running.
type Action int

const (
	ActionRun Action = iota
	ActionPrintConfig
	ActionVersion
	ActionHelp
)

// EnvPrefix prefixes every flag's environment variable: --min-peers is
// MESHHEALTH_MIN_PEERS.
const EnvPrefix = "MESHHEALTH_"

// Parse builds the configuration from, in rising precedence, the defaults,
// the YAML file (--config or MESHHEALTH_CONFIG), MESHHEALTH_* variables and
// the flags. It does not validate; call Validate.
func Parse(args []string, getenv func(string) string, usage io.Writer) (Config, Action, error) {
	cfg := Default()
	if path := configPath(args, getenv); path != "" {
		if err := cfg.LoadFile(path); err != nil {
			return cfg, ActionRun, err
		}
	}
	fs := flag.NewFlagSet("meshhealth", flag.ContinueOnError)
	// The flag package prints every flag's usage around a parse error;
	// an operator wants the one line that says what is wrong, so errors
	// are returned silently and the usage is printed only for --help.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var configFile string
	var printConfig, version bool
	fs.StringVar(&configFile, "config", "", "YAML configuration file (flags and MESHHEALTH_* variables override it)")
	fs.BoolVar(&printConfig, "print-config", false, "print the effective configuration as YAML and exit")
	fs.BoolVar(&version, "version", false, "print the version and exit")
	lists := bindFlags(fs, &cfg)

	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "config" {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", envName(f.Name), v, err))
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return cfg, ActionRun, err
	}
	// A list flag given on the command line replaces the variable's list
	// rather than adding to it.
	for _, l := range lists {
		l.set = false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "Usage of meshhealth:")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return cfg, ActionHelp, nil
		}
		return cfg, ActionRun, fmt.Errorf("%w (see --help)", err)
	}
	if fs.NArg() > 0 {
		return cfg, ActionRun, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	switch {
	case version:
		return cfg, ActionVersion, nil
	case printConfig:
		return cfg, ActionPrintConfig, nil
	}
	return cfg, ActionRun, nil
}

func envName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// configPath finds --config before the flags are parsed, because the file's
// values must sit under the flags, not over them.
func configPath(args []string, getenv func(string) string) string {
	path := getenv(envName("config"))
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == "config" && i+1 < len(args) {
			path = args[i+1]
		} else if v, ok := strings.CutPrefix(a, "config="); ok {
			path = v
		}
	}
	return path
}

func bindFlags(fs *flag.FlagSet, c *Config) []*stringList {
	listen := &stringList{list: &c.Listen}
	bootstrap := &stringList{list: &c.Bootstrap}
	fs.Var(listen, "listen", "libp2p listen multiaddr (repeatable or comma-separated)")
	fs.Var(bootstrap, "bootstrap", "bootstrap peer multiaddr with /p2p/<id> (repeatable or comma-separated); never a public peer")
	fs.StringVar(&c.HTTP, "http", c.HTTP, "HTTP address for /health, /metrics and /debug/fault")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the identity key and the restart-loop guard")
	fs.BoolVar(&c.MDNS, "mdns", c.MDNS, "discover peers on the LAN by mDNS")
	fs.IntVar(&c.MinPeers, "min-peers", c.MinPeers, "connected peers below which p2p-connectivity fails (0 to run alone)")
	fs.IntVar(&c.ConnLow, "conn-low", c.ConnLow, "connection manager low watermark")
	fs.IntVar(&c.ConnHigh, "conn-high", c.ConnHigh, "connection manager high watermark")
	fs.DurationVar(&c.StartupGrace, "startup-grace", c.StartupGrace, "time before missing results count as failures and a critical failure may stop the node")
	fs.BoolVar(&c.ShutdownOnCritical, "shutdown-on-critical", c.ShutdownOnCritical, "exit with code 3 when a critical check is confirmed failing")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "bound on the whole graceful shutdown")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.BoolVar(&c.EnableFaultInjection, "enable-fault-injection", c.EnableFaultInjection, "serve POST /debug/fault (only on a loopback or testnet HTTP address)")
	fs.StringVar(&c.FaultToken, "fault-token", c.FaultToken, "bearer token for /debug/fault, at least 16 characters (default: random at each start); prefer MESHHEALTH_FAULT_TOKEN, flags show in ps. Written to <data-dir>/fault-token")
	fs.IntVar(&c.MaxHTTPConnections, "max-http-connections", c.MaxHTTPConnections, "open HTTP connections beyond which requests get 503 with Retry-After")
	fs.IntVar(&c.MaxEventStreams, "max-event-streams", c.MaxEventStreams, "concurrent event streams (/health/events and /health/mesh/events together) beyond which a new one gets 503 with Retry-After")

	fs.IntVar(&c.FailureThreshold, "failure-threshold", c.FailureThreshold, "consecutive failures before a check is failing")
	fs.IntVar(&c.SuccessThreshold, "success-threshold", c.SuccessThreshold, "consecutive successes before a failing check passes again")
	fs.DurationVar(&c.RetryInterval, "retry-interval", c.RetryInterval, "re-run delay after a failed check")
	fs.DurationVar(&c.SummaryInterval, "summary-interval", c.SummaryInterval, "how often the node publishes its summary to its peers")
	fs.DurationVar(&c.ScoreHorizon, "score-horizon", c.ScoreHorizon, "results older than this no longer count toward a check's score (0: only the 20-result window)")
	fs.Float64Var(&c.HealthyThreshold, "healthy-threshold", c.HealthyThreshold, "system score below which the node is degraded")
	fs.Float64Var(&c.DegradedThreshold, "degraded-threshold", c.DegradedThreshold, "system score below which the node is unhealthy")
	for _, comp := range components {
		fs.Var(weightValue{c.Weights, comp}, "weight-"+comp, "weight of the "+comp+" component in the system score")
	}

	probes := []struct {
		name string
		p    *Probe
	}{
		{"pubsub", &c.Probes.PubSub}, {"dht", &c.Probes.DHT}, {"election", &c.Probes.Election},
		{"connectivity", &c.Probes.Connectivity}, {"resources", &c.Probes.Resources},
	}
	for _, p := range probes {
		fs.BoolVar(&p.p.Enabled, "probe-"+p.name+"-enabled", p.p.Enabled, "run the "+p.name+" check")
		fs.DurationVar(&p.p.Interval, "probe-"+p.name+"-interval", p.p.Interval, p.name+" check interval")
		fs.DurationVar(&p.p.Timeout, "probe-"+p.name+"-timeout", p.p.Timeout, p.name+" check timeout (the adaptive timeout's ceiling for network probes)")
	}

	e := &c.Election
	fs.DurationVar(&e.HeartbeatInterval, "election-heartbeat-interval", e.HeartbeatInterval, "leader heartbeat period")
	fs.DurationVar(&e.HeartbeatTimeout, "election-heartbeat-timeout", e.HeartbeatTimeout, "silence after which a follower stands (randomised up to +50%)")
	fs.DurationVar(&e.BootstrapWait, "election-bootstrap-wait", e.BootstrapWait, "wait for a leader at start before standing")
	fs.DurationVar(&e.ElectionWindow, "election-window", e.ElectionWindow, "time a voter collects candidates before voting")
	fs.DurationVar(&e.MemberTTL, "election-member-ttl", e.MemberTTL, "a member unheard this long no longer counts toward the majority")
	fs.IntVar(&e.MaxLeaderChanges, "election-max-leader-changes", e.MaxLeaderChanges, "leadership changes in 10 min above which election-stability fails")

	r := &c.Resources
	fs.Uint64Var(&r.MaxHeapBytes, "max-heap-bytes", r.MaxHeapBytes, "heap above which the resources check fails")
	fs.Uint64Var(&r.MaxRSSBytes, "max-rss-bytes", r.MaxRSSBytes, "RSS above which the resources check fails")
	fs.IntVar(&r.MaxGoroutines, "max-goroutines", r.MaxGoroutines, "goroutines above which the resources check fails")
	fs.Uint64Var(&r.MinFreeDiskBytes, "min-free-disk-bytes", r.MinFreeDiskBytes, "free space in the data dir below which the resources check fails")
	return []*stringList{listen, bootstrap}
}

type weightValue struct {
	m    map[string]float64
	comp string
}

func (w weightValue) String() string {
	if w.m == nil {
		return ""
	}
	return strconv.FormatFloat(w.m[w.comp], 'g', -1, 64)
}

func (w weightValue) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return errors.New("not a number")
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return errors.New("not a finite number")
	}
	w.m[w.comp] = v
	return nil
}
