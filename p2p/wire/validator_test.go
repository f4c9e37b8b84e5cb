package wire

import (
	"context"
	"testing"
	"time"

	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/meshhealth/meshhealth/internal/testkit"
)

// fakeClock is a settable clock for the validator's time rules.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func pubsubMsg(topic string, author peer.ID, data []byte) *pubsub.Message {
	return &pubsub.Message{Message: &pb.Message{From: []byte(author), Data: data, Topic: &topic}}
}

func stamped[M Message](m M, origin peer.ID, at time.Time) M {
	m.Head().Stamp(origin, at)
	return m
}

func TestValidatorRejectsAndCountsEachReason(t *testing.T) {
	self, alice, mallory := testPeer(t, 1), testPeer(t, 2), testPeer(t, 3)
	now := exampleTime
	hb := func(origin peer.ID, at time.Time, seq uint64) []byte {
		return mustEncode(t, stamped(&Heartbeat{Term: 3, Seq: seq, Score: 0.5}, origin, at))
	}
	cases := []struct {
		name   string
		author peer.ID
		data   []byte
		reason string // "" accepts
	}{
		{"valid", alice, hb(alice, now, 1), ""},
		{"oversized", alice, make([]byte, MaxSize+1), ReasonOversized},
		{"malformed", alice, []byte(`{"v":1,"type":"heartbeat"`), ReasonMalformed},
		{"bad version", alice, []byte(`{"v":9,"type":"heartbeat"}`), ReasonBadVersion},
		{"unknown type", alice, []byte(`{"v":1,"type":"crown"}`), ReasonUnknownType},
		{"origin is someone else", mallory, hb(alice, now, 2), ReasonWrongOrigin},
		{"from 31s ago", alice, hb(alice, now.Add(-31*time.Second), 3), ReasonStale},
		{"31s in the future", alice, hb(alice, now.Add(31*time.Second), 4), ReasonStale},
		{"29s ago", alice, hb(alice, now.Add(-29*time.Second), 5), ""},
		{"replayed", alice, hb(alice, now, 1), ReasonReplayed},
		{"same seq, other author", mallory, hb(mallory, now, 1), ""},
		{"refused by the topic's hook", alice, hb(alice, now, 666), "cursed_seq"},
	}

	reg := prometheus.NewRegistry()
	metrics := NewMetrics(reg)
	clock := &fakeClock{now: now}
	validate := NewValidator(TopicElection, ValidatorOptions{
		Self: self, Metrics: metrics, Now: clock.Now,
		Check: func(from peer.ID, m Message) string {
			if hb, ok := m.(*Heartbeat); ok && hb.Seq == 666 {
				return "cursed_seq"
			}
			return ""
		},
	})
	want := map[string]float64{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := pubsubMsg(TopicElection, c.author, c.data)
			got := validate(context.Background(), alice, msg)
			if c.reason == "" {
				if got != pubsub.ValidationAccept {
					t.Fatalf("rejected a valid message")
				}
				if _, ok := msg.ValidatorData.(*Heartbeat); !ok {
					t.Fatalf("accepted message carries %T, want the decoded *Heartbeat", msg.ValidatorData)
				}
				return
			}
			if got != pubsub.ValidationReject {
				t.Fatalf("result %v, want reject (%s)", got, c.reason)
			}
			want[c.reason]++
			if n := testutil.ToFloat64(metrics.Collector().WithLabelValues(TopicElection, c.reason)); n != want[c.reason] {
				t.Fatalf("rejected_total{reason=%q} = %v, want %v", c.reason, n, want[c.reason])
			}
		})
	}
}

func TestValidatorAcceptsOwnPublishesButShapeChecksThem(t *testing.T) {
	self := testPeer(t, 1)
	clock := &fakeClock{now: exampleTime}
	validate := NewValidator(TopicElection, ValidatorOptions{Self: self, Now: clock.Now})
	data := mustEncode(t, stamped(&Resign{Term: 2}, self, exampleTime.Add(-time.Hour)))
	// Published twice locally (a retry): both go out, even with an old clock.
	for range 2 {
		if got := validate(context.Background(), self, pubsubMsg(TopicElection, self, data)); got != pubsub.ValidationAccept {
			t.Fatalf("own publish rejected: %v", got)
		}
	}
	bad := []byte(`{"v":1,"type":"resign","term":0}`)
	if got := validate(context.Background(), self, pubsubMsg(TopicElection, self, bad)); got != pubsub.ValidationReject {
		t.Fatal("own malformed publish accepted")
	}
	// Our own message relayed back by a peer is held to every rule.
	if got := validate(context.Background(), testPeer(t, 2), pubsubMsg(TopicElection, self, data)); got != pubsub.ValidationReject {
		t.Fatal("a stale copy of our own message from a peer was accepted")
	}
}

func TestValidatorForgetsOnlyWhatWouldBeStale(t *testing.T) {
	alice := testPeer(t, 2)
	clock := &fakeClock{now: exampleTime}
	validate := NewValidator(TopicProbe, ValidatorOptions{Self: testPeer(t, 1), Now: clock.Now})
	data := mustEncode(t, stamped(&Probe{Nonce: "0011223344556677"}, alice, exampleTime))
	for _, step := range []struct {
		after time.Duration
		want  pubsub.ValidationResult
	}{
		{0, pubsub.ValidationAccept},
		{10 * time.Second, pubsub.ValidationReject}, // replayed
		{30 * time.Second, pubsub.ValidationReject}, // replayed, at the edge of the window
		{31 * time.Second, pubsub.ValidationReject}, // stale
	} {
		clock.now = exampleTime.Add(step.after)
		if got := validate(context.Background(), alice, pubsubMsg(TopicProbe, alice, data)); got != step.want {
			t.Fatalf("at +%v: %v, want %v", step.after, got, step.want)
		}
	}
}

func TestValidatorOnUnknownTopicRejectsEverything(t *testing.T) {
	alice := testPeer(t, 2)
	validate := NewValidator("other/v1", ValidatorOptions{Now: (&fakeClock{now: exampleTime}).Now})
	data := mustEncode(t, stamped(&Resign{Term: 2}, alice, exampleTime))
	if got := validate(context.Background(), alice, pubsubMsg("other/v1", alice, data)); got != pubsub.ValidationReject {
		t.Fatal("a validator for an unknown topic accepted a message")
	}
}

func TestNewMetricsTwiceOnOneRegistryShares(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, b := NewMetrics(reg), NewMetrics(reg)
	a.Rejected(TopicProbe, ReasonStale)
	b.Rejected(TopicProbe, ReasonStale)
	if n := testutil.ToFloat64(a.Collector().WithLabelValues(TopicProbe, ReasonStale)); n != 2 {
		t.Fatalf("count %v, want 2 from both handles", n)
	}
	var none *Metrics
	none.Rejected(TopicProbe, ReasonStale) // must not panic
}

func TestMetricsPassLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	NewMetrics(reg).Rejected(TopicProbe, ReasonStale)
	testkit.Lint(t, reg)
}
