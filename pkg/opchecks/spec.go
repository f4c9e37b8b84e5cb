package opchecks

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshhealth/meshhealth/p2p"
	"github.com/meshhealth/meshhealth/pkg/health"
)

// The kinds of check.
const (
	KindHTTP   = "http"
	KindTCP    = "tcp"
	KindExec   = "exec"
	KindPeer   = "peer"
	KindDHTGet = "dht-get"
)

var kinds = []string{KindHTTP, KindTCP, KindExec, KindPeer, KindDHTGet}

// Spec is one check as the configuration file declares it. The common
// keys are every kind's; the others belong to one kind and are refused on
// another (a tcp check with a url is a mistake, not a url to ignore).
type Spec struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
	// Component is what the check's score counts toward: one of the
	// built-in five or a name of the operator's. Default: p2p for a peer
	// check, dht for a dht-get check, the check's own name otherwise.
	Component   string `yaml:"component,omitempty"`
	Description string `yaml:"description,omitempty"`
	// Interval and Timeout default to the health manager's (10 s, 2 s);
	// the timeout must be below the interval.
	Interval time.Duration `yaml:"interval,omitempty"`
	Timeout  time.Duration `yaml:"timeout,omitempty"`
	// Critical hands a confirmed failure to the shutdown manager, as a
	// built-in critical probe does.
	Critical bool `yaml:"critical,omitempty"`
	// Thresholds default to the node's failure_threshold and
	// success_threshold.
	FailureThreshold int `yaml:"failure_threshold,omitempty"`
	SuccessThreshold int `yaml:"success_threshold,omitempty"`

	// http: a GET (or HEAD) of URL passes on a status in Status ("200",
	// "200-299"; default 200-399) and, when BodyContains is set, a body
	// (its first 64 KiB) containing it. TLS certificates are verified
	// unless TLSSkipVerify.
	URL           string `yaml:"url,omitempty"`
	Method        string `yaml:"method,omitempty"`
	Status        string `yaml:"status,omitempty"`
	BodyContains  string `yaml:"body_contains,omitempty"`
	TLSSkipVerify bool   `yaml:"tls_skip_verify,omitempty"`

	// tcp: a connection to Address (host:port) opens.
	Address string `yaml:"address,omitempty"`

	// exec: Command[0] (a path, or a name looked up in PATH) run with the
	// rest as its arguments, no shell. Exit 0 passes, 1 passes degraded
	// (a Nagios warning), anything else fails.
	Command []string `yaml:"command,omitempty"`

	// peer: the peer (an ID, or a multiaddr ending in /p2p/<id> to say
	// where to find it) answers a libp2p ping.
	Peer string `yaml:"peer,omitempty"`

	// dht-get: the key (/meshhealth/<peer-id>/<name>) resolves to a valid
	// record.
	Key string `yaml:"key,omitempty"`
}

// Specs is the `checks:` section.
type Specs []Spec

// Validate reports every problem of every check, one error each,
// "<name>: <problem>" (a check without a name is "#<position>"). reserved
// are the names the node's own checks use.
func (ss Specs) Validate(reserved ...string) error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range ss {
		id := s.Name
		if id == "" {
			id = "#" + strconv.Itoa(i+1)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", id, fmt.Sprintf(format, args...)))
		}
		switch {
		case s.Name == "":
			bad("name must be set")
		case slices.Contains(reserved, s.Name):
			bad("name is reserved for the node's own check")
		case seen[s.Name]:
			bad("name is used by an earlier check")
		}
		seen[s.Name] = true
		for _, p := range s.problems() {
			bad("%s", p)
		}
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with s apart from its name's uniqueness.
func (s Spec) problems() []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if s.Name != "" && !health.ValidName(s.Name) {
		bad("name %q must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", s.Name)
	}
	if s.Component != "" && !health.ValidName(s.Component) {
		bad("component %q must be 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit", s.Component)
	}
	interval, timeout := s.schedule()
	switch {
	case s.Interval < 0:
		bad("interval %v must be > 0", s.Interval)
	case s.Timeout < 0:
		bad("timeout %v must be > 0", s.Timeout)
	case timeout >= interval:
		bad("timeout %v must be below the interval %v", timeout, interval)
	}
	if s.FailureThreshold < 0 {
		bad("failure_threshold %d must be >= 1", s.FailureThreshold)
	}
	if s.SuccessThreshold < 0 {
		bad("success_threshold %d must be >= 1", s.SuccessThreshold)
	}
	if !slices.Contains(kinds, s.Kind) {
		if s.Kind == "" {
			bad("kind must be set (one of %s)", strings.Join(kinds, ", "))
		} else {
			bad("unknown kind %q (one of %s)", s.Kind, strings.Join(kinds, ", "))
		}
		return out
	}
	// Keys of another kind.
	foreign := map[string]bool{
		"url":             s.URL != "",
		"method":          s.Method != "",
		"status":          s.Status != "",
		"body_contains":   s.BodyContains != "",
		"tls_skip_verify": s.TLSSkipVerify,
		"address":         s.Address != "",
		"command":         s.Command != nil,
		"peer":            s.Peer != "",
		"key":             s.Key != "",
	}
	own := map[string][]string{
		KindHTTP:   {"url", "method", "status", "body_contains", "tls_skip_verify"},
		KindTCP:    {"address"},
		KindExec:   {"command"},
		KindPeer:   {"peer"},
		KindDHTGet: {"key"},
	}[s.Kind]
	for _, k := range slices.Sorted(maps.Keys(foreign)) {
		if foreign[k] && !slices.Contains(own, k) {
			bad("%s is not a key of a %s check", k, s.Kind)
		}
	}
	switch s.Kind {
	case KindHTTP:
		if s.URL == "" {
			bad("url must be set")
		} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url %q must be an absolute http:// or https:// URL", s.URL)
		}
		if m := s.Method; m != "" && m != "GET" && m != "HEAD" {
			bad("method %q must be GET or HEAD", m)
		}
		if _, _, err := parseStatus(s.Status); err != nil {
			bad("status %q: %v", s.Status, err)
		}
	case KindTCP:
		if s.Address == "" {
			bad("address must be set")
		} else if _, port, err := net.SplitHostPort(s.Address); err != nil || port == "" {
			bad("address %q must be host:port", s.Address)
		}
	case KindExec:
		if len(s.Command) == 0 || s.Command[0] == "" {
			bad("command must name a program (a list: the program and its arguments; no shell)")
		} else if _, err := exec.LookPath(s.Command[0]); err != nil {
			bad("command %q: %v", s.Command[0], unwrapExecErr(err))
		}
	case KindPeer:
		if s.Peer == "" {
			bad("peer must be set (a peer ID, or a multiaddr ending in /p2p/<id>)")
		} else if _, err := parsePeer(s.Peer); err != nil {
			bad("peer %q: %v", s.Peer, err)
		}
	case KindDHTGet:
		if s.Key == "" {
			bad("key must be set (/%s/<peer-id>/<name>)", p2p.Namespace)
		} else if _, _, err := p2p.ParseRecordKey(s.Key); err != nil {
			bad("%v", err)
		}
	}
	return out
}

// unwrapExecErr drops exec.Error's repetition of the name.
func unwrapExecErr(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

// schedule is the check's interval and timeout as the health manager
// will fill them.
func (s Spec) schedule() (interval, timeout time.Duration) {
	interval, timeout = s.Interval, s.Timeout
	if interval == 0 {
		interval = health.DefaultInterval
	}
	if timeout == 0 {
		timeout = min(health.DefaultTimeout, interval/2)
	}
	return interval, timeout
}

// component is the check's component, its default filled.
func (s Spec) component() string {
	switch {
	case s.Component != "":
		return s.Component
	case s.Kind == KindPeer:
		return health.ComponentP2P
	case s.Kind == KindDHTGet:
		return health.ComponentDHT
	default:
		return s.Name
	}
}

// Components are the components the checks name, each once, for the
// weights a configuration may give them.
func (ss Specs) Components() []string {
	var out []string
	for _, s := range ss {
		if c := s.component(); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// parseStatus reads "200" or "200-299"; "" is 200-399 (success and
// redirects, as a Kubernetes HTTP probe).
func parseStatus(s string) (lo, hi int, err error) {
	if s == "" {
		return 200, 399, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err != nil {
		return 0, 0, errors.New(`want a code or a range, like "200" or "200-299"`)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
			return 0, 0, errors.New(`want a code or a range, like "200" or "200-299"`)
		}
	}
	if lo < 100 || hi > 599 || lo > hi {
		return 0, 0, errors.New("codes must lie in 100-599, the lower first")
	}
	return lo, hi, nil
}

// parsePeer reads a peer ID or a multiaddr ending in /p2p/<id>.
func parsePeer(s string) (peer.AddrInfo, error) {
	if strings.HasPrefix(s, "/") {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return peer.AddrInfo{}, err
		}
		ai, err := peer.AddrInfoFromP2pAddr(addr)
		if err != nil {
			return peer.AddrInfo{}, err
		}
		return *ai, nil
	}
	id, err := peer.Decode(s)
	if err != nil {
		return peer.AddrInfo{}, err
	}
	return peer.AddrInfo{ID: id}, nil
}
