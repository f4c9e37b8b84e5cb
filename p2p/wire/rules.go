package wire

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshhealth/meshhealth/pkg/status"
)

// Bounds of the shape checks, shared with docs/PROTOCOL.md.
const (
	MinNonceLen     = 8
	MaxNonceLen     = 128
	MaxResponders   = 3
	MaxComponents   = 16
	MaxComponentLen = 32
	MaxVersionLen   = 64
	MaxReasonLen    = 256
	MaxPeers        = 1 << 20
)

func (h *Header) fill(f fields) error {
	return errors.Join(f.peerID("origin", &h.Origin, false), f.i64("ts", &h.TS))
}

func (h *Header) check() error {
	switch {
	case h.Origin == "":
		return errors.New("origin is empty")
	case h.TS <= 0:
		return fmt.Errorf("ts %d is not a positive Unix time in nanoseconds", h.TS)
	}
	return nil
}

func checkTerm(name string, v uint64, min uint64) error {
	if v < min || v > MaxInt {
		return fmt.Errorf("%s %d outside [%d, 2^53-1]", name, v, min)
	}
	return nil
}

func checkScore(name string, v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return fmt.Errorf("%s %v outside [0, 1]", name, v)
	}
	return nil
}

// checkNonce accepts hex and both base64 alphabets, padded or not: what any
// language's standard library produces from random bytes.
func checkNonce(s string) error {
	if len(s) < MinNonceLen || len(s) > MaxNonceLen {
		return fmt.Errorf("nonce length %d outside [%d, %d]", len(s), MinNonceLen, MaxNonceLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			c == '+' || c == '/' || c == '=' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("nonce has byte %q outside hex/base64", c)
		}
	}
	return nil
}

func checkPeer(name string, id peer.ID) error {
	if id == "" {
		return fmt.Errorf("%s is empty", name)
	}
	return nil
}

func checkText(name, s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%s longer than %d bytes", name, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not UTF-8", name)
	}
	return nil
}

func checkComponentName(s string) error {
	if s == "" || len(s) > MaxComponentLen {
		return fmt.Errorf("component name %q: length outside [1, %d]", s, MaxComponentLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("component name %q: byte %q outside [a-z0-9._-]", s, c)
		}
	}
	return nil
}

// Probe.

func (m *Probe) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.str("nonce", &m.Nonce), f.peerIDs("responders", &m.Responders))
}

func (m *Probe) check() error {
	errs := []error{m.Header.check(), checkNonce(m.Nonce)}
	if len(m.Responders) > MaxResponders {
		errs = append(errs, fmt.Errorf("%d responders, at most %d", len(m.Responders), MaxResponders))
	}
	seen := make(map[peer.ID]bool, len(m.Responders))
	for _, r := range m.Responders {
		if r == "" {
			errs = append(errs, errors.New("empty responder"))
		}
		if seen[r] {
			errs = append(errs, fmt.Errorf("responder %s listed twice", r))
		}
		seen[r] = true
	}
	return errors.Join(errs...)
}

func (m *Probe) replayKey() string { return m.Nonce }

// Ack.

func (m *Ack) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.str("nonce", &m.Nonce), f.peerID("probe_from", &m.ProbeFrom, false))
}

func (m *Ack) check() error {
	return errors.Join(m.Header.check(), checkNonce(m.Nonce), checkPeer("probe_from", m.ProbeFrom))
}

// A responder acks a given probe once.
func (m *Ack) replayKey() string { return m.Nonce }

// Heartbeat.

func (m *Heartbeat) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.u64("term", &m.Term), f.u64("seq", &m.Seq), f.num("score", &m.Score))
}

func (m *Heartbeat) check() error {
	return errors.Join(m.Header.check(), checkTerm("term", m.Term, 1), checkTerm("seq", m.Seq, 1),
		checkScore("score", m.Score))
}

func (m *Heartbeat) replayKey() string { return fmt.Sprintf("%d/%d", m.Term, m.Seq) }

// Candidate.

func (m *Candidate) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.u64("term", &m.Term), f.num("score", &m.Score),
		f.u64("uptime_s", &m.UptimeS))
}

func (m *Candidate) check() error {
	return errors.Join(m.Header.check(), checkTerm("term", m.Term, 1), checkScore("score", m.Score),
		checkTerm("uptime_s", m.UptimeS, 0))
}

// A node stands at most once per term.
func (m *Candidate) replayKey() string { return fmt.Sprint(m.Term) }

// Vote.

func (m *Vote) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.u64("term", &m.Term), f.peerID("candidate", &m.Candidate, false))
}

func (m *Vote) check() error {
	return errors.Join(m.Header.check(), checkTerm("term", m.Term, 1), checkPeer("candidate", m.Candidate))
}

// A vote is re-sent as a standing endorsement with a fresh ts, so ts is
// part of its identity; an exact copy is still a replay.
func (m *Vote) replayKey() string { return fmt.Sprintf("%d/%d", m.Term, m.TS) }

// Resign.

func (m *Resign) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.u64("term", &m.Term))
}

func (m *Resign) check() error {
	return errors.Join(m.Header.check(), checkTerm("term", m.Term, 1))
}

func (m *Resign) replayKey() string { return fmt.Sprint(m.Term) }

// Summary.

func (m *Summary) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.u64("seq", &m.Seq), f.str("status", &m.Status),
		f.num("score", &m.Score), f.into("components", &m.Components), f.integer("peers", &m.Peers),
		f.peerID("leader", &m.Leader, true), f.u64("term", &m.Term), f.str("version", &m.Version))
}

func (m *Summary) check() error {
	errs := []error{m.Header.check(), checkTerm("seq", m.Seq, 1), checkScore("score", m.Score),
		checkTerm("term", m.Term, 0), checkText("version", m.Version, MaxVersionLen)}
	// A summary carries one of the health manager's statuses.
	if !status.Status(m.Status).Valid() {
		errs = append(errs, fmt.Errorf("unknown status %q", m.Status))
	}
	if len(m.Components) > MaxComponents {
		errs = append(errs, fmt.Errorf("%d components, at most %d", len(m.Components), MaxComponents))
	}
	for name, score := range m.Components {
		errs = append(errs, checkComponentName(name), checkScore("component "+name, score))
	}
	if m.Peers < 0 || m.Peers > MaxPeers {
		errs = append(errs, fmt.Errorf("peers %d outside [0, %d]", m.Peers, MaxPeers))
	}
	if (m.Leader == "") != (m.Term == 0) {
		errs = append(errs, fmt.Errorf("leader %q and term %d: both set or both empty", m.Leader, m.Term))
	}
	return errors.Join(errs...)
}

// Seq must grow across restarts too: authors start it from the clock.
func (m *Summary) replayKey() string { return fmt.Sprint(m.Seq) }

// Goodbye.

func (m *Goodbye) fill(f fields) error {
	return errors.Join(m.Header.fill(f), f.str("reason", &m.Reason))
}

func (m *Goodbye) check() error {
	return errors.Join(m.Header.check(), checkText("reason", m.Reason, MaxReasonLen))
}

func (m *Goodbye) replayKey() string { return fmt.Sprint(m.TS) }
