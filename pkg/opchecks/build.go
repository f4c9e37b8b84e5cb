package opchecks

import (
	"errors"
	"fmt"
	"strings"

	"github.com/meshhealth/meshhealth/pkg/health"
)

// Mesh is what the peer and dht-get checks reach the mesh through; a
// field may be nil when no check of its kind is declared.
type Mesh struct {
	Pinger Pinger
	Getter Getter
}

// Checks turns the specs, which Validate accepted, into health checks.
func (ss Specs) Checks(m Mesh) ([]health.Check, error) {
	out := make([]health.Check, 0, len(ss))
	for _, s := range ss {
		c, err := s.Check(m)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", s.Name, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// Check builds the health check s declares.
func (s Spec) Check(m Mesh) (health.Check, error) {
	if p := s.problems(); len(p) > 0 {
		return health.Check{}, errors.New(p[0])
	}
	interval, timeout := s.schedule()
	c := health.Check{
		Name:             s.Name,
		Component:        s.component(),
		Description:      s.Description,
		Interval:         interval,
		Timeout:          timeout,
		Critical:         s.Critical,
		FailureThreshold: s.FailureThreshold,
		SuccessThreshold: s.SuccessThreshold,
	}
	if c.Description == "" {
		c.Description = s.describe()
	}
	var err error
	switch s.Kind {
	case KindHTTP:
		c.Checker, err = httpChecker(s)
	case KindTCP:
		c.Checker = tcpChecker(s.Address)
	case KindExec:
		c.Checker, err = execChecker(s.Name, s.Command)
	case KindPeer:
		if m.Pinger == nil {
			return health.Check{}, errors.New("no libp2p ping to run a peer check with")
		}
		ai, _ := parsePeer(s.Peer)
		c.Checker = peerChecker(ai, m.Pinger)
	case KindDHTGet:
		if m.Getter == nil {
			return health.Check{}, errors.New("no DHT to run a dht-get check with")
		}
		c.Checker = dhtGetChecker(s.Key, m.Getter)
	}
	return c, err
}

// describe is the default description: what the check does.
func (s Spec) describe() string {
	switch s.Kind {
	case KindHTTP:
		m := s.Method
		if m == "" {
			m = "GET"
		}
		return m + " " + s.URL
	case KindTCP:
		return "connect to " + s.Address
	case KindExec:
		return "run " + strings.Join(s.Command, " ")
	case KindPeer:
		return "ping " + s.Peer
	default:
		return "DHT get " + s.Key
	}
}
