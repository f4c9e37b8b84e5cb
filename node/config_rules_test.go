package node

import (
	"flag"
	"io"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// packageRules holds one violation of (nearly) every rule the packages
// state about their sections: the field it breaks (a Config path) and the
// setting the line must name.
var packageRules = []struct {
	field, want string
	change      func(*Config)
}{
	{"P2P.Listen", "listen", func(c *Config) { c.P2P.Listen = nil }},
	{"P2P.Listen", "listen", func(c *Config) { c.P2P.Listen = []string{"/ip4/0.0.0.0/udp/1"} }},
	{"P2P.DataDir", "data-dir", func(c *Config) { c.P2P.DataDir = "" }},
	{"P2P.Bootstrap", "bootstrap", func(c *Config) { c.P2P.Bootstrap = []string{"/ip4/10.0.0.1/tcp/4001"} }},
	{"P2P.MDNSService", "P2P.MDNSService", func(c *Config) { c.P2P.MDNSService = "" }},
	{"P2P.ConnLow", "conn-low", func(c *Config) { c.P2P.ConnLow = 0 }},
	{"P2P.ConnHigh", "conn-high", func(c *Config) { c.P2P.ConnHigh = c.P2P.ConnLow }},
	{"P2P.BootstrapInterval", "P2P.BootstrapInterval", func(c *Config) { c.P2P.BootstrapInterval = 0 }},
	{"Health.RetryInterval", "retry-interval", func(c *Config) { c.Health.RetryInterval = 0 }},
	{"Health.StartupGrace", "startup-grace", func(c *Config) { c.Health.StartupGrace = -time.Second }},
	{"Health.ScoreHorizon", "score-horizon", func(c *Config) { c.Health.ScoreHorizon = -time.Second }},
	{"Health.HealthyThreshold", "healthy-threshold", func(c *Config) { c.Health.HealthyThreshold = 1.5 }},
	{"Health.HealthyThreshold", "healthy-threshold", func(c *Config) { c.Health.HealthyThreshold = 1 }},
	{"Health.DegradedThreshold", "degraded-threshold", func(c *Config) { c.Health.DegradedThreshold = math.NaN() }},
	{"Health.DegradedThreshold", "degraded-threshold", func(c *Config) { c.Health.DegradedThreshold = 0.99 }},
	{"Health.Weights", "weight-pubsub", func(c *Config) { c.Health.Weights["pubsub"] = math.Inf(1) }},
	{"Health.Weights", "weight-dht", func(c *Config) { c.Health.Weights["dht"] = -1 }},
	{"Health.Weights", "weights", func(c *Config) { c.Health.Weights["pubsubb"] = 0.1 }},
	{"Health.Weights", "weights", func(c *Config) {
		for k := range c.Health.Weights {
			c.Health.Weights[k] = 0
		}
	}},
	{"Health.MaxEventStreams", "max-event-streams", func(c *Config) { c.Health.MaxEventStreams = 0 }},
	{"Health.Window", "Health.Window", func(c *Config) { c.Health.Window = 0 }},
	{"Debounce.FailureThreshold", "failure-threshold", func(c *Config) { c.Debounce.FailureThreshold = 0 }},
	{"Debounce.SuccessThreshold", "success-threshold", func(c *Config) { c.Debounce.SuccessThreshold = 0 }},
	{"Shutdown.Timeout", "shutdown-timeout", func(c *Config) { c.Shutdown.Timeout = 0 }},
	{"Summary.Interval", "summary-interval", func(c *Config) { c.Summary.Interval = 0 }},
	{"Probes.PubSub.Timeout", "probe-pubsub-timeout", func(c *Config) { c.Probes.PubSub.Timeout = time.Minute }},
	{"Probes.DHT.Interval", "probe-dht-interval", func(c *Config) { c.Probes.DHT.Interval = 0 }},
	{"Probes.Resources.Timeout", "probe-resources-timeout", func(c *Config) { c.Probes.Resources.Timeout = 0 }},
	{"Election.HeartbeatInterval", "election-heartbeat-interval", func(c *Config) { c.Election.HeartbeatInterval = 0 }},
	{"Election.HeartbeatTimeout", "election-heartbeat-timeout", func(c *Config) { c.Election.HeartbeatTimeout = 2 * time.Second }},
	{"Election.BootstrapWait", "election-bootstrap-wait", func(c *Config) { c.Election.BootstrapWait = -time.Second }},
	{"Election.ElectionWindow", "election-window", func(c *Config) { c.Election.ElectionWindow = 0 }},
	{"Election.MemberTTL", "election-member-ttl", func(c *Config) { c.Election.MemberTTL = time.Second }},
	{"Election.MaxLeaderChanges", "election-max-leader-changes", func(c *Config) { c.Election.MaxLeaderChanges = 0 }},
	{"Resources.MaxHeapBytes", "max-heap-bytes", func(c *Config) { c.Resources.MaxHeapBytes = 0 }},
	{"Resources.MaxGoroutines", "max-goroutines", func(c *Config) { c.Resources.MaxGoroutines = 0 }},
}

// A rule stated by a package and again by the node would give its
// violation two lines: each package rule gives exactly one, naming the
// setting by its flag.
func TestEachPackageRuleIsReportedOnceUnderItsFlag(t *testing.T) {
	for _, r := range packageRules {
		c := Default()
		r.change(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: violation accepted", r.field)
			continue
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != 1 || !strings.HasPrefix(lines[0], r.want+": ") {
			t.Errorf("%s: want one line naming %s, got:\n%s", r.field, r.want, err)
		}
	}
}

// The node's own rules read its own settings, or span sections: a rule
// all of whose fields lie in one package's section is that package's to
// state. And a rule must read only the fields it declares: breaking any
// package rule leaves every node rule's verdict as it was.
func TestNodeRulesAreTheNodesOwn(t *testing.T) {
	sectionOf := func(path string) (string, bool) {
		name, _, nested := strings.Cut(path, ".")
		f, ok := reflect.TypeFor[Config]().FieldByName(name)
		if !ok {
			t.Errorf("rule field %s is not in Config", path)
		}
		if !nested && f.Type.Kind() == reflect.Struct {
			t.Errorf("rule field %s is a whole section", path)
		}
		typ := reflect.TypeFor[Config]()
		for _, name := range strings.Split(path, ".") {
			f, ok := typ.FieldByName(name)
			if !ok {
				t.Errorf("rule field %s: no %s in %s", path, name, typ)
				break
			}
			typ = f.Type
		}
		return name, nested
	}
	for i, r := range nodeRules {
		sections := map[string]bool{}
		own := false
		for _, f := range r.fields {
			if s, nested := sectionOf(f); nested {
				sections[s] = true
			} else {
				own = true
			}
		}
		if !own && len(sections) < 2 {
			t.Errorf("node rule %d (%v) reads only the %v section: state it in that package's Validate", i, r.fields, sections)
		}
		base := r.check(Default())
		for _, pr := range packageRules {
			if slices.Contains(r.fields, pr.field) {
				continue
			}
			c := Default()
			pr.change(&c)
			if got := r.check(c); !slices.Equal(got, base) {
				t.Errorf("node rule %d (%v) reacts to %s, which it does not declare: %q", i, r.fields, pr.field, got)
			}
		}
	}
}

// Every section of Config is judged by its package.
func TestEverySectionIsJudged(t *testing.T) {
	judged := map[string]bool{"Debounce": true} // inside Health: healthSection
	for _, s := range Default().sections() {
		judged[s.path] = true
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		if f := typ.Field(i); f.Type.Kind() == reflect.Struct && !judged[f.Name] {
			t.Errorf("section %s is judged by nobody: add it to sections", f.Name)
		}
	}
}

// settingName and bindFlags walk the same tags: every setting's name is a
// flag that exists.
func TestSettingNamesAreTheFlags(t *testing.T) {
	cfg := Default()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindFlags(fs, &cfg)
	n := 0
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Tag.Get("flag") == "-" {
				continue
			}
			p := strings.TrimPrefix(path+"."+f.Name, ".")
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, p)
				continue
			}
			name := settingName(p, "dht")
			if fs.Lookup(name) == nil {
				t.Errorf("%s is named %q, which is no flag", p, name)
			}
			n++
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if n < 40 {
		t.Errorf("only %d settings found: has the walk stopped following the sections?", n)
	}
	if got := settingName("Health.Weights", ""); got != "weights" {
		t.Errorf("weights without a component = %q, want the YAML key", got)
	}
	if got := settingName("Health.Debounce.FailureThreshold", ""); got != "failure-threshold" {
		t.Errorf("the health section's debounce = %q, want the node's flag", got)
	}
}
